//! The fake's HTTP plumbing: the routers, the gate every API request passes (faults,
//! burst limit, token verification, agreement switch, budget), JSON:API paging and the
//! apps endpoint.

use std::collections::HashMap;
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{RawQuery, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};

use super::analytics_api::{
    create_request, download, instances, report_requests, reports, segments,
};
use super::keys::{Caller, verify};
use super::sales_api::sales;
use super::{Endpoint, FakeState, Fault};

pub(crate) type Shared = Arc<FakeState>;

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
        .layer(from_fn_with_state(state.clone(), delay))
        .with_state(state);
    // Serving ends when the owning fake aborts the task.
    let _ = axum::serve(listener, app).await;
}

pub(crate) async fn serve_s3(listener: tokio::net::TcpListener, state: Shared) {
    let app = Router::new()
        .route("/reports/{instance}/{file}", get(download))
        .layer(from_fn_with_state(state.clone(), delay))
        .with_state(state);
    let _ = axum::serve(listener, app).await;
}

/// Holds every request for the injected latency before any handler sees it.
async fn delay(State(state): State<Shared>, request: Request, next: Next) -> Response {
    let latency = state.latency();
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    next.run(request).await
}

pub(crate) fn api_error(
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

pub(crate) fn json_response(status: StatusCode, body: &Value) -> Response {
    (
        status,
        [("content-type", "application/json")],
        body.to_string(),
    )
        .into_response()
}

pub(crate) fn parse_query(raw: Option<String>) -> HashMap<String, String> {
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
pub(crate) struct Admitted {
    pub(crate) caller: Caller,
    remaining: u32,
    limit: u32,
    _guard: InFlight,
}

impl Admitted {
    pub(crate) fn finish(&self, mut response: Response) -> Response {
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

pub(crate) async fn gate(
    state: &Shared,
    endpoint: Endpoint,
    headers: &HeaderMap,
) -> Result<Admitted, Response> {
    state.in_flight.fetch_add(1, Ordering::SeqCst);
    let guard = InFlight(state.clone());
    // Let concurrent requests overlap as they would on a real server, even on a
    // single-threaded runtime, so the burst limit can see them.
    tokio::task::yield_now().await;
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
pub(crate) fn paged(
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

pub(crate) fn comma_list(query: &HashMap<String, String>, key: &str) -> Option<Vec<String>> {
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

pub(crate) fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let _ = e.write_all(bytes);
    e.finish().unwrap_or_default()
}

pub(crate) fn invalid(parameter: &str, detail: &str) -> Response {
    api_error(
        StatusCode::BAD_REQUEST,
        "PARAMETER_ERROR.INVALID",
        "A parameter has an invalid value",
        detail,
        Some(parameter),
    )
}
