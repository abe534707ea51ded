//! The fake's HTTP handlers: API endpoints, the S3 listener, and the gate every API
//! request passes (faults, burst limit, token verification, agreement switch, budget).

use std::collections::HashMap;
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{Datelike, NaiveDate, TimeZone, Weekday};
use chrono_tz::America::Los_Angeles;
use md5::{Digest, Md5};
use serde_json::{Value, json};

use super::keys::{Caller, verify};
use super::{DayState, Endpoint, FakeState, Fault, SalesBody, SegmentFault};
use crate::analytics::{CRASHES_REPORT, SESSIONS_REPORT};

type Shared = Arc<FakeState>;

const NOT_AUTHORIZED: &str = r#"{"errors":[{"status":"401","code":"NOT_AUTHORIZED","title":"Authentication credentials are missing or invalid.","detail":"Provide a properly configured and signed bearer token, and make sure that it has not expired. Learn more about Generating Tokens for API Requests https://developer.apple.com/go/?id=api-generating-tokens"}]}"#;

pub(crate) async fn serve_api(listener: tokio::net::TcpListener, state: Shared) {
    let app = Router::new()
        .route("/v1/apps", get(apps))
        .route("/v1/salesReports", get(sales))
        .route(
            "/v1/apps/{id}/analyticsReportRequests",
            get(report_requests),
        )
        .route(
            "/v1/analyticsReportRequests",
            axum::routing::post(create_request),
        )
        .route("/v1/analyticsReportRequests/{id}/reports", get(reports))
        .route("/v1/analyticsReports/{id}/instances", get(instances))
        .route("/v1/analyticsReportInstances/{id}/segments", get(segments))
        .fallback(|| async {
            api_error(
                StatusCode::NOT_FOUND,
                "PATH_ERROR",
                "The URL path is not valid",
                "The resource could not be found.",
                None,
            )
        })
        .with_state(state);
    // Serving ends when the owning fake aborts the task.
    let _ = axum::serve(listener, app).await;
}

pub(crate) async fn serve_s3(listener: tokio::net::TcpListener, state: Shared) {
    let app = Router::new()
        .route("/reports/{instance}/{file}", get(download))
        .with_state(state);
    let _ = axum::serve(listener, app).await;
}

fn api_error(
    status: StatusCode,
    code: &str,
    title: &str,
    detail: &str,
    parameter: Option<&str>,
) -> Response {
    let mut error = json!({
        "id": uuid::Uuid::new_v4().to_string(),
        "status": status.as_u16().to_string(),
        "code": code,
        "title": title,
        "detail": detail,
    });
    if let Some(p) = parameter {
        error["source"] = json!({ "parameter": p });
    }
    json_response(status, &json!({ "errors": [error] }))
}

fn json_response(status: StatusCode, body: &Value) -> Response {
    (
        status,
        [("content-type", "application/json")],
        body.to_string(),
    )
        .into_response()
}

fn parse_query(raw: Option<String>) -> HashMap<String, String> {
    // `url` decodes `%5B…%5D` and leaves raw brackets as they are: both forms work.
    url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
        .into_owned()
        .collect()
}

/// Decrements the in-flight count when a request ends.
struct InFlight(Shared);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// What passed the gate: the caller, the remaining budget, the in-flight guard.
struct Admitted {
    caller: Caller,
    remaining: u32,
    limit: u32,
    _guard: InFlight,
}

impl Admitted {
    fn finish(&self, mut response: Response) -> Response {
        let value = format!(
            "user-hour-lim:{};user-hour-rem:{};",
            self.limit, self.remaining
        );
        if let Ok(v) = HeaderValue::from_str(&value) {
            response.headers_mut().insert("x-rate-limit", v);
        }
        response
    }
}

/// A 429; `remaining` is what the budget still holds (a burst 429 leaves it high).
fn rate_limited(limit: u32, remaining: u32, retry_after: Option<u64>) -> Response {
    let mut response = api_error(
        StatusCode::TOO_MANY_REQUESTS,
        "RATE_LIMIT_EXCEEDED",
        "The request rate limit has been reached.",
        "We've received too many requests for this API. Please wait and try again or slow down your request rate.",
        None,
    );
    if let Ok(v) =
        HeaderValue::from_str(&format!("user-hour-lim:{limit};user-hour-rem:{remaining};"))
    {
        response.headers_mut().insert("x-rate-limit", v);
    }
    if let Some(secs) = retry_after
        && let Ok(v) = HeaderValue::from_str(&secs.to_string())
    {
        response.headers_mut().insert("retry-after", v);
    }
    response
}

fn reset_response() -> Response {
    // A body that fails makes hyper drop the connection mid-response.
    let stream = futures::stream::once(async {
        Err::<Bytes, std::io::Error>(std::io::Error::other("connection reset by fake"))
    });
    Response::builder()
        .status(StatusCode::OK)
        .header("content-type", "application/json")
        .body(Body::from_stream(stream))
        .unwrap_or_default()
}

async fn gate(
    state: &Shared,
    endpoint: Endpoint,
    headers: &HeaderMap,
) -> Result<Admitted, Response> {
    state.in_flight.fetch_add(1, Ordering::SeqCst);
    let guard = InFlight(state.clone());
    let fault = {
        let mut knobs = state.knobs();
        *knobs.counters.entry(endpoint).or_default() += 1;
        let position = knobs
            .faults
            .iter()
            .position(|(e, _)| e.is_none_or(|e| e == endpoint));
        position
            .and_then(|i| knobs.faults.remove(i))
            .map(|(_, f)| f)
    };
    match fault {
        Some(Fault::ServerError) => {
            return Err(api_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "UNEXPECTED_ERROR",
                "An unexpected error occurred.",
                "An unexpected error occurred on the server side. If this issue continues, contact us at https://developer.apple.com/contact/.",
                None,
            ));
        }
        Some(Fault::BadGateway) => {
            return Err((
                StatusCode::BAD_GATEWAY,
                [("content-type", "text/html")],
                "<html><body><h1>502 Bad Gateway</h1></body></html>",
            )
                .into_response());
        }
        Some(Fault::Unavailable) => {
            return Err((
                StatusCode::SERVICE_UNAVAILABLE,
                [("content-type", "text/plain")],
                "Service Unavailable",
            )
                .into_response());
        }
        Some(Fault::RateLimited) => {
            let knobs = state.knobs();
            return Err(rate_limited(
                knobs.rate_limit,
                knobs.remaining(),
                knobs.retry_after_secs,
            ));
        }
        Some(Fault::ConnectionReset) => return Err(reset_response()),
        Some(Fault::Stall(d)) => tokio::time::sleep(d).await,
        Some(Fault::Unauthorized) => {
            return Err(json_response(
                StatusCode::UNAUTHORIZED,
                &serde_json::from_str(NOT_AUTHORIZED).unwrap_or_default(),
            ));
        }
        None => {}
    }
    let authorization = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let mut knobs = state.knobs();
    if let Some(token) = authorization
        .as_deref()
        .and_then(|a| a.strip_prefix("Bearer "))
    {
        knobs.tokens_seen.push(token.to_owned());
    }
    if let Some(limit) = knobs.burst_limit
        && state.in_flight.load(Ordering::SeqCst) > limit
    {
        knobs.rate_limited += 1;
        return Err(rate_limited(
            knobs.rate_limit,
            knobs.remaining(),
            knobs.retry_after_secs,
        ));
    }
    let (caller, claims) = match verify(
        authorization.as_deref(),
        &knobs.keys,
        state.clock.now(),
        knobs.iat_skew_secs,
    ) {
        Ok(ok) => ok,
        Err(refused) if refused.status == 403 => {
            return Err(api_error(
                StatusCode::FORBIDDEN,
                "FORBIDDEN_ERROR",
                "This request is forbidden for security reasons",
                "The API key in use does not allow this request",
                None,
            ));
        }
        Err(refused) => {
            tracing::debug!(reason = refused.reason, "fake refused a token");
            return Err(json_response(
                StatusCode::UNAUTHORIZED,
                &serde_json::from_str(NOT_AUTHORIZED).unwrap_or_default(),
            ));
        }
    };
    knobs.claims_seen.push(claims);
    if knobs.agreement_missing {
        return Err(api_error(
            StatusCode::FORBIDDEN,
            "FORBIDDEN.REQUIRED_AGREEMENTS_MISSING_OR_EXPIRED",
            "A required agreement is missing or has expired.",
            "This request requires an in-effect agreement that has not been signed or has expired.",
            None,
        ));
    }
    let now = tokio::time::Instant::now();
    let window = knobs.rate_window;
    let limit = knobs.rate_limit;
    let log = knobs.rate_log.entry(caller.key_id.clone()).or_default();
    while log.front().is_some_and(|t| now >= *t + window) {
        log.pop_front();
    }
    if log.len() >= limit as usize {
        let retry_after = knobs.retry_after_secs;
        knobs.rate_limited += 1;
        return Err(rate_limited(limit, 0, retry_after));
    }
    log.push_back(now);
    let remaining = limit.saturating_sub(log.len() as u32);
    Ok(Admitted {
        caller,
        remaining,
        limit,
        _guard: guard,
    })
}

/// Pages `items` with `limit` (≤ 200) and an opaque `cursor`, adding `links` and `meta`.
fn paged(
    state: &Shared,
    path: &str,
    query: &HashMap<String, String>,
    items: Vec<Value>,
) -> Response {
    let limit = match query.get("limit").map(|l| l.parse::<usize>()) {
        None => 50,
        Some(Ok(l)) if (1..=200).contains(&l) => l,
        Some(_) => {
            return api_error(
                StatusCode::BAD_REQUEST,
                "PARAMETER_ERROR.INVALID",
                "A parameter has an invalid value",
                "'limit' must be between 1 and 200",
                Some("limit"),
            );
        }
    };
    let limit = limit.min(state.knobs().page_size_cap);
    let offset = query
        .get("cursor")
        .and_then(|c| c.strip_prefix("QV"))
        .and_then(|c| usize::from_str_radix(c, 16).ok())
        .unwrap_or(0);
    let total = items.len();
    let page: Vec<Value> = items.into_iter().skip(offset).take(limit).collect();
    let Ok(mut self_url) = url::Url::parse(&format!("{}{path}", state.base_url)) else {
        return (StatusCode::INTERNAL_SERVER_ERROR, "bad fake base URL").into_response();
    };
    let pairs: Vec<(&String, &String)> = query.iter().filter(|(k, _)| *k != "cursor").collect();
    if !pairs.is_empty() {
        self_url
            .query_pairs_mut()
            .extend_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    }
    let mut links = json!({ "self": self_url.as_str() });
    if offset + limit < total {
        let mut next = self_url.clone();
        next.query_pairs_mut()
            .append_pair("cursor", &format!("QV{:x}", offset + limit));
        links["next"] = json!(next.as_str());
    }
    json_response(
        StatusCode::OK,
        &json!({ "data": page, "links": links, "meta": { "paging": { "total": total, "limit": limit } } }),
    )
}

fn comma_list(query: &HashMap<String, String>, key: &str) -> Option<Vec<String>> {
    query
        .get(key)
        .map(|v| v.split(',').map(|s| s.trim().to_owned()).collect())
}

async fn apps(
    State(state): State<Shared>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let admitted = match gate(&state, Endpoint::Apps, &headers).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let query = parse_query(raw);
    // The account also holds each app's `.development` twin, a near match of its bundle id.
    let mut all: Vec<(String, String, String, String)> = Vec::new();
    for app in &state.catalogue.apps {
        all.push((
            app.apple_id.clone(),
            app.bundle_id.clone(),
            app.sku.clone(),
            app.name.clone(),
        ));
        all.push((
            format!("{}9", &app.apple_id[..app.apple_id.len() - 1]),
            format!("{}.development", app.bundle_id),
            format!("{}DEV", app.sku),
            format!("{} (Dev)", app.name),
        ));
    }
    let bundle = comma_list(&query, "filter[bundleId]");
    let ids = comma_list(&query, "filter[id]");
    let skus = comma_list(&query, "filter[sku]");
    let mut items: Vec<&(String, String, String, String)> = all
        .iter()
        .filter(|(id, b, sku, _)| {
            bundle
                .as_ref()
                .is_none_or(|l| l.iter().any(|f| b.starts_with(f.as_str())))
                && ids.as_ref().is_none_or(|l| l.contains(id))
                && skus.as_ref().is_none_or(|l| l.contains(sku))
        })
        .collect();
    items.sort_by(|a, b| a.1.cmp(&b.1));
    let items = items
        .into_iter()
        .map(|(id, b, sku, name)| {
            json!({"type": "apps", "id": id,
                "attributes": {"name": name, "bundleId": b, "sku": sku, "primaryLocale": "en-US"},
                "links": {"self": format!("{}/v1/apps/{id}", state.base_url)}})
        })
        .collect();
    admitted.finish(paged(&state, "/v1/apps", &query, items))
}

/// When `date`'s report becomes ready: `ready_hour` Pacific time the next day.
fn ready_at(date: NaiveDate, ready_hour: u32) -> chrono::DateTime<chrono::Utc> {
    let next = date.succ_opt().unwrap_or(date);
    Los_Angeles
        .from_local_datetime(
            &next
                .and_hms_opt(ready_hour.min(23), 0, 0)
                .unwrap_or_default(),
        )
        .earliest()
        .map(|t| t.with_timezone(&chrono::Utc))
        .unwrap_or_default()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let _ = e.write_all(bytes);
    e.finish().unwrap_or_default()
}

fn no_sales() -> Response {
    api_error(
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
        "The specified resource does not exist",
        "There were no sales for the date specified.",
        None,
    )
}

fn not_yet() -> Response {
    api_error(
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
        "The specified resource does not exist",
        "Report is not available yet. Daily reports for the Americas are available by 5 am Pacific Time; Japan, Australia, and New Zealand by 5 am Japan Standard Time; and 5 am Central European Time for all other territories.",
        None,
    )
}

fn invalid(parameter: &str, detail: &str) -> Response {
    api_error(
        StatusCode::BAD_REQUEST,
        "PARAMETER_ERROR.INVALID",
        "A parameter has an invalid value",
        detail,
        Some(parameter),
    )
}

async fn sales(
    State(state): State<Shared>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let admitted = match gate(&state, Endpoint::SalesReports, &headers).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let response = sales_inner(&state, &admitted, &headers, parse_query(raw));
    admitted.finish(response)
}

fn sales_inner(
    state: &Shared,
    admitted: &Admitted,
    headers: &HeaderMap,
    query: HashMap<String, String>,
) -> Response {
    if admitted.caller.individual {
        return api_error(
            StatusCode::FORBIDDEN,
            "FORBIDDEN_ERROR",
            "This request is forbidden for security reasons",
            "The API key in use does not allow this request",
            None,
        );
    }
    if let Some(accept) = headers.get("accept").and_then(|v| v.to_str().ok())
        && !["application/a-gzip", "*/*", "application/json"]
            .iter()
            .any(|a| accept.contains(a))
    {
        return (
            StatusCode::NOT_ACCEPTABLE,
            [("content-type", "text/plain")],
            "Not Acceptable",
        )
            .into_response();
    }
    for required in [
        "filter[frequency]",
        "filter[reportType]",
        "filter[reportSubType]",
        "filter[vendorNumber]",
    ] {
        if !query.contains_key(required) {
            return api_error(
                StatusCode::BAD_REQUEST,
                "PARAMETER_ERROR.REQUIRED",
                "A required parameter is missing.",
                &format!("The parameter '{required}' is required."),
                Some(required),
            );
        }
    }
    let frequency = query["filter[frequency]"].as_str();
    let report_type = query["filter[reportType]"].as_str();
    let sub_type = query["filter[reportSubType]"].as_str();
    if !["DAILY", "WEEKLY", "MONTHLY", "YEARLY"].contains(&frequency) {
        return invalid(
            "filter[frequency]",
            "The frequency you have specified is invalid.",
        );
    }
    let types = [
        "SALES",
        "PRE_ORDER",
        "NEWSSTAND",
        "SUBSCRIPTION",
        "SUBSCRIPTION_EVENT",
        "SUBSCRIBER",
        "SUBSCRIPTION_OFFER_CODE_REDEMPTION",
        "INSTALLS",
        "FIRST_ANNUAL",
        "WIN_BACK_ELIGIBILITY",
    ];
    if !types.contains(&report_type) {
        return invalid(
            "filter[reportType]",
            "The report type you have specified is invalid.",
        );
    }
    let sub_types = [
        "SUMMARY",
        "DETAILED",
        "SUMMARY_INSTALL_TYPE",
        "SUMMARY_TERRITORY",
        "SUMMARY_CHANNEL",
    ];
    if !sub_types.contains(&sub_type) {
        return invalid(
            "filter[reportSubType]",
            "The report sub type you have specified is invalid.",
        );
    }
    if query["filter[vendorNumber]"] != state.vendor_number {
        return invalid(
            "filter[vendorNumber]",
            "The vendor number you have specified is invalid.",
        );
    }
    let (current, ready_hour, state_override, body_override, variant) = {
        let knobs = state.knobs();
        (
            knobs
                .versions
                .get(report_type)
                .cloned()
                .unwrap_or_else(|| "1_0".to_owned()),
            knobs.ready_hour_pt,
            knobs.day_states.clone(),
            knobs.day_bodies.clone(),
            knobs.header_variant,
        )
    };
    let version = query
        .get("filter[version]")
        .cloned()
        .unwrap_or_else(|| current.clone());
    if version != current {
        return invalid(
            "filter[version]",
            &format!(
                "The version parameter you have specified is invalid. The latest version for this report is {current}."
            ),
        );
    }
    let now = state.clock.now();
    let date = match query.get("filter[reportDate]") {
        Some(d) => {
            let parsed = match frequency {
                "DAILY" | "WEEKLY" => NaiveDate::parse_from_str(d, "%Y-%m-%d").ok(),
                "MONTHLY" => NaiveDate::parse_from_str(&format!("{d}-01"), "%Y-%m-%d").ok(),
                _ => NaiveDate::parse_from_str(&format!("{d}-01-01"), "%Y-%m-%d").ok(),
            };
            let Some(parsed) = parsed else {
                return invalid(
                    "filter[reportDate]",
                    "The date you have specified is invalid for the frequency.",
                );
            };
            if frequency == "WEEKLY" && parsed.weekday() != Weekday::Sun {
                return invalid(
                    "filter[reportDate]",
                    "Weekly reports are only available for dates that are a Sunday.",
                );
            }
            parsed
        }
        None if report_type == "SALES" && frequency == "DAILY" => {
            // The latest ready day.
            let mut day = state.catalogue.last_day();
            while day >= state.catalogue.start && ready_at(day, ready_hour) > now {
                day = day.pred_opt().unwrap_or(day);
                if day == state.catalogue.start {
                    break;
                }
            }
            day
        }
        None => return no_sales(),
    };
    if report_type != "SALES" || sub_type != "SUMMARY" || frequency != "DAILY" {
        return no_sales();
    }
    let day_state = state_override.get(&date).copied().unwrap_or_else(|| {
        if ready_at(date, ready_hour) > now {
            DayState::NotYetAvailable
        } else if state.catalogue.has_day(date) {
            DayState::Ready
        } else {
            DayState::NoSales
        }
    });
    match day_state {
        DayState::Ready => {}
        DayState::NoSales => return no_sales(),
        DayState::NotYetAvailable => return not_yet(),
        DayState::Forbidden => {
            return api_error(
                StatusCode::FORBIDDEN,
                "FORBIDDEN_ERROR",
                "This request is forbidden for security reasons",
                "The API key in use does not allow this request",
                None,
            );
        }
        DayState::ServerError => {
            return api_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "UNEXPECTED_ERROR",
                "An unexpected error occurred.",
                "An unexpected error occurred on the server side. If this issue continues, contact us at https://developer.apple.com/contact/.",
                None,
            );
        }
    }
    let rows = state.catalogue.sales_rows(date);
    let tsv = state.catalogue.render_tsv(date, &rows, variant);
    let body: Vec<u8> = match body_override.get(&date) {
        None => gzip(tsv.as_bytes()),
        Some(SalesBody::ShortRow) => {
            let mut lines: Vec<&str> = tsv.lines().collect();
            let short = lines
                .get(1)
                .map(|l| l.split('\t').take(5).collect::<Vec<_>>().join("\t"))
                .unwrap_or_default();
            if lines.len() > 1 {
                lines[1] = &short;
            }
            gzip(format!("{}\n", lines.join("\n")).as_bytes())
        }
        Some(SalesBody::LongRow) => {
            let text: String = tsv
                .lines()
                .enumerate()
                .map(|(i, l)| {
                    if i == 1 {
                        format!("{l}\textra\tcells\n")
                    } else {
                        format!("{l}\n")
                    }
                })
                .collect();
            gzip(text.as_bytes())
        }
        Some(SalesBody::NonNumericUnits) => {
            let header: Vec<&str> = tsv.lines().next().unwrap_or("").split('\t').collect();
            let units = header.iter().position(|h| *h == "Units").unwrap_or(7);
            let text: String = tsv
                .lines()
                .enumerate()
                .map(|(i, l)| {
                    if i == 2 {
                        let mut cells: Vec<&str> = l.split('\t').collect();
                        if units < cells.len() {
                            cells[units] = "abc";
                        }
                        format!("{}\n", cells.join("\t"))
                    } else {
                        format!("{l}\n")
                    }
                })
                .collect();
            gzip(text.as_bytes())
        }
        Some(SalesBody::CrlfNoFinalNewline) => {
            gzip(tsv.trim_end_matches('\n').replace('\n', "\r\n").as_bytes())
        }
        Some(SalesBody::EmptyGzip) => gzip(b""),
        Some(SalesBody::TruncatedGzip) => {
            let full = gzip(tsv.as_bytes());
            full[..full.len() * 2 / 3].to_vec()
        }
        Some(SalesBody::NotGzip) => tsv.into_bytes(),
        Some(SalesBody::Oversized(times)) => {
            let mut text = String::with_capacity(tsv.len() * *times as usize);
            let (header, rows) = tsv.split_once('\n').unwrap_or((&tsv, ""));
            text.push_str(header);
            text.push('\n');
            for _ in 0..*times {
                text.push_str(rows);
            }
            gzip(text.as_bytes())
        }
    };
    let file = format!(
        "S_D_{}_{}_V{}.txt.gz",
        state.vendor_number,
        date.format("%Y%m%d"),
        current
    );
    Response::builder()
        .status(StatusCode::OK)
        .header("content-type", "application/a-gzip")
        .header("content-encoding", "agzip")
        .header("content-disposition", format!("attachment;filename={file}"))
        .header("x-reports-filename", file)
        .header("x-reports-download-version", current)
        .header("requestid", uuid::Uuid::new_v4().to_string())
        .body(Body::from(body))
        .unwrap_or_default()
}

fn request_json(r: &super::AnalyticsRequest, base: &str) -> Value {
    json!({"type": "analyticsReportRequests", "id": r.id,
        "attributes": {"accessType": r.access_type, "stoppedDueToInactivity": r.stopped},
        "relationships": {"reports": {"links": {"related": format!("{base}/v1/analyticsReportRequests/{}/reports", r.id)}}}})
}

async fn report_requests(
    State(state): State<Shared>,
    Path(app_id): Path<String>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let admitted = match gate(&state, Endpoint::ReportRequests, &headers).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let query = parse_query(raw);
    let Some(app) = state
        .catalogue
        .apps
        .iter()
        .position(|a| a.apple_id == app_id)
    else {
        return admitted.finish(api_error(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            "The specified resource does not exist",
            "There is no resource of type 'apps' with id",
            None,
        ));
    };
    let access = query.get("filter[accessType]").cloned();
    let items: Vec<Value> = state
        .knobs()
        .requests
        .iter()
        .filter(|r| r.app == app && access.as_deref().is_none_or(|a| a == r.access_type))
        .map(|r| request_json(r, &state.base_url))
        .collect();
    let path = format!("/v1/apps/{app_id}/analyticsReportRequests");
    admitted.finish(paged(&state, &path, &query, items))
}

async fn create_request(State(state): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    let admitted = match gate(&state, Endpoint::CreateReportRequest, &headers).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let admin = state
        .knobs()
        .keys
        .get(&admitted.caller.key_id)
        .is_some_and(|k| k.admin);
    if !admin {
        return admitted.finish(api_error(
            StatusCode::FORBIDDEN,
            "FORBIDDEN_ERROR",
            "This request is forbidden for security reasons",
            "The API key in use does not allow this request",
            None,
        ));
    }
    let body: Value = serde_json::from_slice(&body).unwrap_or_default();
    let app_id = body["data"]["relationships"]["app"]["data"]["id"]
        .as_str()
        .unwrap_or("");
    let access = body["data"]["attributes"]["accessType"]
        .as_str()
        .unwrap_or("");
    if body["data"]["type"] != "analyticsReportRequests"
        || !["ONGOING", "ONE_TIME_SNAPSHOT"].contains(&access)
    {
        return admitted.finish(api_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "ENTITY_UNPROCESSABLE",
            "The request entity is not valid",
            "accessType must be ONGOING or ONE_TIME_SNAPSHOT",
            None,
        ));
    }
    let Some(app) = state
        .catalogue
        .apps
        .iter()
        .position(|a| a.apple_id == app_id)
    else {
        return admitted.finish(api_error(
            StatusCode::CONFLICT,
            "ENTITY_ERROR.RELATIONSHIP.INVALID",
            "The relationship is invalid",
            "The app does not exist",
            None,
        ));
    };
    let request = super::AnalyticsRequest {
        id: uuid::Uuid::new_v4().to_string(),
        app,
        access_type: if access == "ONGOING" {
            "ONGOING"
        } else {
            "ONE_TIME_SNAPSHOT"
        },
        stopped: false,
        // The first data arrive one to two days later.
        data_start: state.clock.now().date_naive() + chrono::Duration::days(2),
    };
    let json_body = json!({ "data": request_json(&request, &state.base_url) });
    state.knobs().requests.push(request);
    admitted.finish(json_response(StatusCode::CREATED, &json_body))
}

const REPORTS: [(&str, &str); 5] = [
    (SESSIONS_REPORT, "APP_USAGE"),
    (CRASHES_REPORT, "APP_USAGE"),
    ("App Store Installation and Deletion Standard", "APP_USAGE"),
    ("App Downloads Standard", "COMMERCE"),
    ("App Store Purchases Standard", "COMMERCE"),
];

async fn reports(
    State(state): State<Shared>,
    Path(request_id): Path<String>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let admitted = match gate(&state, Endpoint::Reports, &headers).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let query = parse_query(raw);
    if !state.knobs().requests.iter().any(|r| r.id == request_id) {
        return admitted.finish(api_error(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            "The specified resource does not exist",
            "There is no such analyticsReportRequests",
            None,
        ));
    }
    let name = query.get("filter[name]");
    let category = query.get("filter[category]");
    let items: Vec<Value> = REPORTS
        .iter()
        .enumerate()
        .filter(|(_, (n, c))| name.is_none_or(|f| f == n) && category.is_none_or(|f| f == c))
        .map(|(i, (n, c))| json!({"type": "analyticsReports", "id": format!("r{}-{request_id}", i + 11), "attributes": {"name": n, "category": c}}))
        .collect();
    let path = format!("/v1/analyticsReportRequests/{request_id}/reports");
    admitted.finish(paged(&state, &path, &query, items))
}

/// The last processing date with instances: today (UTC) on the fake's clock, but no
/// later than two days after the catalogue's last day.
pub(crate) fn last_processing(state: &FakeState) -> NaiveDate {
    let today = state.clock.now().date_naive();
    today.min(state.catalogue.last_day() + chrono::Duration::days(2))
}

/// Parses `r<n>-<request>` into the report's name and the request.
fn report_of(
    state: &FakeState,
    report_id: &str,
) -> Option<(&'static str, super::AnalyticsRequest)> {
    let (n, request_id) = report_id.strip_prefix('r')?.split_once('-')?;
    let n: usize = n.parse().ok()?;
    let name = REPORTS.get(n.checked_sub(11)?)?.0;
    let request = state
        .knobs()
        .requests
        .iter()
        .find(|r| r.id == request_id)
        .cloned()?;
    Some((name, request))
}

async fn instances(
    State(state): State<Shared>,
    Path(report_id): Path<String>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let admitted = match gate(&state, Endpoint::Instances, &headers).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let query = parse_query(raw);
    let Some((_, request)) = report_of(&state, &report_id) else {
        return admitted.finish(api_error(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            "The specified resource does not exist",
            "There is no such analyticsReports",
            None,
        ));
    };
    let granularity = query.get("filter[granularity]").map(String::as_str);
    if let Some(g) = granularity
        && !["DAILY", "WEEKLY", "MONTHLY"].contains(&g)
    {
        return admitted.finish(invalid(
            "filter[granularity]",
            "The granularity you have specified is invalid.",
        ));
    }
    let processing = query.get("filter[processingDate]");
    let mut items = Vec::new();
    if granularity.is_none_or(|g| g == "DAILY") {
        let mut day = request.data_start;
        let last = last_processing(&state);
        while day <= last {
            let d = day.format("%Y-%m-%d").to_string();
            if processing.is_none_or(|p| *p == d) {
                items.push(json!({"type": "analyticsReportInstances", "id": format!("{report_id}~{}", day.format("%Y%m%d")),
                    "attributes": {"granularity": "DAILY", "processingDate": d}}));
            }
            day = day.succ_opt().unwrap_or(last + chrono::Duration::days(1));
        }
    }
    let path = format!("/v1/analyticsReports/{report_id}/instances");
    admitted.finish(paged(&state, &path, &query, items))
}

/// The gzip files of an instance (`<report>~<yyyymmdd>`).
fn instance_files(state: &FakeState, instance_id: &str) -> Option<Vec<Vec<u8>>> {
    let (report_id, day) = instance_id.split_once('~')?;
    let (name, request) = report_of(state, report_id)?;
    let processing = NaiveDate::parse_from_str(day, "%Y%m%d").ok()?;
    let text = if name == SESSIONS_REPORT || name == CRASHES_REPORT {
        state
            .catalogue
            .analytics_file(name, request.app, processing)
    } else {
        // Reports storewatch does not read still exist, with only a header.
        "Date\tApp Name\tApp Apple Identifier\tCounts\n".to_owned()
    };
    let split = state.knobs().split_segments;
    let files = if split {
        let (header, rows) = text.split_once('\n').unwrap_or((&text, ""));
        let lines: Vec<&str> = rows.lines().collect();
        let half = lines.len() / 2;
        vec![
            format!(
                "{header}\n{}",
                lines[..half]
                    .iter()
                    .map(|l| format!("{l}\n"))
                    .collect::<String>()
            ),
            format!(
                "{header}\n{}",
                lines[half..]
                    .iter()
                    .map(|l| format!("{l}\n"))
                    .collect::<String>()
            ),
        ]
    } else {
        vec![text]
    };
    Some(files.iter().map(|f| gzip(f.as_bytes())).collect())
}

async fn segments(
    State(state): State<Shared>,
    Path(instance_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let admitted = match gate(&state, Endpoint::Segments, &headers).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let Some(files) = instance_files(&state, &instance_id) else {
        return admitted.finish(api_error(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            "The specified resource does not exist",
            "There is no such analyticsReportInstances",
            None,
        ));
    };
    let fault = state.knobs().segment_faults.pop_front();
    let now = state.clock.now().timestamp();
    let signed_at = if fault == Some(SegmentFault::Expired) {
        now - 400
    } else {
        now
    };
    let items: Vec<Value> = files
        .iter()
        .enumerate()
        .map(|(i, bytes)| {
            let mut checksum = hex::encode(Md5::digest(bytes));
            let mut size = bytes.len();
            if fault == Some(SegmentFault::BadChecksum) {
                checksum = "0123456789abcdef0123456789abcdef".to_owned();
            }
            if fault == Some(SegmentFault::BadSize) {
                size += 1;
            }
            json!({"type": "analyticsReportSegments", "id": format!("{instance_id}-{i}"),
                "attributes": {"checksum": checksum, "sizeInBytes": size,
                    "url": format!("{}/reports/{instance_id}/{i}.csv.gz?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date={signed_at}&X-Amz-Expires=300&X-Amz-Signature=fake", state.s3_url)}})
        })
        .collect();
    admitted.finish(json_response(
        StatusCode::OK,
        &json!({"data": items, "links": {"self": format!("{}/v1/analyticsReportInstances/{instance_id}/segments", state.base_url)}}),
    ))
}

fn s3_error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        [("content-type", "application/xml")],
        format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message><RequestId>FAKE</RequestId></Error>"),
    )
        .into_response()
}

async fn download(
    State(state): State<Shared>,
    Path((instance_id, file)): Path<(String, String)>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    *state
        .knobs()
        .counters
        .entry(Endpoint::SegmentDownload)
        .or_default() += 1;
    if headers.contains_key("authorization") {
        return s3_error(
            StatusCode::BAD_REQUEST,
            "InvalidArgument",
            "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified",
        );
    }
    let query = parse_query(raw);
    let signed_at: i64 = query
        .get("X-Amz-Date")
        .and_then(|d| d.parse().ok())
        .unwrap_or(0);
    let expires: i64 = query
        .get("X-Amz-Expires")
        .and_then(|d| d.parse().ok())
        .unwrap_or(0);
    if state.clock.now().timestamp() > signed_at + expires {
        return s3_error(StatusCode::FORBIDDEN, "AccessDenied", "Request has expired");
    }
    let index: usize = file
        .split('.')
        .next()
        .and_then(|i| i.parse().ok())
        .unwrap_or(usize::MAX);
    match instance_files(&state, &instance_id).and_then(|f| f.into_iter().nth(index)) {
        Some(bytes) => (
            StatusCode::OK,
            [("content-type", "application/octet-stream")],
            bytes,
        )
            .into_response(),
        None => s3_error(
            StatusCode::NOT_FOUND,
            "NoSuchKey",
            "The specified key does not exist.",
        ),
    }
}
