//! [`AppStoreConnectConfig`]: what an App Store Connect credential holds, and its validation.

use std::fmt;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use storewatch_core::{Error, ErrorKind, Result};
use url::Url;

/// The API's production base URL.
pub const DEFAULT_BASE_URL: &str = "https://api.appstoreconnect.apple.com";

/// A credential's configuration: the Team API key, the vendor number and HTTP options.
///
/// Deserialized from the credential's opened JSON config; unknown fields are refused so a
/// typo does not silently fall back to a default. Build it with
/// [`AppStoreConnectConfig::from_json`] or [`AppStoreConnectConfig::new`], which validate.
/// `Debug` never prints the private key.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct AppStoreConnectConfig {
    /// The issuer id of the Team key (a UUID, from Users and Access → Integrations).
    pub issuer_id: String,
    /// The key id (10 characters, e.g. `2X9R4HXF34`).
    pub key_id: String,
    /// The `.p8` file's content: a PEM `PRIVATE KEY` block holding a P-256 key.
    pub private_key: SecretString,
    /// The vendor number from Payments and Financial Reports (digits, e.g. `80012345`).
    pub vendor_number: String,
    /// The API base URL; only tests, proxies and API gateways change it. A path in it
    /// (`https://gw.example.com/appstore`) prefixes every API path.
    #[serde(default = "default_base_url")]
    pub base_url: String,
    /// HTTP, pacing and retry options.
    #[serde(default)]
    pub http: HttpOptions,
    /// The SALES/SUMMARY report version asked for first (`1_0` today). When Apple names
    /// another version in its error, that one is used instead.
    #[serde(default = "default_report_version")]
    pub sales_report_version: String,
    /// Whether to create the ONGOING analytics report request of an app that has none
    /// (needs an Admin key). When false, such apps get no analytics metrics and a warning.
    #[serde(default = "default_true")]
    pub create_analytics_requests: bool,
}

/// HTTP options of the client.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct HttpOptions {
    /// Timeout of one request, in seconds.
    pub timeout_secs: u64,
    /// Timeout of connecting, in seconds.
    pub connect_timeout_secs: u64,
    /// Proxy URL for every request (`http://…`), if any.
    pub proxy: Option<String>,
    /// Retries of a request after a 429, a 5xx or a transport error.
    pub max_retries: u32,
    /// First backoff delay in milliseconds; doubled on every retry.
    pub backoff_base_ms: u64,
    /// Longest single backoff delay, in milliseconds.
    pub backoff_max_ms: u64,
    /// Length of Apple's rate-limit window, in seconds (a rolling hour).
    pub rate_window_secs: u64,
    /// Requests kept in reserve from the advertised budget (for other users of the key).
    pub rate_reserve: u32,
    /// Most requests in flight at once (Apple answers bursts with 429s and 500s).
    pub max_concurrency: usize,
}

impl Default for HttpOptions {
    fn default() -> Self {
        HttpOptions {
            timeout_secs: 60,
            connect_timeout_secs: 10,
            proxy: None,
            max_retries: 5,
            backoff_base_ms: 1_000,
            backoff_max_ms: 60_000,
            rate_window_secs: 3_600,
            rate_reserve: 0,
            max_concurrency: 3,
        }
    }
}

impl HttpOptions {
    /// The per-request timeout.
    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout_secs)
    }
}

fn default_base_url() -> String {
    DEFAULT_BASE_URL.to_owned()
}

fn default_report_version() -> String {
    "1_0".to_owned()
}

fn default_true() -> bool {
    true
}

impl fmt::Debug for AppStoreConnectConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppStoreConnectConfig")
            .field("issuer_id", &self.issuer_id)
            .field("key_id", &self.key_id)
            .field("private_key", &"[redacted]")
            .field("vendor_number", &self.vendor_number)
            .field("base_url", &self.base_url)
            .field("http", &self.http)
            .field("sales_report_version", &self.sales_report_version)
            .field("create_analytics_requests", &self.create_analytics_requests)
            .finish()
    }
}

impl AppStoreConnectConfig {
    /// A validated config with default HTTP options and the production base URL.
    pub fn new(
        issuer_id: impl Into<String>,
        key_id: impl Into<String>,
        private_key: SecretString,
        vendor_number: impl Into<String>,
    ) -> Result<Self> {
        let config = AppStoreConnectConfig {
            issuer_id: issuer_id.into(),
            key_id: key_id.into(),
            private_key,
            vendor_number: vendor_number.into(),
            base_url: default_base_url(),
            http: HttpOptions::default(),
            sales_report_version: default_report_version(),
            create_analytics_requests: true,
        };
        config.validate()?;
        Ok(config)
    }

    /// Parses and validates a credential's opened JSON config.
    ///
    /// A missing field is an `InvalidInput` error naming it; the JSON parser's own text is
    /// not kept because it may quote the input, which holds the key.
    pub fn from_json(json: &SecretString) -> Result<Self> {
        let config: AppStoreConnectConfig = serde_json::from_str(json.expose_secret())
            .map_err(|e| {
                // serde names the field in "missing field `x`"/"unknown field `x`" messages
                // and only quotes values on type errors, which we describe without them.
                let text = e.to_string();
                let field = text
                    .split('`')
                    .nth(1)
                    .filter(|_| text.contains("field `"))
                    .map(str::to_owned);
                match field {
                    Some(field) if text.starts_with("missing field") => Error::invalid_field(
                        &field,
                        "(missing)",
                        "a value: it is required",
                    ),
                    Some(field) => Error::invalid_field(
                        &field,
                        "(unknown field)",
                        "one of issuer_id, key_id, private_key, vendor_number, base_url, http, sales_report_version, create_analytics_requests",
                    ),
                    None => Error::new(
                        ErrorKind::InvalidInput,
                        format!(
                            "app_store_connect config is not valid JSON of the expected shape (line {}, column {}, {:?})",
                            e.line(),
                            e.column(),
                            e.classify()
                        ),
                    ),
                }
            })?;
        config.validate()?;
        Ok(config)
    }

    /// Sets the base URL (tests, proxies).
    #[must_use]
    pub fn with_base_url(mut self, base_url: impl Into<String>) -> Self {
        self.base_url = base_url.into();
        self
    }

    /// Sets the HTTP options.
    #[must_use]
    pub fn with_http(mut self, http: HttpOptions) -> Self {
        self.http = http;
        self
    }

    /// Checks every field, naming the first wrong one, its value (never the key's) and
    /// what was expected.
    pub fn validate(&self) -> Result<()> {
        let uuid_like = self.issuer_id.len() == 36
            && self.issuer_id.chars().enumerate().all(|(i, c)| {
                if [8, 13, 18, 23].contains(&i) {
                    c == '-'
                } else {
                    c.is_ascii_hexdigit()
                }
            });
        if !uuid_like {
            return Err(Error::invalid_field(
                "issuer_id",
                &self.issuer_id,
                "the issuer id of the API key, a UUID like 57246542-96fe-1a63-e053-0824d011072a",
            ));
        }
        if self.key_id.len() != 10 || !self.key_id.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(Error::invalid_field(
                "key_id",
                &self.key_id,
                "the 10-character key id, like 2X9R4HXF34",
            ));
        }
        if self.vendor_number.is_empty()
            || self.vendor_number.len() > 20
            || !self.vendor_number.chars().all(|c| c.is_ascii_digit())
        {
            return Err(Error::invalid_field(
                "vendor_number",
                &self.vendor_number,
                "the digits of the vendor number, like 80012345",
            ));
        }
        crate::auth::check_private_key(&self.private_key)?;
        let url = Url::parse(&self.base_url)
            .map_err(|_| Error::invalid_field("base_url", &self.base_url, "an http(s) URL"))?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(Error::invalid_field(
                "base_url",
                &self.base_url,
                "an http(s) URL",
            ));
        }
        if let Some(proxy) = &self.http.proxy {
            reqwest::Proxy::all(proxy).map_err(|_| {
                Error::invalid_field("http.proxy", proxy, "a proxy URL like http://proxy:3128")
            })?;
        }
        let version_ok = self
            .sales_report_version
            .split_once('_')
            .is_some_and(|(a, b)| {
                !a.is_empty()
                    && !b.is_empty()
                    && a.chars().all(|c| c.is_ascii_digit())
                    && b.chars().all(|c| c.is_ascii_digit())
            });
        if !version_ok {
            return Err(Error::invalid_field(
                "sales_report_version",
                &self.sales_report_version,
                "a report version like 1_0",
            ));
        }
        if self.http.max_concurrency == 0 {
            return Err(Error::invalid_field(
                "http.max_concurrency",
                0,
                "at least 1",
            ));
        }
        if self.http.rate_window_secs == 0 {
            return Err(Error::invalid_field(
                "http.rate_window_secs",
                0,
                "a window of at least 1 second",
            ));
        }
        Ok(())
    }
}
