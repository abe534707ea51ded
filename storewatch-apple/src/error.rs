//! App Store Connect error bodies, classified once and converted into storewatch's [`Error`].
//!
//! Apple's envelope is `{"errors":[{status, code, title, detail, source?}]}` with
//! dot-hierarchical codes matched by prefix. The two Sales 404s differ only in `detail`, so
//! those are matched on stable substrings, and an unrecognised 404 is taken as "later".

use std::time::Duration;

use serde::Deserialize;
use storewatch_core::{Error, ErrorKind};

#[derive(Debug, Default, Deserialize)]
struct Envelope {
    #[serde(default)]
    errors: Vec<ApiErrorItem>,
}

#[derive(Debug, Default, Deserialize)]
struct ApiErrorItem {
    #[serde(default)]
    code: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    detail: String,
    #[serde(default)]
    source: Option<ErrorSource>,
}

#[derive(Debug, Default, Deserialize)]
struct ErrorSource {
    #[serde(default)]
    parameter: Option<String>,
    #[serde(default)]
    pointer: Option<String>,
}

/// What an error response means for the client.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ApiError {
    /// 404 "There were no sales for the date specified.": a real zero.
    NoSales,
    /// 404 "Report is not available yet." (or an unrecognised 404): ask again later.
    NotYetAvailable { detail: String },
    /// 400 on `filter[version]`, with the version Apple names, when it names one.
    WrongVersion { latest: Option<String> },
    /// Any other 400/404/405/406/409/410/415/422: a bug on our side or a bad id.
    Rejected {
        status: u16,
        code: String,
        parameter: Option<String>,
        detail: String,
    },
    /// 401: the token was refused.
    Unauthorized,
    /// 403 because the key's type or role does not allow the request.
    Forbidden { detail: String },
    /// 403 because an agreement must be accepted in App Store Connect.
    AgreementMissing,
    /// 429.
    RateLimited { retry_after: Option<Duration> },
    /// 5xx or a body that is not Apple's.
    Server { status: u16, detail: String },
}

impl ApiError {
    /// Whether the same request may succeed later.
    pub(crate) fn is_transient(&self) -> bool {
        matches!(self, ApiError::RateLimited { .. } | ApiError::Server { .. })
    }
}

/// Classifies an error response (`retry_after` from the `Retry-After` header, when sent).
pub(crate) fn classify(status: u16, body: &[u8], retry_after: Option<Duration>) -> ApiError {
    let envelope: Envelope = serde_json::from_slice(body).unwrap_or_default();
    let first = envelope.errors.into_iter().next().unwrap_or_default();
    let parameter = first.source.as_ref().and_then(|s| s.parameter.clone());
    let code = first.code;
    match status {
        401 => ApiError::Unauthorized,
        403 if code.starts_with("FORBIDDEN.REQUIRED_AGREEMENTS")
            || first.title.contains("Access Unavailable")
            || first.detail.to_ascii_lowercase().contains("agreement") =>
        {
            ApiError::AgreementMissing
        }
        403 => ApiError::Forbidden {
            detail: if first.detail.is_empty() {
                first.title
            } else {
                first.detail
            },
        },
        429 => ApiError::RateLimited { retry_after },
        404 if first.detail.contains("no sales for the date") => ApiError::NoSales,
        404 if code.starts_with("PATH_ERROR") => ApiError::Rejected {
            status,
            code,
            parameter,
            detail: first.detail,
        },
        404 => ApiError::NotYetAvailable {
            detail: first.detail,
        },
        400 if code.starts_with("PARAMETER_ERROR")
            && parameter.as_deref() == Some("filter[version]") =>
        {
            ApiError::WrongVersion {
                latest: latest_version(&first.detail),
            }
        }
        s if s >= 500 => ApiError::Server {
            status,
            detail: if first.detail.is_empty() {
                body_excerpt(body)
            } else {
                first.detail
            },
        },
        _ => ApiError::Rejected {
            status,
            code,
            parameter: parameter.or_else(|| first.source.and_then(|s| s.pointer)),
            detail: if first.detail.is_empty() {
                body_excerpt(body)
            } else {
                first.detail
            },
        },
    }
}

/// The `X_Y` of "The latest version for this report is X_Y."
fn latest_version(detail: &str) -> Option<String> {
    let rest = detail.split("latest version for this report is ").nth(1)?;
    let version: String = rest
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '_')
        .collect();
    let (a, b) = version.split_once('_')?;
    (!a.is_empty() && !b.is_empty()).then_some(version)
}

/// A short printable excerpt of a non-JSON body (502 pages, S3 XML), for messages.
fn body_excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(200)]);
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_owned()
}

/// Converts an error response into storewatch's error (the client goes through
/// [`classify`] so it can act on the class and keep `Retry-After` first).
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) fn parse_error(status: u16, body: &[u8]) -> Error {
    Error::from(classify(status, body, None))
}

impl From<ApiError> for Error {
    fn from(e: ApiError) -> Error {
        match e {
            ApiError::NoSales => Error::new(
                ErrorKind::NotFound,
                "App Store Connect: there were no sales for the date",
            ),
            ApiError::NotYetAvailable { detail } => Error::new(
                ErrorKind::NotYetAvailable,
                format!("App Store Connect: report not available yet ({detail})"),
            ),
            ApiError::WrongVersion { latest } => Error::new(
                ErrorKind::InvalidInput,
                format!(
                    "App Store Connect refused filter[version]; it names {}",
                    latest.as_deref().unwrap_or("no version")
                ),
            ),
            ApiError::Rejected {
                status,
                code,
                parameter,
                detail,
            } => Error::new(
                if status == 404 {
                    ErrorKind::NotFound
                } else {
                    ErrorKind::InvalidInput
                },
                format!(
                    "App Store Connect rejected the request: HTTP {status} {code}{}: {detail}",
                    parameter.map(|p| format!(" on {p}")).unwrap_or_default()
                ),
            ),
            ApiError::Unauthorized => Error::new(
                ErrorKind::Unauthenticated,
                "App Store Connect refused the token (401 NOT_AUTHORIZED): check issuer_id, key_id and that the key is not revoked",
            ),
            ApiError::Forbidden { detail } => Error::new(
                ErrorKind::PermissionDenied,
                format!(
                    "App Store Connect forbids this request (403): the API key must be a Team key with the Admin, Finance or Sales and Reports role ({detail})"
                ),
            ),
            ApiError::AgreementMissing => Error::new(
                ErrorKind::PermissionDenied,
                "App Store Connect: an agreement is missing or expired; the account holder must accept it in App Store Connect (Business). This is not a key problem",
            ),
            ApiError::RateLimited { retry_after } => Error::new(
                ErrorKind::RateLimited { retry_after },
                "App Store Connect rate limit reached (429 RATE_LIMIT_EXCEEDED)",
            ),
            ApiError::Server { status, detail } => Error::new(
                ErrorKind::Unavailable,
                format!("App Store Connect server error: HTTP {status}: {detail}"),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOT_AUTHORIZED: &str = r#"{"errors":[{"status":"401","code":"NOT_AUTHORIZED","title":"Authentication credentials are missing or invalid.",
  "detail":"Provide a properly configured and signed bearer token, and make sure that it has not expired. Learn more about Generating Tokens for API Requests https://developer.apple.com/go/?id=api-generating-tokens"}]}"#;

    #[test]
    fn real_version_error_names_the_latest_version() {
        // The workspace's sibling `shared/` holds the real samples; a missing file fails.
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../shared/fixtures/real/apple/appstore-sdk-go_api_error_parameter_invalid.json"
        );
        let body =
            std::fs::read(path).unwrap_or_else(|e| panic!("real fixture {path} is missing: {e}"));
        assert_eq!(
            classify(400, &body, None),
            ApiError::WrongVersion {
                latest: Some("1_0".to_owned())
            }
        );
        let err = parse_error(400, &body);
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert!(err.message().contains("1_0"), "{err}");
    }

    #[test]
    fn sales_404s_differ_by_detail() {
        let no_sales = br#"{"errors":[{"id":"x","status":"404","code":"NOT_FOUND","title":"The specified resource does not exist","detail":"There were no sales for the date specified."}]}"#;
        assert_eq!(classify(404, no_sales, None), ApiError::NoSales);
        let later = br#"{"errors":[{"status":"404","code":"NOT_FOUND","title":"The specified resource does not exist","detail":"Report is not available yet. Daily reports for the Americas are available by 5 am Pacific Time; Japan, Australia, and New Zealand by 5 am Japan Standard Time; and 5 am Central European Time for all other territories."}]}"#;
        assert!(matches!(
            classify(404, later, None),
            ApiError::NotYetAvailable { .. }
        ));
        assert_eq!(parse_error(404, later).kind(), ErrorKind::NotYetAvailable);
        // An unrecognised 404 is "later", never a permanent failure.
        assert_eq!(
            parse_error(404, b"<html>nope</html>").kind(),
            ErrorKind::NotYetAvailable
        );
    }

    #[test]
    fn auth_and_permission_errors() {
        assert_eq!(
            parse_error(401, NOT_AUTHORIZED.as_bytes()).kind(),
            ErrorKind::Unauthenticated
        );
        let role = br#"{"errors":[{"status":"403","code":"FORBIDDEN_ERROR","title":"This request is forbidden for security reasons","detail":"The API key in use does not allow this request"}]}"#;
        let err = parse_error(403, role);
        assert_eq!(err.kind(), ErrorKind::PermissionDenied);
        assert!(err.message().contains("Team key"), "{err}");
        for agreement in [
            &br#"{"errors":[{"status":"403","code":"FORBIDDEN.REQUIRED_AGREEMENTS_MISSING_OR_EXPIRED","title":"A required agreement is missing or has expired.","detail":"This request requires an in-effect agreement that has not been signed or has expired."}]}"#[..],
            &br#"{"errors":[{"status":"403","code":"FORBIDDEN","title":"Access Unavailable","detail":"You currently don't have access to this membership resource."}]}"#[..],
        ] {
            let err = parse_error(403, agreement);
            assert_eq!(classify(403, agreement, None), ApiError::AgreementMissing);
            assert!(err.message().contains("agreement"), "{err}");
            assert!(!err.message().contains("Team key"), "{err}");
        }
    }

    #[test]
    fn rate_limit_and_server_errors() {
        let body = br#"{"errors":[{"status":"429","code":"RATE_LIMIT_EXCEEDED","title":"The request rate limit has been reached.","detail":"We've received too many requests for this API. Please wait and try again or slow down your request rate."}]}"#;
        let e = classify(429, body, Some(Duration::from_secs(7)));
        assert!(e.is_transient());
        let err = Error::from(e);
        assert_eq!(err.retry_after(), Some(Duration::from_secs(7)));
        let server = br#"{"errors":[{"status":"500","code":"UNEXPECTED_ERROR","title":"An unexpected error occurred.","detail":"An unexpected error occurred on the server side. If this issue continues, contact us at https://developer.apple.com/contact/."}]}"#;
        let err = parse_error(500, server);
        assert_eq!(err.kind(), ErrorKind::Unavailable);
        assert!(err.message().contains("unexpected error"));
        let bad_gateway = parse_error(502, b"<html><body>502 Bad Gateway</body></html>");
        assert_eq!(bad_gateway.kind(), ErrorKind::Unavailable);
        assert!(bad_gateway.message().contains("502 Bad Gateway"));
    }

    #[test]
    fn other_parameter_errors_are_permanent() {
        let body = br#"{"errors":[{"status":"400","code":"PARAMETER_ERROR.REQUIRED","title":"A required parameter is missing.","detail":"The parameter 'filter[vendorNumber]' is required.","source":{"parameter":"filter[vendorNumber]"}}]}"#;
        let err = parse_error(400, body);
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert!(err.message().contains("filter[vendorNumber]"), "{err}");
        assert!(!err.is_retryable());
        assert_eq!(
            parse_error(406, b"Not Acceptable").kind(),
            ErrorKind::InvalidInput
        );
    }
}
