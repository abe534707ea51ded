//! The fake's Analytics Reports endpoints (requests, reports, instances, segments) and
//! the S3 listener that serves the pre-signed segment URLs.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use md5::{Digest, Md5};
use serde_json::{Value, json};

use super::server::{Shared, api_error, gate, gzip, invalid, json_response, paged, parse_query};
use super::{Endpoint, FakeState, SegmentFault};
use crate::analytics::{CRASHES_REPORT, SESSIONS_REPORT};

fn request_json(r: &super::AnalyticsRequest, base: &str) -> Value {
    json!({"type": "analyticsReportRequests", "id": r.id,
        "attributes": {"accessType": r.access_type, "stoppedDueToInactivity": r.stopped},
        "relationships": {"reports": {"links": {"related": format!("{base}/v1/analyticsReportRequests/{}/reports", r.id)}}}})
}

pub(crate) async fn report_requests(
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

pub(crate) async fn create_request(
    State(state): State<Shared>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
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

pub(crate) async fn reports(
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

pub(crate) async fn instances(
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

pub(crate) async fn segments(
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

pub(crate) async fn download(
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
