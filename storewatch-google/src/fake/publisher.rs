//! The fake Android Publisher `reviews.list`: the last 7 days of reviews with text.

use std::collections::HashMap;

use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::{Days, NaiveTime};
use serde_json::{Value, json};

use super::routes::{Caller, authorize};
use super::{Shared, google_error, json_response};

const SCOPE: &str = "https://www.googleapis.com/auth/androidpublisher";

pub(super) fn reviews(
    shared: &Shared,
    headers: &HeaderMap,
    package: &str,
    params: &HashMap<String, String>,
) -> Response {
    if let Caller::Refused(r) = authorize(shared, headers, &[SCOPE], false) {
        return r;
    }
    let state = shared.lock();
    if !state.apps.get(package).is_some_and(|a| a.granted) {
        // A wrong package id gets this too, not a 404.
        return google_error(
            StatusCode::FORBIDDEN,
            "The caller does not have permission",
            "PERMISSION_DENIED",
            None,
        );
    }
    let max = params
        .get("maxResults")
        .and_then(|m| m.parse::<usize>().ok())
        .filter(|m| *m > 0)
        .unwrap_or(10)
        .min(100);
    let start = params
        .get("token")
        .and_then(|t| t.parse::<usize>().ok())
        .unwrap_or(0);
    // Two reviews a day over the last week, newest first; star-only ratings are never listed.
    let mut all = Vec::new();
    for back in 0..7u64 {
        let Some(day) = state.today().checked_sub_days(Days::new(back)) else {
            continue;
        };
        for n in 0..2u32 {
            let at = day
                .and_time(NaiveTime::from_hms_opt(12 - n, 0, 0).unwrap_or_default())
                .and_utc();
            let stars = 1 + (day.to_string().len() as u32 + n + back as u32) % 5;
            all.push(json!({
                "reviewId": format!("gp:{package}:{day}:{n}"),
                "authorName": format!("User {back}{n}"),
                "comments": [{"userComment": {
                    "text": format!("Title {day}\tBody of review {n}"),
                    "lastModified": {"seconds": at.timestamp().to_string(), "nanos": 0},
                    "starRating": stars,
                    "reviewerLanguage": "en",
                    "appVersionCode": 1603,
                    "appVersionName": "1.6.3",
                }}],
            }));
        }
    }
    let page: Vec<Value> = all.iter().skip(start).take(max).cloned().collect();
    let mut body = json!({});
    if !page.is_empty() {
        body["reviews"] = Value::Array(page);
        body["pageInfo"] =
            json!({"totalResults": all.len(), "resultPerPage": max, "startIndex": start});
    }
    if start + max < all.len() {
        body["tokenPagination"] = json!({"nextPageToken": (start + max).to_string()});
    }
    json_response(StatusCode::OK, &body)
}
