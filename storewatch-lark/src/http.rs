//! The HTTP plumbing shared by both notifiers: one client per notifier, transport
//! errors mapped without the URL (a webhook URL is a secret).

use std::time::Duration;

use reqwest::header::HeaderMap;
use serde_json::Value;
use storewatch_core::{Error, ErrorKind, Result};

use crate::error::parse_response;

pub(crate) fn client(timeout: Duration) -> Result<reqwest::Client> {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| {
            Error::new(ErrorKind::Config, "cannot build the HTTP client")
                .with_source(e.without_url())
        })
}

fn transport(e: reqwest::Error) -> Error {
    let kind = if e.is_timeout() {
        ErrorKind::Timeout
    } else {
        ErrorKind::Unavailable
    };
    Error::new(kind, "Lark could not be reached").with_source(e.without_url())
}

/// Sends a request and parses Lark's answer, whatever its HTTP status.
pub(crate) async fn send(req: reqwest::RequestBuilder) -> Result<Value> {
    let resp = req.send().await.map_err(transport)?;
    let status = resp.status().as_u16();
    let reset = reset_header(resp.headers());
    let body = resp.text().await.map_err(transport)?;
    parse_response(status, reset.as_deref(), &body)
}

fn reset_header(headers: &HeaderMap) -> Option<String> {
    headers
        .get("x-ogw-ratelimit-reset")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}
