//! Channel configs: [`LarkWebhookConfig`] (`lark_webhook`) and [`LarkSheetConfig`]
//! (`lark_sheet`), parsed from a channel's opened JSON and validated field by field.

use std::fmt;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use storewatch_core::model::validate_lark_webhook_url;
use storewatch_core::{Error, ErrorKind, Result};

/// Lark's documented webhook body limit; storewatch designs to it.
pub const DEFAULT_MAX_BODY_BYTES: usize = 20 * 1024;

/// A custom-bot webhook channel.
///
/// ```
/// use storewatch_lark::LarkWebhookConfig;
///
/// let cfg = LarkWebhookConfig::from_json(r#"{
///     "webhook_url": "https://open.feishu.cn/open-apis/bot/v2/hook/0f9e5b6c-token",
///     "secret": "demo"
/// }"#)?;
/// assert!(!format!("{cfg:?}").contains("0f9e5b6c"));
/// # Ok::<(), storewatch_core::Error>(())
/// ```
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LarkWebhookConfig {
    /// `https://open.feishu.cn/open-apis/bot/v2/hook/<token>` (or `open.larksuite.com`):
    /// a bearer capability, kept secret.
    pub webhook_url: SecretString,
    /// The bot's signing secret, when signing is enabled.
    #[serde(default)]
    pub secret: Option<SecretString>,
    /// A keyword the bot requires; added to every message that lacks it.
    #[serde(default)]
    pub keyword: Option<String>,
    /// Send to this base URL instead of the webhook's host (tests, egress proxies);
    /// the path and token stay those of `webhook_url`.
    #[serde(default)]
    pub base_url: Option<String>,
    /// Largest body sent, in bytes (default 20 KiB); longer reports are split.
    #[serde(default = "default_max_body")]
    pub max_body_bytes: usize,
    /// HTTP timeout in seconds (default 10).
    #[serde(default = "default_timeout_secs")]
    pub timeout_secs: u64,
}

fn default_max_body() -> usize {
    DEFAULT_MAX_BODY_BYTES
}

fn default_timeout_secs() -> u64 {
    10
}

impl fmt::Debug for LarkWebhookConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LarkWebhookConfig")
            .field("webhook_url", &"<redacted>")
            .field("secret", &self.secret.as_ref().map(|_| "<redacted>"))
            .field("keyword", &self.keyword)
            .field("base_url", &self.base_url)
            .field("max_body_bytes", &self.max_body_bytes)
            .finish()
    }
}

fn parse_json<T: for<'de> Deserialize<'de>>(json: &str, what: &str) -> Result<T> {
    // serde's message names the field and position; it never quotes string values.
    serde_json::from_str(json)
        .map_err(|e| Error::new(ErrorKind::InvalidInput, format!("{what} config: {e}")))
}

impl LarkWebhookConfig {
    /// Parses and validates the channel's JSON config.
    pub fn from_json(json: &str) -> Result<Self> {
        let cfg: LarkWebhookConfig = parse_json(json, "lark_webhook")?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Checks every field: a Lark webhook URL, a non-empty secret, a sane body limit.
    pub fn validate(&self) -> Result<()> {
        validate_lark_webhook_url(self.webhook_url.expose_secret())?;
        if let Some(secret) = &self.secret
            && secret.expose_secret().trim().is_empty()
        {
            return Err(Error::invalid_field(
                "secret",
                "",
                "a non-empty signing secret, or no secret",
            ));
        }
        if let Some(base) = &self.base_url {
            validate_base_url("base_url", base)?;
        }
        if !(1024..=150 * 1024).contains(&self.max_body_bytes) {
            return Err(Error::invalid_field(
                "max_body_bytes",
                self.max_body_bytes,
                "between 1024 and 153600 bytes",
            ));
        }
        if self.timeout_secs == 0 {
            return Err(Error::invalid_field("timeout_secs", 0, "at least 1 second"));
        }
        Ok(())
    }

    /// The URL requests go to (the webhook, or its path on `base_url`).
    pub(crate) fn endpoint(&self) -> String {
        let url = self.webhook_url.expose_secret();
        match &self.base_url {
            Some(base) => {
                let path = url::Url::parse(url)
                    .map(|u| u.path().to_owned())
                    .unwrap_or_default();
                format!("{}{path}", base.trim_end_matches('/'))
            }
            None => url.to_owned(),
        }
    }

    /// The HTTP timeout.
    pub(crate) fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout_secs)
    }
}

/// A Lark spreadsheet tab that daily rows are appended to.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LarkSheetConfig {
    /// The self-built app's id (`cli_…`).
    pub app_id: String,
    /// The app's secret.
    pub app_secret: SecretString,
    /// The token in `https://<tenant>.feishu.cn/sheets/<spreadsheet_token>`.
    pub spreadsheet_token: String,
    /// The tab's id (not its title), e.g. `sxj5ws`.
    pub sheet_id: String,
    /// API base, default `https://open.feishu.cn` (Lark: `https://open.larksuite.com`).
    #[serde(default = "default_api_base")]
    pub base_url: String,
    /// HTTP timeout in seconds (default 30).
    #[serde(default = "default_sheet_timeout_secs")]
    pub timeout_secs: u64,
}

fn default_api_base() -> String {
    "https://open.feishu.cn".to_owned()
}

fn default_sheet_timeout_secs() -> u64 {
    30
}

impl fmt::Debug for LarkSheetConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LarkSheetConfig")
            .field("app_id", &self.app_id)
            .field("app_secret", &"<redacted>")
            .field("spreadsheet_token", &self.spreadsheet_token)
            .field("sheet_id", &self.sheet_id)
            .field("base_url", &self.base_url)
            .finish()
    }
}

impl LarkSheetConfig {
    /// Parses and validates the channel's JSON config.
    pub fn from_json(json: &str) -> Result<Self> {
        let cfg: LarkSheetConfig = parse_json(json, "lark_sheet")?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Checks every field's shape.
    pub fn validate(&self) -> Result<()> {
        let alnum = |s: &str| s.chars().all(|c| c.is_ascii_alphanumeric());
        if !(self.app_id.starts_with("cli_")
            && self.app_id.len() > 4
            && self.app_id[4..].chars().all(|c| c.is_ascii_alphanumeric()))
        {
            return Err(Error::invalid_field(
                "app_id",
                &self.app_id,
                "a Lark app id like \"cli_a1b2c3d4\"",
            ));
        }
        if self.app_secret.expose_secret().trim().is_empty() {
            return Err(Error::invalid_field(
                "app_secret",
                "",
                "the app's non-empty secret",
            ));
        }
        if !(10..=64).contains(&self.spreadsheet_token.len()) || !alnum(&self.spreadsheet_token) {
            return Err(Error::invalid_field(
                "spreadsheet_token",
                &self.spreadsheet_token,
                "the token from the sheet URL (10–64 letters and digits, e.g. shtcnmBA…)",
            ));
        }
        if !(1..=20).contains(&self.sheet_id.len()) || !alnum(&self.sheet_id) {
            return Err(Error::invalid_field(
                "sheet_id",
                &self.sheet_id,
                "a tab id like \"sxj5ws\" (not the tab's title)",
            ));
        }
        validate_base_url("base_url", &self.base_url)?;
        if self.timeout_secs == 0 {
            return Err(Error::invalid_field("timeout_secs", 0, "at least 1 second"));
        }
        Ok(())
    }
}

fn validate_base_url(field: &str, base: &str) -> Result<()> {
    match url::Url::parse(base) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => Ok(()),
        _ => Err(Error::invalid_field(
            field,
            base,
            "an http(s) base URL like https://open.feishu.cn",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhook_bad_input_names_the_field() {
        let cases = [
            (
                r#"{"webhook_url":"http://open.feishu.cn/open-apis/bot/v2/hook/t"}"#,
                "webhook_url",
            ),
            (
                r#"{"webhook_url":"https://example.com/open-apis/bot/v2/hook/t"}"#,
                "webhook_url",
            ),
            (
                r#"{"webhook_url":"https://open.feishu.cn/open-apis/bot/v2/hook/t","secret":" "}"#,
                "secret",
            ),
            (
                r#"{"webhook_url":"https://open.feishu.cn/open-apis/bot/v2/hook/t","colour":"red"}"#,
                "colour",
            ),
            (r#"{"secret":"x"}"#, "webhook_url"),
        ];
        for (json, field) in cases {
            let err = LarkWebhookConfig::from_json(json).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidInput, "{json}");
            assert!(err.to_string().contains(field), "{json}: {err}");
        }
    }

    #[test]
    fn sheet_bad_input_names_the_field() {
        let ok = r#"{"app_id":"cli_a1b2","app_secret":"s","spreadsheet_token":"shtcnmBA0123456789","sheet_id":"sxj5ws"}"#;
        assert!(LarkSheetConfig::from_json(ok).is_ok());
        for (from, to, field) in [
            ("cli_a1b2", "a1b2", "app_id"),
            ("\"s\"", "\"\"", "app_secret"),
            ("shtcnmBA0123456789", "sht/../x", "spreadsheet_token"),
            ("sxj5ws", "Daily tab", "sheet_id"),
        ] {
            let err = LarkSheetConfig::from_json(&ok.replace(from, to)).unwrap_err();
            assert!(err.to_string().contains(field), "{field}: {err}");
        }
    }

    #[test]
    fn endpoint_keeps_the_token_path_on_base_url() {
        let cfg = LarkWebhookConfig::from_json(
            r#"{"webhook_url":"https://open.feishu.cn/open-apis/bot/v2/hook/abc","base_url":"http://127.0.0.1:9/"}"#,
        )
        .unwrap();
        assert_eq!(
            cfg.endpoint(),
            "http://127.0.0.1:9/open-apis/bot/v2/hook/abc"
        );
    }
}
