//! [`GooglePlayConfig`]: what a `google_play` credential holds, and its validation.

use std::fmt;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Deserializer};
use storewatch_core::{Error, ErrorKind, Result};
use url::Url;

/// Where the Play Developer Reporting API lives.
pub const DEFAULT_REPORTING_BASE_URL: &str = "https://playdeveloperreporting.googleapis.com";
/// Where the Cloud Storage JSON API lives.
pub const DEFAULT_STORAGE_BASE_URL: &str = "https://storage.googleapis.com";

/// The opened config of a `google_play` credential.
///
/// ```
/// use secrecy::SecretString;
/// use storewatch_google::GooglePlayConfig;
///
/// let json = r#"{
///   "service_account_json": {"type": "service_account", "client_email": "m@p.iam.gserviceaccount.com",
///                            "private_key": "-----BEGIN PRIVATE KEY-----\n...\n-----END PRIVATE KEY-----\n"},
///   "bucket": "pubsite_prod_rev_0123"
/// }"#;
/// let config = GooglePlayConfig::from_json(&SecretString::from(json)).unwrap();
/// assert_eq!(config.bucket, "pubsite_prod_rev_0123");
/// assert!(!format!("{config:?}").contains("PRIVATE KEY"));
/// ```
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct GooglePlayConfig {
    /// The service-account key JSON as downloaded from Google Cloud (a JSON string or the
    /// object itself). Its `token_uri` is where tokens are asked for.
    #[serde(deserialize_with = "secret_json")]
    pub service_account_json: SecretString,
    /// The Play Console bulk-report bucket, `pubsite_prod_rev_<digits>` (newer accounts:
    /// `pubsite_prod_<digits>`); the Console's "Copy Cloud Storage URI" shows it.
    pub bucket: String,
    /// Base URL of the Play Developer Reporting API.
    #[serde(default = "default_reporting")]
    pub reporting_base_url: Url,
    /// Base URL of the Cloud Storage JSON API.
    #[serde(default = "default_storage")]
    pub storage_base_url: Url,
    /// HTTP behaviour: timeouts, retries, limits.
    #[serde(default)]
    pub http: HttpOptions,
}

/// HTTP behaviour of the Google client.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct HttpOptions {
    /// Timeout of one HTTP request, in seconds.
    pub timeout_secs: u64,
    /// How many times a 429, 5xx, timeout or dropped connection is retried.
    pub max_retries: u32,
    /// First back-off delay in milliseconds; doubled on every retry.
    pub backoff_base_ms: u64,
    /// Longest back-off delay in milliseconds (also caps a provider's `Retry-After`).
    pub backoff_max_ms: u64,
    /// Requests per second to the Reporting API (Google's default quota is 10).
    pub reporting_requests_per_second: u32,
    /// Apps collected at the same time.
    pub concurrency: usize,
    /// Rows per Reporting API page (Google allows up to 100000).
    pub page_size: u32,
    /// Days a missing or incomplete monthly bulk report counts as "not yet generated"
    /// rather than a wrong package or bucket.
    pub bulk_report_lag_days: u32,
}

impl Default for HttpOptions {
    fn default() -> Self {
        HttpOptions {
            timeout_secs: 60,
            max_retries: 4,
            backoff_base_ms: 500,
            backoff_max_ms: 60_000,
            reporting_requests_per_second: 10,
            concurrency: 8,
            page_size: 10_000,
            bulk_report_lag_days: 7,
        }
    }
}

impl HttpOptions {
    /// The per-request timeout.
    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout_secs)
    }

    fn validate(&self) -> Result<()> {
        let positive = [
            ("http.timeout_secs", self.timeout_secs),
            (
                "http.reporting_requests_per_second",
                u64::from(self.reporting_requests_per_second),
            ),
            ("http.concurrency", self.concurrency as u64),
            ("http.page_size", u64::from(self.page_size)),
        ];
        for (field, value) in positive {
            if value == 0 {
                return Err(Error::invalid_field(field, value, "a number above 0"));
            }
        }
        if self.page_size > 100_000 {
            return Err(Error::invalid_field(
                "http.page_size",
                self.page_size,
                "at most 100000 rows (the Reporting API's limit)",
            ));
        }
        Ok(())
    }
}

impl fmt::Debug for GooglePlayConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GooglePlayConfig")
            .field("service_account_json", &"[redacted]")
            .field("bucket", &self.bucket)
            .field("reporting_base_url", &self.reporting_base_url.as_str())
            .field("storage_base_url", &self.storage_base_url.as_str())
            .field("http", &self.http)
            .finish()
    }
}

impl GooglePlayConfig {
    /// A config with default base URLs and HTTP options; validated.
    pub fn new(service_account_json: SecretString, bucket: impl Into<String>) -> Result<Self> {
        let config = GooglePlayConfig {
            service_account_json,
            bucket: bucket.into(),
            reporting_base_url: default_reporting(),
            storage_base_url: default_storage(),
            http: HttpOptions::default(),
        };
        config.validate()?;
        Ok(config)
    }

    /// Reads a credential's opened JSON config and validates it.
    pub fn from_json(json: &SecretString) -> Result<Self> {
        // serde_json errors quote the offending input, so they are not shown verbatim: only
        // the position and category, which never carry key material.
        let config: GooglePlayConfig = serde_json::from_str(json.expose_secret()).map_err(|e| {
            let what = match e.classify() {
                serde_json::error::Category::Data => data_error_text(&e),
                _ => "not valid JSON".to_owned(),
            };
            Error::new(
                ErrorKind::InvalidInput,
                format!(
                    "google_play config: {what} at line {} column {}",
                    e.line(),
                    e.column()
                ),
            )
        })?;
        config.validate()?;
        Ok(config)
    }

    /// Sets the Reporting API base URL.
    #[must_use]
    pub fn with_reporting_base_url(mut self, url: Url) -> Self {
        self.reporting_base_url = url;
        self
    }

    /// Sets the Cloud Storage base URL.
    #[must_use]
    pub fn with_storage_base_url(mut self, url: Url) -> Self {
        self.storage_base_url = url;
        self
    }

    /// Sets the HTTP options.
    #[must_use]
    pub fn with_http(mut self, http: HttpOptions) -> Self {
        self.http = http;
        self
    }

    /// Checks every field; errors name the field, the value and what was expected.
    pub fn validate(&self) -> Result<()> {
        ServiceAccountKey::parse(&self.service_account_json)?;
        validate_bucket(&self.bucket)?;
        for (field, url) in [
            ("reporting_base_url", &self.reporting_base_url),
            ("storage_base_url", &self.storage_base_url),
        ] {
            if !matches!(url.scheme(), "http" | "https") || url.cannot_be_a_base() {
                return Err(Error::invalid_field(
                    field,
                    url.as_str(),
                    "an http or https base URL",
                ));
            }
        }
        self.http.validate()
    }

    /// The parsed service-account key.
    pub(crate) fn key(&self) -> Result<ServiceAccountKey> {
        ServiceAccountKey::parse(&self.service_account_json)
    }
}

/// Names only the field serde complained about, never a value.
fn data_error_text(e: &serde_json::Error) -> String {
    let text = e.to_string();
    // serde's messages for unknown/missing fields quote field names, which are safe.
    if let Some(rest) = text.strip_prefix("unknown field ") {
        let field = rest.split(',').next().unwrap_or(rest);
        return format!(
            "unknown field {field}: expected service_account_json, bucket, reporting_base_url, storage_base_url or http"
        );
    }
    if text.starts_with("missing field ") {
        return text.split(" at line").next().unwrap_or(&text).to_owned();
    }
    "a field has the wrong type".to_owned()
}

fn validate_bucket(bucket: &str) -> Result<()> {
    let ok = (3..=222).contains(&bucket.len())
        && bucket
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '-' | '.'));
    if !ok {
        return Err(Error::invalid_field(
            "bucket",
            bucket,
            "the Play Console bulk-report bucket name, like \"pubsite_prod_rev_01234567890987654321\"",
        ));
    }
    Ok(())
}

fn default_reporting() -> Url {
    Url::parse(DEFAULT_REPORTING_BASE_URL).unwrap_or_else(|_| unreachable_url())
}

fn default_storage() -> Url {
    Url::parse(DEFAULT_STORAGE_BASE_URL).unwrap_or_else(|_| unreachable_url())
}

#[allow(clippy::panic)] // the constants above are valid URLs; a unit test proves it
fn unreachable_url() -> Url {
    panic!("built-in Google base URL does not parse")
}

/// Accepts the key as a JSON string or as the JSON object itself.
fn secret_json<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<SecretString, D::Error> {
    let value = serde_json::Value::deserialize(d)?;
    match value {
        serde_json::Value::String(s) => Ok(SecretString::from(s)),
        serde_json::Value::Object(_) => Ok(SecretString::from(value.to_string())),
        _ => Err(serde::de::Error::custom(
            "service_account_json must be the key JSON, as a string or an object",
        )),
    }
}

/// The fields of a service-account key storewatch uses.
#[derive(Clone)]
pub(crate) struct ServiceAccountKey {
    /// The account's e-mail, the JWT issuer.
    pub(crate) client_email: String,
    /// Where tokens are asked for.
    pub(crate) token_uri: String,
    /// The whole key JSON, handed to yup-oauth2.
    pub(crate) json: SecretString,
}

impl fmt::Debug for ServiceAccountKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServiceAccountKey")
            .field("client_email", &self.client_email)
            .field("token_uri", &self.token_uri)
            .finish_non_exhaustive()
    }
}

/// Google's token endpoint, used when a key has no `token_uri`.
const DEFAULT_TOKEN_URI: &str = "https://oauth2.googleapis.com/token";

impl ServiceAccountKey {
    pub(crate) fn parse(json: &SecretString) -> Result<Self> {
        let value: serde_json::Value = serde_json::from_str(json.expose_secret()).map_err(|e| {
            Error::new(
                ErrorKind::InvalidInput,
                format!(
                    "service_account_json is not valid JSON (line {} column {}): expected the key file downloaded from Google Cloud",
                    e.line(),
                    e.column()
                ),
            )
        })?;
        let Some(object) = value.as_object() else {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                "service_account_json is not a JSON object: expected the key file downloaded from Google Cloud",
            ));
        };
        if let Some(kind) = object.get("type").and_then(|v| v.as_str())
            && kind != "service_account"
        {
            return Err(Error::invalid_field(
                "service_account_json.type",
                kind,
                "\"service_account\" (a service-account key, not an OAuth client or user credential)",
            ));
        }
        let field = |name: &str| -> Result<String> {
            match object.get(name).and_then(|v| v.as_str()) {
                Some(s) if !s.trim().is_empty() => Ok(s.to_owned()),
                _ => Err(Error::new(
                    ErrorKind::InvalidInput,
                    format!(
                        "service_account_json lacks {name}: expected a service-account key with \"private_key\" and \"client_email\" as downloaded from Google Cloud"
                    ),
                )),
            }
        };
        let private_key = field("private_key")?;
        if !private_key.contains("-----BEGIN PRIVATE KEY-----") {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                "invalid service_account_json.private_key: expected a PKCS#8 PEM key (\"-----BEGIN PRIVATE KEY-----\")",
            ));
        }
        let client_email = field("client_email")?;
        if !client_email.contains('@') {
            return Err(Error::invalid_field(
                "service_account_json.client_email",
                &client_email,
                "the service account's e-mail, like \"name@project.iam.gserviceaccount.com\"",
            ));
        }
        let token_uri = object
            .get("token_uri")
            .and_then(|v| v.as_str())
            .unwrap_or(DEFAULT_TOKEN_URI)
            .to_owned();
        Url::parse(&token_uri).map_err(|_| {
            Error::invalid_field(
                "service_account_json.token_uri",
                &token_uri,
                "a URL like \"https://oauth2.googleapis.com/token\"",
            )
        })?;
        // yup-oauth2 requires token_uri, so a key without one gets Google's default.
        let mut object = object.clone();
        object.insert("token_uri".into(), token_uri.clone().into());
        Ok(ServiceAccountKey {
            client_email,
            token_uri,
            json: SecretString::from(serde_json::Value::Object(object).to_string()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PEM: &str = "-----BEGIN PRIVATE KEY-----\\nMIIsecret\\n-----END PRIVATE KEY-----\\n";

    fn key_json(skip: &str) -> String {
        let mut fields = vec![
            ("type", "service_account".to_owned()),
            ("client_email", "m@p.iam.gserviceaccount.com".to_owned()),
            ("private_key", PEM.to_owned()),
        ];
        fields.retain(|(k, _)| *k != skip);
        let inner: Vec<String> = fields
            .iter()
            .map(|(k, v)| format!("\"{k}\":\"{v}\""))
            .collect();
        format!("{{{}}}", inner.join(","))
    }

    fn config_json(key: &str) -> SecretString {
        SecretString::from(format!(
            "{{\"service_account_json\":{key},\"bucket\":\"pubsite_prod_rev_0123\"}}"
        ))
    }

    #[test]
    fn defaults_parse() {
        assert_eq!(
            default_reporting().as_str(),
            "https://playdeveloperreporting.googleapis.com/"
        );
        assert_eq!(
            default_storage().as_str(),
            "https://storage.googleapis.com/"
        );
    }

    #[test]
    fn key_as_object_or_string() {
        let object = GooglePlayConfig::from_json(&config_json(&key_json(""))).unwrap();
        let string = GooglePlayConfig::from_json(&config_json(
            &serde_json::to_string(&key_json("")).unwrap(),
        ))
        .unwrap();
        assert_eq!(
            object.key().unwrap().client_email,
            string.key().unwrap().client_email
        );
        assert_eq!(object.key().unwrap().token_uri, DEFAULT_TOKEN_URI);
    }

    #[test]
    fn missing_key_fields_are_named() {
        for field in ["private_key", "client_email"] {
            let err = GooglePlayConfig::from_json(&config_json(&key_json(field))).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidInput);
            assert!(err.message().contains(field), "{err}");
        }
    }

    #[test]
    fn debug_and_errors_never_show_the_key() {
        let config = GooglePlayConfig::from_json(&config_json(&key_json(""))).unwrap();
        let debug = format!("{config:?}");
        assert!(
            !debug.contains("MIIsecret") && debug.contains("pubsite_prod_rev_0123"),
            "{debug}"
        );
        // A type error next to the key must not echo it.
        let bad = SecretString::from(format!(
            "{{\"service_account_json\":{},\"bucket\":7}}",
            key_json("")
        ));
        let err = GooglePlayConfig::from_json(&bad).unwrap_err();
        assert!(!err.to_string().contains("MIIsecret"), "{err}");
        let unknown = SecretString::from(format!(
            "{{\"service_account_json\":{},\"bucket\":\"b_1\",\"buckets\":1}}",
            key_json("")
        ));
        let err = GooglePlayConfig::from_json(&unknown).unwrap_err();
        assert!(err.message().contains("buckets"), "{err}");
    }

    #[test]
    fn bad_bucket_and_options_are_named() {
        let err =
            GooglePlayConfig::new(SecretString::from(key_json("")), "gs://Bucket").unwrap_err();
        assert!(err.message().contains("bucket") && err.message().contains("gs://Bucket"));
        let mut config =
            GooglePlayConfig::new(SecretString::from(key_json("")), "pubsite_prod_rev_1").unwrap();
        config.http.page_size = 0;
        assert!(
            config
                .validate()
                .unwrap_err()
                .message()
                .contains("http.page_size")
        );
        let err = GooglePlayConfig::new(
            SecretString::from(key_json("").replace("service_account", "authorized_user")),
            "pubsite_prod_rev_1",
        )
        .unwrap_err();
        assert!(err.message().contains("type"), "{err}");
    }
}
