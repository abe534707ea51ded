//! The custom-bot webhook (L1): token, size, JSON, signature, shape, mentions,
//! keywords and rate checks in Lark's order, each failing with Lark's code.

use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::{Fault, RateLimitMode, ReceivedMessage, Shared, lock};
use crate::sign::sign;

pub(super) fn lark_error(status: StatusCode, code: i64, msg: &str) -> Response {
    (
        status,
        axum::Json(json!({"code": code, "msg": msg, "data": {}})),
    )
        .into_response()
}

/// Applies a queued fault, if any: `Some(response)` answers instead of the endpoint.
pub(super) async fn fault(state: &Shared) -> Option<Response> {
    let next = lock(state).faults.pop_front();
    match next? {
        Fault::ServerError => {
            Some((StatusCode::INTERNAL_SERVER_ERROR, "upstream failure").into_response())
        }
        Fault::NonJson200 => Some((StatusCode::OK, "<html>maintenance</html>").into_response()),
        Fault::Stall(d) => {
            tokio::time::sleep(d).await;
            None
        }
        Fault::ConnectionReset => Some(reset_response()),
    }
}

/// A response whose body fails, which makes hyper drop the connection mid-response.
fn reset_response() -> Response {
    let failing = futures::stream::once(async {
        Err::<Bytes, std::io::Error>(std::io::Error::other("connection reset by fake"))
    });
    Response::builder()
        .status(StatusCode::OK)
        .header("content-type", "application/json")
        .body(axum::body::Body::from_stream(failing))
        .unwrap_or_default()
}

/// Collects the text-like values (`text`, `title`, `content`) a person reads; never `href`/`url`.
pub(super) fn text_values(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            for (k, v) in map {
                match (k.as_str(), v) {
                    ("text" | "title" | "content", Value::String(s)) => out.push(s.clone()),
                    (
                        "href" | "url" | "sign" | "timestamp" | "msg_type" | "tag" | "template",
                        _,
                    ) => {}
                    (_, v) => text_values(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|i| text_values(i, out)),
        _ => {}
    }
}

fn shape_ok(body: &Value) -> bool {
    match body["msg_type"].as_str() {
        Some("text") => body["content"]["text"].is_string(),
        Some("post") => body["content"]["post"].as_object().is_some_and(|locales| {
            !locales.is_empty() && locales.values().all(|l| l["content"].is_array())
        }),
        Some("interactive") => {
            let card = &body["card"];
            card.is_object()
                && (card["schema"] != "2.0"
                    || card.as_object().is_some_and(|c| {
                        c.keys().all(|k| {
                            ["schema", "config", "header", "body", "card_link"]
                                .contains(&k.as_str())
                        })
                    }))
        }
        Some("image" | "share_chat") => body["content"].is_object(),
        _ => false,
    }
}

/// Card mentions must be open_ids (`ou_…`) or `all`; anything else is 11246.
fn bad_mention(body: &Value) -> bool {
    let card = body["card"].to_string();
    card.split("<at id=").skip(1).any(|rest| {
        let id: String = rest
            .chars()
            .take_while(|c| *c != '>' && *c != ' ')
            .collect();
        !(id == "all" || (id.starts_with("ou_") && id.len() > 3))
    })
}

fn signature_ok(body: &Value, secret: &str, accept_int: bool, now: i64) -> bool {
    let ts = match &body["timestamp"] {
        Value::String(s) => s.parse::<i64>().ok(),
        Value::Number(n) if accept_int => n.as_i64(),
        _ => None,
    };
    let Some(ts) = ts else { return false };
    (now - ts).abs() <= 3600 && body["sign"].as_str() == Some(sign(ts, secret).as_str())
}

/// How long after the last :00 or :30 of the hour `now` is.
fn since_half_hour(now: chrono::DateTime<chrono::Utc>) -> Duration {
    use chrono::Timelike;
    let secs = u64::from(now.minute() % 30) * 60 + u64::from(now.second());
    Duration::from_secs(secs) + Duration::from_nanos(u64::from(now.nanosecond() % 1_000_000_000))
}

/// Whether one more send fits 5/s and 100/min; records it when it does.
fn within_rate(sends: &mut std::collections::VecDeque<tokio::time::Instant>) -> bool {
    let now = tokio::time::Instant::now();
    while sends
        .front()
        .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(60))
    {
        sends.pop_front();
    }
    let last_second = sends
        .iter()
        .filter(|t| now.duration_since(**t) < Duration::from_secs(1))
        .count();
    if sends.len() >= 100 || last_second >= 5 {
        return false;
    }
    sends.push_back(now);
    true
}

pub(super) async fn hook(
    State(state): State<Shared>,
    Path(token): Path<String>,
    body: Bytes,
) -> Response {
    *lock(&state).counts.entry("webhook").or_default() += 1;
    if let Some(r) = fault(&state).await {
        return r;
    }
    let mut st = lock(&state);
    let Some(options) = st.webhooks.get(&token).cloned() else {
        return lark_error(
            StatusCode::OK,
            19001,
            "param invalid: incoming webhook access token invalid",
        );
    };
    if body.len() > st.max_body_bytes {
        return lark_error(
            StatusCode::OK,
            19036,
            "The message exceeds the size limit of 30KB",
        );
    }
    let Ok(json) = serde_json::from_slice::<Value>(&body) else {
        return lark_error(StatusCode::OK, 9499, "Bad Request");
    };
    if let Some(secret) = &options.secret
        && !signature_ok(
            &json,
            secret,
            options.accept_integer_timestamp,
            st.clock.now().timestamp(),
        )
    {
        return lark_error(
            StatusCode::OK,
            19021,
            "sign match fail or timestamp is not within one hour from current time",
        );
    }
    if options.ip_denied {
        return lark_error(StatusCode::OK, 19022, "Ip Not Allowed");
    }
    if !shape_ok(&json) {
        return lark_error(StatusCode::OK, 9499, "Bad Request");
    }
    if json["msg_type"] == "interactive" && bad_mention(&json) {
        return lark_error(
            StatusCode::OK,
            11246,
            "ErrCode: 100290; ErrMsg: there is an invalid user resource (at/person) in your card; ErrorValue: at",
        );
    }
    if !options.keywords.is_empty() {
        let mut texts = Vec::new();
        text_values(&json, &mut texts);
        if !options
            .keywords
            .iter()
            .any(|k| texts.iter().any(|t| t.contains(k.as_str())))
        {
            return lark_error(StatusCode::OK, 19024, "Key Words Not Found");
        }
    }
    let at_peak = st
        .peak_throttle
        .is_some_and(|window| since_half_hour(st.clock.now()) < window);
    if at_peak || !within_rate(st.sends.entry(token.clone()).or_default()) {
        st.refused_by_limiter += 1;
        return match st.rate_mode {
            RateLimitMode::Code11232 => lark_error(
                StatusCode::OK,
                11232,
                "frequency limited psm[lark.oapi.app_platform_runtime]appID[1500]",
            ),
            RateLimitMode::Http400TooMany => {
                lark_error(StatusCode::BAD_REQUEST, 9499, "too many request")
            }
        };
    }
    st.received.push(ReceivedMessage { token, body: json });
    if st.legacy_success {
        axum::Json(json!({"Extra": null, "StatusCode": 0, "StatusMessage": "success"}))
            .into_response()
    } else {
        axum::Json(json!({"StatusCode": 0, "StatusMessage": "success", "code": 0, "data": {}, "msg": "success"})).into_response()
    }
}
