//! Tenant tokens (L2), tab listing (L3) and `values_append` (L4).

use std::collections::HashMap;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::webhook::{fault, lark_error};
use super::{Shared, State as FakeState, lock};

pub(super) async fn tenant_token(State(state): State<Shared>, body: Bytes) -> Response {
    *lock(&state).counts.entry("token").or_default() += 1;
    if let Some(r) = fault(&state).await {
        return r;
    }
    let Ok(req) = serde_json::from_slice::<Value>(&body) else {
        return lark_error(StatusCode::BAD_REQUEST, 10003, "invalid param");
    };
    let (Some(app_id), Some(secret)) = (req["app_id"].as_str(), req["app_secret"].as_str()) else {
        return lark_error(StatusCode::BAD_REQUEST, 10003, "invalid param");
    };
    let mut st = lock(&state);
    if st.apps.get(app_id).map(String::as_str) != Some(secret) {
        return lark_error(StatusCode::OK, 10014, "app secret invalid");
    }
    let now = st.clock.now();
    // Lark returns the same token while more than 30 minutes remain, else a new one.
    let current = st
        .tokens
        .iter()
        .rev()
        .find(|(app, _, exp)| app == app_id && *exp > now)
        .cloned();
    let (token, expires) = match current {
        Some((_, token, exp)) if exp - now > chrono::Duration::minutes(30) => (token, exp),
        _ => {
            let token = format!(
                "t-fake{:04}{}",
                st.tokens.len() + 1,
                app_id.trim_start_matches("cli_")
            );
            let exp = now + chrono::Duration::seconds(7200);
            st.tokens.push((app_id.to_owned(), token.clone(), exp));
            (token, exp)
        }
    };
    axum::Json(json!({"code": 0, "msg": "ok", "tenant_access_token": token, "expire": (expires - now).num_seconds()}))
        .into_response()
}

/// Checks the bearer token: missing 99991661, malformed 99991671, unknown/expired 99991663.
fn bearer(st: &FakeState, headers: &HeaderMap) -> Result<(), Box<Response>> {
    let Some(auth) = headers.get("authorization").and_then(|v| v.to_str().ok()) else {
        return Err(Box::new(lark_error(
            StatusCode::BAD_REQUEST,
            99991661,
            "Missing access token for authorization",
        )));
    };
    let token = auth.strip_prefix("Bearer ").unwrap_or_default();
    if !(token.starts_with("t-") || token.starts_with("u-")) {
        return Err(Box::new(lark_error(
            StatusCode::BAD_REQUEST,
            99991671,
            "Invalid access token for authorization",
        )));
    }
    let now = st.clock.now();
    if !st.tokens.iter().any(|(_, t, exp)| t == token && *exp > now) {
        return Err(Box::new(lark_error(
            StatusCode::BAD_REQUEST,
            99991663,
            "Invalid access token for authorization",
        )));
    }
    Ok(())
}

pub(super) async fn query(
    State(state): State<Shared>,
    Path(token): Path<String>,
    headers: HeaderMap,
) -> Response {
    let mut st = lock(&state);
    *st.counts.entry("sheets_query").or_default() += 1;
    if let Err(r) = bearer(&st, &headers) {
        return *r;
    }
    let Some(sheet) = st.spreadsheets.get(&token) else {
        return lark_error(StatusCode::OK, 1310214, "SpreadSheet Not Found");
    };
    let sheets: Vec<Value> = sheet
        .tabs
        .iter()
        .enumerate()
        .map(|(i, (id, (title, rows)))| {
            json!({"sheet_id": id, "title": title, "index": i, "hidden": false,
                   "grid_properties": {"row_count": rows.len().max(200), "column_count": 20}})
        })
        .collect();
    axum::Json(json!({"code": 0, "msg": "success", "data": {"sheets": sheets}})).into_response()
}

/// Parses `A1:J5` into (start row, end row, column count), refusing single cells.
fn parse_range(cells: &str) -> Option<(usize, usize, usize)> {
    let (start, end) = cells.split_once(':')?;
    let split = |c: &str| {
        let letters: String = c.chars().take_while(char::is_ascii_uppercase).collect();
        let row: usize = c[letters.len()..].parse().ok()?;
        let col = letters
            .bytes()
            .fold(0usize, |acc, b| acc * 26 + usize::from(b - b'A' + 1));
        (col > 0 && row > 0).then_some((col, row))
    };
    let ((c1, r1), (c2, r2)) = (split(start)?, split(end)?);
    (c2 >= c1 && r2 >= r1).then_some((r1, r2, c2 - c1 + 1))
}

pub(super) async fn values_append(
    State(state): State<Shared>,
    Path(token): Path<String>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    *lock(&state).counts.entry("values_append").or_default() += 1;
    if let Some(r) = fault(&state).await {
        return r;
    }
    {
        let st = lock(&state);
        if let Some(with_headers) = st.sheet_throttle {
            let mut resp = lark_error(
                StatusCode::TOO_MANY_REQUESTS,
                99991400,
                "request trigger frequency limit",
            );
            if with_headers {
                resp.headers_mut()
                    .insert("x-ogw-ratelimit-limit", HeaderValue::from_static("100"));
                resp.headers_mut()
                    .insert("x-ogw-ratelimit-reset", HeaderValue::from_static("1"));
            }
            return resp;
        }
        if let Err(r) = bearer(&st, &headers) {
            return *r;
        }
    }
    let Ok(req) = serde_json::from_slice::<Value>(&body) else {
        return lark_error(StatusCode::BAD_REQUEST, 90204, "WrongRequestBody");
    };
    let range = req["valueRange"]["range"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let Some(values) = req["valueRange"]["values"].as_array().cloned() else {
        return lark_error(StatusCode::BAD_REQUEST, 90201, "WrongRequestJson");
    };
    let insert_rows = params.get("insertDataOption").map(String::as_str) == Some("INSERT_ROWS");
    {
        let mut st = lock(&state);
        let Some(sheet) = st.spreadsheets.get_mut(&token) else {
            return lark_error(StatusCode::OK, 90214, "SpreadSheetNotFound");
        };
        if !sheet.app_added {
            return lark_error(StatusCode::FORBIDDEN, 91403, "FORBIDDEN");
        }
        let Some((sheet_id, cells)) = range.split_once('!') else {
            return lark_error(StatusCode::OK, 90202, &format!("wrong range={range}"));
        };
        if !sheet.tabs.contains_key(sheet_id) {
            return lark_error(StatusCode::OK, 90215, "sheetId not found");
        }
        let Some((r1, r2, cols)) = parse_range(cells) else {
            return lark_error(StatusCode::OK, 90202, &format!("wrong range={range}"));
        };
        if values.len() > 5000
            || values
                .iter()
                .any(|r| r.as_array().is_none_or(|r| r.len() > 100))
        {
            return lark_error(StatusCode::OK, 90227, "TooLargeRequest");
        }
        let ragged = values
            .iter()
            .filter_map(Value::as_array)
            .any(|r| r.len() != cols);
        if values.len() > r2 - r1 + 1
            || ragged
            || values
                .iter()
                .flat_map(|r| r.as_array().into_iter().flatten())
                .any(|c| c.is_array() || c.is_object())
        {
            return lark_error(StatusCode::OK, 90202, &format!("wrong range={range}"));
        }
        sheet.in_flight += 1;
        if sheet.in_flight > 1 {
            st.concurrent_writes_seen = true;
        }
    }
    // Writes take a moment, so overlapping writers are visible to the fake.
    tokio::time::sleep(Duration::from_millis(5)).await;
    let mut st = lock(&state);
    let Some(sheet) = st.spreadsheets.get_mut(&token) else {
        return lark_error(StatusCode::OK, 90214, "SpreadSheetNotFound");
    };
    sheet.in_flight -= 1;
    let (sheet_id, _) = range.split_once('!').unwrap_or_default();
    let rows: Vec<Vec<Value>> = values
        .iter()
        .filter_map(|r| r.as_array().cloned())
        .collect();
    let n = rows.len();
    let Some((_, tab)) = sheet.tabs.get_mut(sheet_id) else {
        return lark_error(StatusCode::OK, 90215, "sheetId not found");
    };
    let first = if insert_rows {
        tab.len()
    } else {
        // OVERWRITE (the default) writes from the first blank row and overwrites below it.
        tab.iter()
            .position(|r| r.iter().all(|c| c.is_null() || c == ""))
            .unwrap_or(tab.len())
    };
    for (i, row) in rows.into_iter().enumerate() {
        if first + i < tab.len() {
            tab[first + i] = row;
        } else {
            tab.push(row);
        }
    }
    sheet.revision += 1;
    let updated = format!("{sheet_id}!A{}:J{}", first + 1, first + n);
    let revision = sheet.revision;
    axum::Json(json!({"code": 0, "msg": "success", "data": {
        "revision": revision, "spreadsheetToken": token, "tableRange": updated,
        "updates": {"revision": revision, "spreadsheetToken": token, "updatedCells": n * 10,
                    "updatedColumns": 10, "updatedRange": updated, "updatedRows": n}}}))
    .into_response()
}
