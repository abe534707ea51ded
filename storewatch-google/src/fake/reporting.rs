//! The fake Play Developer Reporting API: freshness, validated queries with paging, and
//! `apps:search`.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::{Datelike, NaiveDate};
use serde_json::{Value, json};

use super::data::vitals;
use super::routes::{Caller, authorize};
use super::{Shared, google_error, json_response};

const SCOPE: &str = "https://www.googleapis.com/auth/playdeveloperreporting";
const LA: &str = "America/Los_Angeles";

/// Metric sets and their metrics, as Google names them.
const SETS: &[(&str, &[&str])] = &[
    (
        "crashRateMetricSet",
        &[
            "crashRate",
            "crashRate7dUserWeighted",
            "crashRate28dUserWeighted",
            "userPerceivedCrashRate",
            "userPerceivedCrashRate7dUserWeighted",
            "userPerceivedCrashRate28dUserWeighted",
            "distinctUsers",
        ],
    ),
    (
        "anrRateMetricSet",
        &[
            "anrRate",
            "anrRate7dUserWeighted",
            "anrRate28dUserWeighted",
            "userPerceivedAnrRate",
            "userPerceivedAnrRate7dUserWeighted",
            "userPerceivedAnrRate28dUserWeighted",
            "distinctUsers",
        ],
    ),
    (
        "errorCountMetricSet",
        &["errorReportCount", "distinctUsers"],
    ),
    (
        "slowStartRateMetricSet",
        &[
            "slowStartRate",
            "slowStartRate7dUserWeighted",
            "slowStartRate28dUserWeighted",
            "distinctUsers",
        ],
    ),
    (
        "slowRenderingRateMetricSet",
        &[
            "slowRenderingRate20Fps",
            "slowRenderingRate30Fps",
            "distinctUsers",
        ],
    ),
    (
        "excessiveWakeupRateMetricSet",
        &["excessiveWakeupRate", "distinctUsers"],
    ),
    (
        "stuckBackgroundWakelockRateMetricSet",
        &["stuckBgWakelockRate", "distinctUsers"],
    ),
    (
        "lmkRateMetricSet",
        &["userPerceivedLmkRate", "distinctUsers"],
    ),
];

fn invalid(message: &str) -> Response {
    google_error(StatusCode::BAD_REQUEST, message, "INVALID_ARGUMENT", None)
}

const NO_COMBINATION: &str = "The requested metrics, dimensions and aggregation_period do not match any possible combination.";

/// Auth, API enablement, the app grant and the set's existence, in Google's order.
#[allow(clippy::result_large_err)] // the Err is the answer to send; it is built once per request
fn admit(
    shared: &Shared,
    headers: &HeaderMap,
    package: Option<&str>,
    set: Option<&str>,
) -> Result<(), Response> {
    if let Caller::Refused(r) = authorize(shared, headers, &[SCOPE], false) {
        return Err(r);
    }
    let state = shared.lock();
    if state.service_disabled {
        return Err(google_error(
            StatusCode::FORBIDDEN,
            "Google Play Developer Reporting API has not been used in project 1234567890 before or it is disabled. Enable it by visiting https://console.developers.google.com/apis/api/playdeveloperreporting.googleapis.com/overview?project=1234567890 then retry.",
            "PERMISSION_DENIED",
            Some(json!([{
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": "SERVICE_DISABLED",
                "domain": "googleapis.com",
                "metadata": {"service": "playdeveloperreporting.googleapis.com", "consumer": "projects/1234567890"},
            }])),
        ));
    }
    if let Some(package) = package {
        // An unknown package looks exactly like a missing grant.
        if !state.apps.get(package).is_some_and(|a| a.granted) {
            return Err(google_error(
                StatusCode::FORBIDDEN,
                "The caller does not have permission",
                "PERMISSION_DENIED",
                None,
            ));
        }
        if let Some(set) = set {
            if !SETS.iter().any(|(s, _)| *s == set) {
                return Err(google_error(
                    StatusCode::NOT_FOUND,
                    "Requested entity was not found.",
                    "NOT_FOUND",
                    None,
                ));
            }
            if set == "slowRenderingRateMetricSet"
                && !state.apps.get(package).is_some_and(|a| a.game)
            {
                return Err(google_error(
                    StatusCode::FORBIDDEN,
                    "This metric set is only accessible to games.",
                    "PERMISSION_DENIED",
                    None,
                ));
            }
        }
    }
    Ok(())
}

fn date_time(day: NaiveDate, zone: Option<&str>, hours: Option<u32>) -> Value {
    let mut v = json!({"year": day.year(), "month": day.month(), "day": day.day()});
    if let Some(h) = hours {
        v["hours"] = h.into();
    }
    if let Some(zone) = zone {
        v["timeZone"] = json!({"id": zone});
    }
    v
}

pub(super) fn freshness(
    shared: &Shared,
    headers: &HeaderMap,
    package: &str,
    set: &str,
) -> Response {
    if let Err(r) = admit(shared, headers, Some(package), Some(set)) {
        return r;
    }
    let state = shared.lock();
    let fresh = state.freshness(set);
    let today = state.today();
    // The live API's shapes vary per set; each variant below was seen.
    let body = match set {
        "crashRateMetricSet" => json!({
            "name": format!("apps/{package}/{set}"),
            "freshnessInfo": {"freshnesses": [
                {"aggregationPeriod": "HOURLY", "latestEndTime": date_time(today, Some("UTC"), Some(11))},
                {"aggregationPeriod": "DAILY", "latestEndTime": date_time(fresh, Some(LA), None)},
            ]}
        }),
        "anrRateMetricSet" => json!({
            "freshnessInfo": {"freshnesses": [
                {"aggregationPeriod": "DAILY", "latestEndTime": date_time(fresh, None, None)},
            ]}
        }),
        "errorCountMetricSet" => json!({
            "name": format!("apps/{package}/{set}"),
            "freshnessInfo": {"freshnesses": [
                {"aggregationPeriod": "DAILY", "latestEndTime": date_time(fresh, Some(LA), Some(6))},
                {"aggregationPeriod": "HOURLY", "latestEndTime": date_time(today, Some("UTC"), Some(6))},
                {"aggregationPeriod": "FULL_RANGE", "latestEndTime": date_time(fresh, Some(LA), Some(6))},
            ]}
        }),
        _ => json!({
            "name": format!("apps/{package}/{set}"),
            "freshnessInfo": {"freshnesses": [
                {"aggregationPeriod": "DAILY", "latestEndTime": date_time(fresh, Some(LA), None)},
            ]}
        }),
    };
    json_response(StatusCode::OK, &body)
}

/// Google accepts snake_case input as well as camelCase.
fn camel_keys(v: Value) -> Value {
    match v {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| {
                    let mut out = String::new();
                    let mut upper = false;
                    for c in k.chars() {
                        if c == '_' {
                            upper = true;
                        } else if upper {
                            out.extend(c.to_uppercase());
                            upper = false;
                        } else {
                            out.push(c);
                        }
                    }
                    (out, camel_keys(v))
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(camel_keys).collect()),
        other => other,
    }
}

/// A DAILY `DateTime`: date, zone (id or utcOffset) and whether any time part is set.
fn parse_daily(v: &Value) -> Option<(NaiveDate, Option<String>, bool)> {
    let n = |k: &str| v.get(k).and_then(Value::as_i64);
    let day = NaiveDate::from_ymd_opt(
        i32::try_from(n("year")?).ok()?,
        u32::try_from(n("month")?).ok()?,
        u32::try_from(n("day")?).ok()?,
    )?;
    let timed = ["hours", "minutes", "seconds", "nanos"]
        .iter()
        .any(|k| n(k).is_some_and(|x| x != 0));
    let zone = v
        .get("timeZone")
        .and_then(|z| z.get("id"))
        .and_then(Value::as_str)
        .map(str::to_owned)
        .or_else(|| {
            v.get("utcOffset")
                .and_then(Value::as_str)
                .map(|o| format!("offset:{o}"))
        });
    Some((day, zone, timed))
}

fn is_rate(metric: &str) -> bool {
    metric.contains("Rate")
}

fn value_of(seed: u64, package: &str, day: NaiveDate, metric: &str) -> f64 {
    let v = vitals(seed, package, day);
    match metric {
        "crashRate" => v.crash_rate,
        "userPerceivedCrashRate" => v.user_perceived_crash_rate,
        "anrRate" => v.anr_rate,
        "userPerceivedAnrRate" => v.user_perceived_anr_rate,
        "distinctUsers" => v.distinct_users,
        "errorReportCount" => (v.distinct_users / 100.0).round(),
        m if m.contains("7d") || m.contains("28d") => v.crash_rate,
        _ => v.anr_rate,
    }
}

fn metric_json(metric: &str, value: f64) -> Value {
    let mut m = json!({"metric": metric, "decimalValue": {"value": format!("{value}")}});
    if is_rate(metric) {
        m["decimalValueConfidenceInterval"] = json!({
            "lowerBound": {"value": format!("{}", (value * 0.9 * 1e6).round() / 1e6)},
            "upperBound": {"value": format!("{}", (value * 1.1 * 1e6).round() / 1e6)},
        });
    }
    m
}

pub(super) fn query(
    shared: &Shared,
    headers: &HeaderMap,
    package: &str,
    set: &str,
    body: &Bytes,
) -> Response {
    if let Err(r) = admit(shared, headers, Some(package), Some(set)) {
        return r;
    }
    let Ok(request) = serde_json::from_slice::<Value>(body).map(camel_keys) else {
        return invalid("Invalid JSON payload received.");
    };
    let spec = &request["timelineSpec"];
    let period = spec["aggregationPeriod"]
        .as_str()
        .unwrap_or("AGGREGATION_PERIOD_UNSPECIFIED");
    let (Some(start), Some(end)) = (
        parse_daily(&spec["startTime"]),
        parse_daily(&spec["endTime"]),
    ) else {
        return invalid("timeline_spec.start_time and timeline_spec.end_time are required.");
    };
    if period == "DAILY" && (start.2 || end.2) {
        return invalid(
            "DAILY aggregation requires start_time and end_time to be dates: hours, minutes, seconds and nanos must be unset.",
        );
    }
    if start.1 != end.1 {
        return invalid("start_time and end_time must be in the same time zone.");
    }
    if period == "DAILY" && start.1.as_deref().is_some_and(|z| z != LA) {
        return invalid("DAILY aggregation only supports the America/Los_Angeles time zone.");
    }
    let metrics: Vec<String> = request["metrics"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|m| m.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let dimensions: Vec<String> = request["dimensions"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|m| m.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let known = SETS
        .iter()
        .find(|(s, _)| *s == set)
        .map_or(&[][..], |(_, m)| *m);
    if metrics.is_empty() || metrics.iter().any(|m| !known.contains(&m.as_str())) {
        return invalid(NO_COMBINATION);
    }
    if set == "errorCountMetricSet" && !dimensions.iter().any(|d| d == "reportType") {
        return invalid(NO_COMBINATION);
    }
    if set == "slowStartRateMetricSet" && !dimensions.iter().any(|d| d == "startType") {
        return invalid(NO_COMBINATION);
    }
    let state = shared.lock();
    let fresh = state.freshness(set);
    if end.0 > fresh {
        return invalid(&format!(
            "'timeline_spec.end_date' field should be at most the current freshness {fresh} 00:00"
        ));
    }
    if start.0 >= end.0 {
        return invalid("timeline_spec.start_time must be before timeline_spec.end_time.");
    }
    let small = state.apps.get(package).is_some_and(|a| a.small);
    if small || period != "DAILY" {
        return json_response(StatusCode::OK, &json!({}));
    }
    let mut rows = Vec::new();
    for day in start.0.iter_days().take_while(|d| *d < end.0) {
        let variants: Vec<Vec<Value>> = if set == "errorCountMetricSet" {
            ["CRASH", "APPLICATION_NOT_RESPONDING"]
                .iter()
                .map(|t| vec![json!({"dimension": "reportType", "stringValue": t})])
                .collect()
        } else {
            vec![
                dimensions
                    .iter()
                    .map(|d| match d.as_str() {
                        "versionCode" | "deviceRamBucket" => {
                            json!({"dimension": d, "int64Value": "1603"})
                        }
                        _ => json!({"dimension": d, "stringValue": "x", "valueLabel": "X"}),
                    })
                    .collect(),
            ]
        };
        for dims in variants {
            let mut row = json!({
                "aggregationPeriod": "DAILY",
                "startTime": date_time(day, Some(LA), None),
                "metrics": metrics.iter().map(|m| metric_json(m, value_of(state.seed, package, day, m))).collect::<Vec<_>>(),
            });
            if !dims.is_empty() {
                row["dimensions"] = Value::Array(dims);
            }
            rows.push(row);
        }
    }
    let page_size = request["pageSize"]
        .as_u64()
        .or_else(|| request["pageSize"].as_str().and_then(|s| s.parse().ok()))
        .filter(|n| *n > 0)
        .unwrap_or(1000)
        .min(100_000) as usize;
    let offset = request["pageToken"]
        .as_str()
        .and_then(|t| t.strip_prefix("page-"))
        .and_then(|n| n.parse::<usize>().ok())
        .unwrap_or(0);
    let page: Vec<Value> = rows.iter().skip(offset).take(page_size).cloned().collect();
    let mut body = json!({});
    if !page.is_empty() {
        body["rows"] = Value::Array(page);
    }
    if offset + page_size < rows.len() {
        body["nextPageToken"] = format!("page-{}", offset + page_size).into();
    }
    json_response(StatusCode::OK, &body)
}

pub(super) fn apps_search(
    shared: &Shared,
    headers: &HeaderMap,
    params: &HashMap<String, String>,
) -> Response {
    if let Err(r) = admit(shared, headers, None, None) {
        return r;
    }
    let state = shared.lock();
    let page_size = params
        .get("pageSize")
        .and_then(|s| s.parse::<usize>().ok())
        .filter(|n| *n > 0)
        .unwrap_or(50)
        .min(1000);
    let offset = params
        .get("pageToken")
        .and_then(|t| t.strip_prefix("page-"))
        .and_then(|n| n.parse::<usize>().ok())
        .unwrap_or(0);
    let granted: Vec<&String> = state
        .apps
        .iter()
        .filter(|(_, a)| a.granted)
        .map(|(p, _)| p)
        .collect();
    let apps: Vec<Value> = granted
        .iter()
        .skip(offset)
        .take(page_size)
        .map(|p| json!({"name": format!("apps/{p}"), "packageName": p, "displayName": p}))
        .collect();
    let mut body = json!({});
    if !apps.is_empty() {
        body["apps"] = Value::Array(apps);
    }
    if offset + page_size < granted.len() {
        body["nextPageToken"] = format!("page-{}", offset + page_size).into();
    }
    json_response(StatusCode::OK, &body)
}
