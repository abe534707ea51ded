//! The fake's canned answers: Google's error envelopes and the injected faults.

use axum::body::{Body, Bytes};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::Fault;

pub(super) fn fault_response(fault: &Fault) -> Response {
    match fault {
        Fault::TooManyRequests { retry_after } => {
            let mut response = google_error(
                StatusCode::TOO_MANY_REQUESTS,
                "Resource has been exhausted (e.g. check quota).",
                "RESOURCE_EXHAUSTED",
                None,
            );
            if let Some(secs) = retry_after
                && let Ok(v) = header::HeaderValue::from_str(&secs.to_string())
            {
                response.headers_mut().insert(header::RETRY_AFTER, v);
            }
            response
        }
        Fault::Internal => google_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Internal error encountered.",
            "INTERNAL",
            None,
        ),
        Fault::UnavailableHtml => (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::CONTENT_TYPE, "text/html; charset=UTF-8")],
            "<!DOCTYPE html><html><head><title>Error 503 (Service Unavailable)!!1</title></head><body><p><b>503.</b> That’s an error.</p></body></html>",
        )
            .into_response(),
        Fault::ConnectionReset => {
            let stream = futures::stream::iter([
                Ok::<Bytes, std::io::Error>(Bytes::from_static(b"{\"rows\":[")),
                Err(std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset by fake")),
            ]);
            Response::builder()
                .status(StatusCode::OK)
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from_stream(stream))
                .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
        }
        Fault::Stall(_) => StatusCode::OK.into_response(),
    }
}

/// A `google.rpc.Status` error answer.
pub(super) fn google_error(
    status: StatusCode,
    message: &str,
    rpc_status: &str,
    details: Option<serde_json::Value>,
) -> Response {
    let mut error = serde_json::json!({
        "code": status.as_u16(),
        "message": message,
        "status": rpc_status,
    });
    if let Some(details) = details {
        error["details"] = details;
    }
    json_response(status, &serde_json::json!({ "error": error }))
}

/// A Cloud Storage error answer (`errors[]` with a `reason`).
pub(super) fn storage_error(status: StatusCode, message: &str, reason: &str) -> Response {
    json_response(
        status,
        &serde_json::json!({"error": {
            "code": status.as_u16(),
            "message": message,
            "errors": [{"message": message, "domain": "global", "reason": reason}],
        }}),
    )
}

pub(super) fn json_response(status: StatusCode, value: &serde_json::Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json; charset=UTF-8")],
        value.to_string(),
    )
        .into_response()
}
