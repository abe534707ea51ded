//! The fake's `GET /v1/salesReports`: Apple's parameter checks, version drift, day
//! states on a Pacific-time clock (or every data day ready, for real-time runs), and the
//! report bodies (good and malformed).

use std::collections::HashMap;

use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{Datelike, NaiveDate, TimeZone, Weekday};
use chrono_tz::America::Los_Angeles;

use super::server::{Admitted, Shared, api_error, gate, gzip, invalid, parse_query};
use super::{DayState, Endpoint, SalesBody};

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

pub(crate) async fn sales(
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
    let (current, ready_hour, all_ready, state_override, body_override, variant) = {
        let knobs = state.knobs();
        (
            knobs
                .versions
                .get(report_type)
                .cloned()
                .unwrap_or_else(|| "1_0".to_owned()),
            knobs.ready_hour_pt,
            knobs.all_days_ready,
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
            while !all_ready && day >= state.catalogue.start && ready_at(day, ready_hour) > now {
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
        if all_ready && state.catalogue.has_day(date) {
            DayState::Ready
        } else if ready_at(date, ready_hour) > now {
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
