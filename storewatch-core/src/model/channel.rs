//! [`Channel`]: where messages go (a Lark webhook, a Lark sheet, any registered kind).

use serde::{Deserialize, Serialize};

use super::app::validate_name;
use super::{ChannelId, Record, Spec};
use crate::secrets::SealedSecret;
use crate::{Error, Result};

/// A notification channel; its config (a webhook URL is a bearer capability) is sealed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelSpec {
    /// Display name.
    pub name: String,
    /// The notifier kind that opens it, e.g. `lark_webhook` or `lark_sheet`.
    pub kind: String,
    /// The notifier's JSON config, sealed.
    pub sealed: SealedSecret,
    /// A short fingerprint of the clear config, for display.
    pub fingerprint: String,
    /// Inactive channels receive nothing.
    #[serde(default = "super::app::yes")]
    pub is_active: bool,
}

impl Spec for ChannelSpec {
    type Id = ChannelId;
    const KIND: &'static str = "channel";

    fn validate(&self) -> Result<()> {
        validate_name("name", &self.name)?;
        super::validate_kind("kind", &self.kind)
    }
}

/// A stored channel.
pub type Channel = Record<ChannelSpec>;

/// Hosts that serve Lark / Feishu custom-bot webhooks.
pub const LARK_WEBHOOK_HOSTS: [&str; 3] = [
    "open.feishu.cn",
    "open.larksuite.com",
    "open.larkoffice.com",
];

/// Validates a Lark / Feishu custom-bot webhook URL:
/// `https://<lark host>/open-apis/bot/v2/hook/<token>`.
///
/// The error never repeats the URL (it is a bearer capability); it names the field and
/// the part that is wrong.
///
/// ```
/// use storewatch_core::model::validate_lark_webhook_url;
///
/// assert!(validate_lark_webhook_url("https://open.feishu.cn/open-apis/bot/v2/hook/0f9e-token").is_ok());
/// assert!(validate_lark_webhook_url("http://open.feishu.cn/open-apis/bot/v2/hook/x").is_err());
/// assert!(validate_lark_webhook_url("https://evil.example/open-apis/bot/v2/hook/x").is_err());
/// ```
pub fn validate_lark_webhook_url(raw: &str) -> Result<()> {
    let url = url::Url::parse(raw).map_err(|e| {
        Error::invalid_field("webhook_url", "<redacted>", format_args!("a URL ({e})"))
    })?;
    if url.scheme() != "https" {
        return Err(Error::invalid_field(
            "webhook_url",
            format_args!("{}://…", url.scheme()),
            "an https:// URL",
        ));
    }
    let host = url.host_str().unwrap_or_default();
    if !LARK_WEBHOOK_HOSTS.contains(&host) {
        return Err(Error::invalid_field(
            "webhook_url",
            format_args!("https://{host}/…"),
            format_args!("a Lark webhook host ({})", LARK_WEBHOOK_HOSTS.join(", ")),
        ));
    }
    let token = url
        .path()
        .strip_prefix("/open-apis/bot/v2/hook/")
        .unwrap_or_default();
    if token.is_empty() || token.contains('/') {
        return Err(Error::invalid_field(
            "webhook_url",
            format_args!("https://{host}/…"),
            "the path /open-apis/bot/v2/hook/<token>",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhook_errors_name_field_and_never_the_token() {
        for bad in [
            "http://open.feishu.cn/open-apis/bot/v2/hook/secret-token",
            "https://hooks.slack.com/open-apis/bot/v2/hook/secret-token",
            "https://open.feishu.cn/open-apis/bot/v1/secret-token",
            "not a url secret-token",
        ] {
            let err = validate_lark_webhook_url(bad).unwrap_err();
            assert_eq!(err.kind(), crate::ErrorKind::InvalidInput);
            assert!(err.message().contains("webhook_url"), "{err}");
            assert!(!err.to_string().contains("secret-token"), "{err}");
        }
        assert!(
            validate_lark_webhook_url("https://open.larksuite.com/open-apis/bot/v2/hook/abc")
                .is_ok()
        );
    }
}
