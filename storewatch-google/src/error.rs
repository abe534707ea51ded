//! Google's error bodies and their one conversion into storewatch's [`Error`].
//!
//! The Reporting API answers with a `google.rpc.Status` envelope, Cloud Storage adds an
//! `errors[]` list, the token endpoint uses OAuth's `{error, error_description}`; a 503
//! may be an HTML page. [`parse_error`] reads all of them.

use std::time::Duration;

use reqwest::StatusCode;
use serde::Deserialize;
use storewatch_core::{Error, ErrorKind};

/// Which Google surface answered, so a 403 can say which grant is missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Surface {
    /// Play Developer Reporting API.
    Reporting,
    /// Cloud Storage (bulk reports bucket).
    Storage,
    /// The OAuth token endpoint.
    Token,
}

/// A parsed Google error body; private to the crate.
#[derive(Debug, Default, Deserialize)]
struct Envelope {
    error: Option<EnvelopeError>,
    error_description: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum EnvelopeError {
    /// `google.rpc.Status` (+ Cloud Storage's `errors[]`).
    Status(RpcStatus),
    /// OAuth: `"error": "invalid_grant"`.
    Code(String),
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RpcStatus {
    message: String,
    status: String,
    details: Vec<serde_json::Value>,
    errors: Vec<GcsError>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct GcsError {
    reason: String,
}

/// What the body says, reduced to what classification needs.
#[derive(Debug, Default)]
struct GoogleError {
    message: String,
    status: String,
    reasons: Vec<String>,
}

impl GoogleError {
    fn parse(body: &str) -> GoogleError {
        let Ok(envelope) = serde_json::from_str::<Envelope>(body) else {
            return GoogleError {
                message: snippet(body),
                ..GoogleError::default()
            };
        };
        match envelope.error {
            Some(EnvelopeError::Status(status)) => {
                let mut reasons: Vec<String> = status
                    .details
                    .iter()
                    .filter_map(|d| d.get("reason").and_then(|r| r.as_str()).map(str::to_owned))
                    .collect();
                reasons.extend(status.errors.into_iter().map(|e| e.reason));
                GoogleError {
                    message: status.message,
                    status: status.status,
                    reasons,
                }
            }
            Some(EnvelopeError::Code(code)) => GoogleError {
                message: envelope.error_description.unwrap_or_default(),
                status: code,
                reasons: Vec::new(),
            },
            None => GoogleError {
                message: snippet(body),
                ..GoogleError::default()
            },
        }
    }

    fn has_reason(&self, reason: &str) -> bool {
        self.reasons.iter().any(|r| r == reason)
    }
}

/// The first line of a non-JSON body, shortened: an HTML error page is noise.
fn snippet(body: &str) -> String {
    let text: String = body.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut short: String = text.chars().take(160).collect();
    if text.chars().count() > 160 {
        short.push('…');
    }
    short
}

/// Converts a Google error answer into storewatch's [`Error`].
///
/// `retry_after` is the `Retry-After` header when one was sent. The messages name the
/// grant to give for every 403, because Google's own text is the same for all of them.
pub(crate) fn parse_error(
    surface: Surface,
    status: StatusCode,
    body: &str,
    retry_after: Option<Duration>,
) -> Error {
    let err = GoogleError::parse(body);
    let google = if err.message.is_empty() {
        format!("HTTP {}", status.as_u16())
    } else {
        format!("HTTP {}: {}", status.as_u16(), err.message)
    };
    let kind_and_text = match status.as_u16() {
        400 if err.message.contains("at most the current freshness") => (
            ErrorKind::NotYetAvailable,
            format!("Google has not published these days yet ({google})"),
        ),
        400 if err.status == "invalid_grant" => (
            ErrorKind::Unauthenticated,
            format!(
                "Google refused the service-account key ({}: {}): check that the key is current (not deleted or rotated) and that this host's clock is right",
                err.status, err.message
            ),
        ),
        400 if err.status == "invalid_scope" => (
            ErrorKind::Internal,
            format!(
                "Google refused the requested OAuth scopes ({}: {})",
                err.status, err.message
            ),
        ),
        400 => (
            ErrorKind::InvalidInput,
            format!("Google rejected the request as invalid ({google})"),
        ),
        401 => (
            ErrorKind::Unauthenticated,
            format!(
                "Google refused the access token ({google}): the token expired or the key was revoked"
            ),
        ),
        403 => return permission_error(surface, &err, &google),
        404 => (ErrorKind::NotFound, format!("not found ({google})")),
        408 => (ErrorKind::Timeout, format!("Google timed out ({google})")),
        429 => (
            ErrorKind::RateLimited { retry_after },
            format!("Google asked to slow down ({google})"),
        ),
        500..=599 => (
            ErrorKind::Unavailable,
            format!("Google is failing ({google})"),
        ),
        _ => (
            ErrorKind::Internal,
            format!("unexpected answer from Google ({google})"),
        ),
    };
    Error::new(kind_and_text.0, kind_and_text.1)
}

fn permission_error(surface: Surface, err: &GoogleError, google: &str) -> Error {
    let text = if err.has_reason("SERVICE_DISABLED") {
        "the Google Play Developer Reporting API is not enabled on the service account's Cloud project: enable it in Google Cloud console → APIs & Services".to_owned()
    } else if err.has_reason("ACCESS_TOKEN_SCOPE_INSUFFICIENT") {
        let scope = match surface {
            Surface::Storage => crate::auth::STORAGE_SCOPE,
            _ => crate::auth::REPORTING_SCOPE,
        };
        format!("the access token lacks the scope {scope}: the token must be requested with it")
    } else if err.message.contains("only accessible to games") {
        "this metric set exists only for games".to_owned()
    } else {
        match surface {
            Surface::Storage => "the service account has no access to the bulk-report bucket (storage.objects.list/get): in Play Console → Users and permissions, give its e-mail \"View app information and download bulk reports (read-only)\"; the grant can take more than 24 hours to reach Cloud Storage, and check the bucket name".to_owned(),
            Surface::Reporting | Surface::Token => "the service account has no Play Developer Reporting API access to this app: in Play Console → Users and permissions, invite its e-mail with \"View app information (read-only)\", and check the package name".to_owned(),
        }
    };
    Error::new(ErrorKind::PermissionDenied, format!("{text} ({google})"))
}

/// Parses a `Retry-After` header given in seconds (Google does not send HTTP dates).
pub(crate) fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(surface: Surface, status: u16, body: &str) -> Error {
        parse_error(surface, StatusCode::from_u16(status).unwrap(), body, None)
    }

    #[test]
    fn permission_denied_names_the_grant() {
        let body = r#"{"error":{"code":403,"message":"The caller does not have permission","status":"PERMISSION_DENIED"}}"#;
        let err = parse(Surface::Reporting, 403, body);
        assert_eq!(err.kind(), ErrorKind::PermissionDenied);
        assert!(
            err.message().contains("View app information (read-only)"),
            "{err}"
        );
        assert!(
            err.message()
                .contains("The caller does not have permission")
        );
        assert!(!err.is_retryable());
    }

    #[test]
    fn scope_insufficient_names_the_scope() {
        let body = r#"{"error":{"code":403,"message":"Request had insufficient authentication scopes.","status":"PERMISSION_DENIED","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"ACCESS_TOKEN_SCOPE_INSUFFICIENT","domain":"googleapis.com","metadata":{"service":"playdeveloperreporting.googleapis.com"}}]}}"#;
        let err = parse(Surface::Reporting, 403, body);
        assert_eq!(err.kind(), ErrorKind::PermissionDenied);
        assert!(
            err.message().contains(crate::auth::REPORTING_SCOPE),
            "{err}"
        );
    }

    #[test]
    fn service_disabled_says_enable_the_api() {
        let body = r#"{"error":{"code":403,"message":"Google Play Developer Reporting API has not been used in project 1 before or it is disabled.","status":"PERMISSION_DENIED","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"SERVICE_DISABLED","domain":"googleapis.com"}]}}"#;
        let err = parse(Surface::Reporting, 403, body);
        assert!(err.message().contains("not enabled"), "{err}");
    }

    #[test]
    fn bucket_forbidden_names_bulk_report_permission() {
        let body = r#"{"error":{"code":403,"message":"play@p.iam.gserviceaccount.com does not have storage.objects.list access to the Google Cloud Storage bucket.","errors":[{"message":"play@p.iam.gserviceaccount.com does not have storage.objects.list access to the Google Cloud Storage bucket.","domain":"global","reason":"forbidden"}]}}"#;
        let err = parse(Surface::Storage, 403, body);
        assert_eq!(err.kind(), ErrorKind::PermissionDenied);
        assert!(err.message().contains("download bulk reports"), "{err}");
    }

    #[test]
    fn gcs_not_found() {
        let body = r#"{"error":{"code":404,"message":"No such object: pubsite_prod_rev_0123/stats/installs/installs_x_202609_overview.csv","errors":[{"message":"No such object: pubsite_prod_rev_0123/stats/installs/installs_x_202609_overview.csv","domain":"global","reason":"notFound"}]}}"#;
        let err = parse(Surface::Storage, 404, body);
        assert_eq!(err.kind(), ErrorKind::NotFound);
        assert!(err.message().contains("No such object"));
    }

    #[test]
    fn freshness_is_not_yet_available() {
        let body = r#"{"error":{"code":400,"message":"'timeline_spec.end_date' field should be at most the current freshness 2026-07-28 00:00","status":"INVALID_ARGUMENT"}}"#;
        let err = parse(Surface::Reporting, 400, body);
        assert_eq!(err.kind(), ErrorKind::NotYetAvailable);
        let body = r#"{"error":{"code":400,"message":"The requested metrics, dimensions and aggregation_period do not match any possible combination.","status":"INVALID_ARGUMENT"}}"#;
        let err = parse(Surface::Reporting, 400, body);
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert!(
            err.message()
                .contains("do not match any possible combination")
        );
    }

    #[test]
    fn oauth_errors() {
        let err = parse(
            Surface::Token,
            400,
            r#"{"error":"invalid_grant","error_description":"Invalid JWT Signature."}"#,
        );
        assert_eq!(err.kind(), ErrorKind::Unauthenticated);
        assert!(
            err.message().contains("Invalid JWT Signature.") && err.message().contains("clock")
        );
        let err = parse(
            Surface::Token,
            400,
            r#"{"error":"invalid_scope","error_description":"Empty or missing scope not allowed."}"#,
        );
        assert_eq!(err.kind(), ErrorKind::Internal);
    }

    #[test]
    fn retryable_statuses() {
        let err = parse_error(
            Surface::Reporting,
            StatusCode::TOO_MANY_REQUESTS,
            r#"{"error":{"code":429,"message":"Resource has been exhausted (e.g. check quota).","status":"RESOURCE_EXHAUSTED"}}"#,
            Some(Duration::from_secs(7)),
        );
        assert_eq!(err.retry_after(), Some(Duration::from_secs(7)));
        let html =
            "<html><head><title>503 Service Unavailable</title></head>\n<body>down</body></html>";
        let err = parse(Surface::Storage, 503, html);
        assert_eq!(err.kind(), ErrorKind::Unavailable);
        assert!(err.message().contains("503 Service Unavailable"), "{err}");
        let err = parse(
            Surface::Reporting,
            401,
            r#"{"error":{"code":401,"message":"Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.","status":"UNAUTHENTICATED"}}"#,
        );
        assert_eq!(err.kind(), ErrorKind::Unauthenticated);
    }
}
