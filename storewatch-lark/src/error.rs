//! Lark's answers mapped into storewatch errors, in one place.
//!
//! Lark reports most failures in the JSON body, often under HTTP 200, so the body is
//! parsed whatever the status: success iff `code == 0` (or, in the legacy form without
//! `code`, `StatusCode == 0`).

use std::time::Duration;

use serde_json::Value;
use storewatch_core::{Error, ErrorKind, Result};

/// Parses a webhook (or API) answer: `Ok` with the body on success, else the mapped error.
pub(crate) fn parse_response(status: u16, retry_reset: Option<&str>, body: &str) -> Result<Value> {
    let Ok(json) = serde_json::from_str::<Value>(body) else {
        let kind = if status == 429 {
            rate_limited(retry_reset)
        } else {
            ErrorKind::Unavailable
        };
        return Err(Error::new(
            kind,
            format!("Lark answered HTTP {status} with a body that is not JSON"),
        ));
    };
    let code = json
        .get("code")
        .and_then(Value::as_i64)
        .or_else(|| json.get("StatusCode").and_then(Value::as_i64));
    let msg = json
        .get("msg")
        .or_else(|| json.get("StatusMessage"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    match code {
        Some(0) => Ok(json),
        Some(code) => Err(code_error(status, code, &msg, retry_reset)),
        None if status >= 500 => Err(Error::new(
            ErrorKind::Unavailable,
            format!("Lark answered HTTP {status}"),
        )),
        None => Err(Error::new(
            ErrorKind::Unavailable,
            format!("Lark answered HTTP {status} without a code"),
        )),
    }
}

fn rate_limited(reset: Option<&str>) -> ErrorKind {
    let retry_after = reset
        .and_then(|s| s.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    ErrorKind::RateLimited { retry_after }
}

/// The error for a non-zero Lark `code`.
fn code_error(status: u16, code: i64, msg: &str, reset: Option<&str>) -> Error {
    use ErrorKind::*;
    let (kind, what) = match code {
        9499 if msg.to_ascii_lowercase().contains("too many") => {
            (rate_limited(reset), "rate limited")
        }
        11232 | 90217 | 99991400 => (rate_limited(reset), "rate limited"),
        9499 => (
            InvalidInput,
            "the message body was refused (malformed, unknown type or too large)",
        ),
        19001 => (
            Config,
            "the webhook token is invalid or was deleted: check webhook_url",
        ),
        19002 | 99991300 => (InvalidInput, "the message format was refused"),
        19021 => (
            Unauthenticated,
            "the signature was refused: check the channel's secret and this machine's clock",
        ),
        19022 => (
            PermissionDenied,
            "this machine's IP is not in the bot's allow-list",
        ),
        19024 => (
            Config,
            "a keyword the bot requires is missing: set the channel's keyword",
        ),
        19036 | 230025 => (InvalidInput, "the message exceeds Lark's size limit"),
        11246 => (
            InvalidInput,
            "a card mention is not a valid open_id or user_id",
        ),
        10003 | 10014 => (Unauthenticated, "the app id or app secret was refused"),
        99991663 => (
            Unauthenticated,
            "the tenant access token is invalid or expired",
        ),
        99991661 | 99991671 => (
            Unauthenticated,
            "the tenant access token is missing or malformed",
        ),
        99991672 => (
            PermissionDenied,
            "the app lacks a scope: grant sheets:spreadsheet",
        ),
        99991401 => (
            PermissionDenied,
            "this machine's IP is denied by the app's allow-list",
        ),
        99991403 => (PermissionDenied, "the app's monthly API quota is exhausted"),
        90213 | 91403 | 1310213 => (
            PermissionDenied,
            "the app cannot write the spreadsheet: add the app to the document",
        ),
        90214 | 91402 | 1310214 => (
            NotFound,
            "the spreadsheet was not found: use the token from the sheet URL, not a wiki node token",
        ),
        90206 | 90211 | 90215 => (
            Config,
            "the sheet id was not found: use the tab's id (?sheet=…), not its title",
        ),
        90218 => (PermissionDenied, "the range is protected"),
        90201 | 90202 | 90204 => (
            InvalidInput,
            "the append request was refused (range or values)",
        ),
        90219 | 90226 | 90222 | 90227 => (
            InvalidInput,
            "the sheet or request is too large: rotate the sheet or split the write",
        ),
        _ if status >= 500 => (Unavailable, "Lark failed"),
        _ => (InvalidInput, "Lark refused the request"),
    };
    Error::new(kind, format!("{what} (Lark code {code}: {msg})"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> String {
        let path = format!(
            "{}/../../shared/fixtures/real/lark/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("real Lark sample {path} missing: {e}"))
    }

    #[test]
    fn real_error_bodies_map_to_kinds() {
        let cases = [
            (
                "feishu_doc_custom_bot_error_19021_sign.json",
                ErrorKind::Unauthenticated,
                "secret",
            ),
            (
                "observed_prometheusalert_issue422_error_19021_sign.json",
                ErrorKind::Unauthenticated,
                "secret",
            ),
            (
                "feishu_doc_custom_bot_error_19022_ip.json",
                ErrorKind::PermissionDenied,
                "allow-list",
            ),
            (
                "feishu_doc_custom_bot_error_19024_keywords.json",
                ErrorKind::Config,
                "keyword",
            ),
            (
                "observed_glados_checkin_issue6_error_19024_keywords.json",
                ErrorKind::Config,
                "keyword",
            ),
            (
                "feishu_doc_custom_bot_error_9499_bad_request.json",
                ErrorKind::InvalidInput,
                "refused",
            ),
        ];
        for (file, kind, says) in cases {
            let err = parse_response(200, None, &fixture(file)).unwrap_err();
            assert_eq!(err.kind(), kind, "{file}: {err}");
            assert!(err.message().contains(says), "{file}: {err}");
        }
        assert!(parse_response(200, None, &fixture("feishu_doc_custom_bot_success.json")).is_ok());
        assert!(
            parse_response(
                200,
                None,
                &fixture("feishu_doc_sheets_values_append_response.json")
            )
            .is_ok()
        );
    }

    #[test]
    fn success_forms_and_transients() {
        assert!(
            parse_response(
                200,
                None,
                r#"{"Extra":null,"StatusCode":0,"StatusMessage":"success"}"#
            )
            .is_ok()
        );
        assert!(
            parse_response(
                200,
                None,
                r#"{"StatusCode":0,"StatusMessage":"success","code":0,"data":{},"msg":"success"}"#
            )
            .is_ok()
        );
        let too_many = parse_response(
            400,
            None,
            r#"{"code":9499,"msg":"too many request","data":{}}"#,
        )
        .unwrap_err();
        assert!(too_many.is_retryable());
        let throttled = parse_response(
            429,
            Some("3"),
            r#"{"code":99991400,"msg":"request trigger frequency limit"}"#,
        )
        .unwrap_err();
        assert_eq!(throttled.retry_after(), Some(Duration::from_secs(3)));
        assert_eq!(
            parse_response(502, None, "<html>bad gateway</html>")
                .unwrap_err()
                .kind(),
            ErrorKind::Unavailable
        );
        assert_eq!(
            parse_response(200, None, "not json").unwrap_err().kind(),
            ErrorKind::Unavailable
        );
        assert!(
            parse_response(200, None, r#"{"code":11232,"msg":"frequency limited psm"}"#)
                .unwrap_err()
                .is_retryable()
        );
    }
}
