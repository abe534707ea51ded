//! Play Developer Reporting API v1beta1: freshness (G1) and daily metric queries (G2)
//! of the crash and ANR metric sets.
//!
//! One query per app and metric set covers the whole date range (paginated). A query
//! ending past freshness is refused, so when it is, freshness is read and the range
//! clamped to it; the days beyond are "not yet available". Reading freshness only then
//! (rather than before every query) halves the requests of a daily run, whose range
//! Google has usually published, under the Reporting quota of 10 a second.

use std::collections::BTreeMap;

use chrono::{Datelike, Days, NaiveDate};
use serde::{Deserialize, Serialize};
use storewatch_core::model::Metric;
use storewatch_core::{Error, ErrorKind, Result};
use url::Url;

use crate::client::{Call, GoogleClient};
use crate::error::Surface;
use crate::metrics::{DISTINCT_USERS, USER_PERCEIVED_ANR_RATE, USER_PERCEIVED_CRASH_RATE};

/// Every DAILY point of every metric set is an America/Los_Angeles calendar day.
pub(crate) const DAILY_TIME_ZONE: &str = "America/Los_Angeles";

/// A metric set and the storewatch metric each of its API metrics becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MetricSet {
    Crash,
    Anr,
}

impl MetricSet {
    pub(crate) const ALL: [MetricSet; 2] = [MetricSet::Crash, MetricSet::Anr];

    pub(crate) fn name(self) -> &'static str {
        match self {
            MetricSet::Crash => "crashRateMetricSet",
            MetricSet::Anr => "anrRateMetricSet",
        }
    }

    /// (API metric, storewatch metric). `distinctUsers` is taken from the crash set only:
    /// the ANR set's figure counts foreground users and would be a second, different
    /// daily-users series.
    pub(crate) fn metrics(self) -> Vec<(&'static str, Metric)> {
        match self {
            MetricSet::Crash => vec![
                ("crashRate", Metric::CRASH_RATE),
                ("userPerceivedCrashRate", USER_PERCEIVED_CRASH_RATE.clone()),
                ("distinctUsers", DISTINCT_USERS.clone()),
            ],
            MetricSet::Anr => vec![
                ("anrRate", Metric::ANR_RATE),
                ("userPerceivedAnrRate", USER_PERCEIVED_ANR_RATE.clone()),
            ],
        }
    }
}

/// `google.type.DateTime`, as much of it as DAILY timelines use.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DateTime {
    pub(crate) year: i32,
    pub(crate) month: u32,
    pub(crate) day: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) hours: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) time_zone: Option<TimeZone>,
}

/// `google.type.TimeZone`: an object with an `id`, not a string.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct TimeZone {
    pub(crate) id: String,
}

impl DateTime {
    pub(crate) fn daily(day: NaiveDate) -> Self {
        DateTime {
            year: day.year(),
            month: day.month(),
            day: day.day(),
            hours: None,
            time_zone: Some(TimeZone {
                id: DAILY_TIME_ZONE.to_owned(),
            }),
        }
    }

    /// The calendar date; any `hours` is dropped on purpose (errorCount's DAILY
    /// freshness carries one).
    pub(crate) fn date(&self) -> Option<NaiveDate> {
        NaiveDate::from_ymd_opt(self.year, self.month, self.day)
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct MetricSetResponse {
    #[serde(default)]
    freshness_info: Option<FreshnessInfo>,
}

#[derive(Debug, Default, Deserialize)]
struct FreshnessInfo {
    #[serde(default)]
    freshnesses: Vec<Freshness>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Freshness {
    aggregation_period: String,
    latest_end_time: DateTime,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct QueryRequest<'a> {
    timeline_spec: TimelineSpec,
    metrics: &'a [&'a str],
    page_size: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    page_token: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct TimelineSpec {
    aggregation_period: &'static str,
    start_time: DateTime,
    end_time: DateTime,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct QueryResponse {
    #[serde(default)]
    rows: Vec<MetricsRow>,
    #[serde(default)]
    next_page_token: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct MetricsRow {
    start_time: DateTime,
    #[serde(default)]
    metrics: Vec<MetricValue>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct MetricValue {
    metric: String,
    #[serde(default)]
    decimal_value: Option<Decimal>,
}

#[derive(Debug, Deserialize)]
struct Decimal {
    #[serde(default)]
    value: String,
}

/// Parses a `google.type.Decimal` string: `""` means 0, exponents are allowed.
fn decimal(value: &str) -> Option<f64> {
    if value.is_empty() {
        return Some(0.0);
    }
    value.parse::<f64>().ok().filter(|v| v.is_finite())
}

fn metric_set_url(base: &Url, package: &str, set: MetricSet, suffix: &str) -> Result<Url> {
    let mut url = base.clone();
    url.path_segments_mut()
        .map_err(|()| {
            Error::invalid_field("reporting_base_url", base.as_str(), "an http(s) base URL")
        })?
        .pop_if_empty()
        .extend(["v1beta1", "apps", package])
        .push(&format!("{}{suffix}", set.name()));
    Ok(url)
}

/// The first day the set has not published yet (freshness' exclusive DAILY end).
pub(crate) async fn freshness(
    client: &GoogleClient,
    base: &Url,
    package: &str,
    set: MetricSet,
) -> Result<NaiveDate> {
    let url = metric_set_url(base, package, set, "")?;
    let response: MetricSetResponse = client.json(Call::get(Surface::Reporting, url)).await?;
    response
        .freshness_info
        .unwrap_or_default()
        .freshnesses
        .iter()
        .find(|f| f.aggregation_period == "DAILY")
        .and_then(|f| f.latest_end_time.date())
        .ok_or_else(|| {
            Error::new(
                ErrorKind::Unavailable,
                format!("{} of {package} has no DAILY freshness", set.name()),
            )
        })
}

/// Daily values of `api_metrics` for `[start, end)` (LA days), all pages.
pub(crate) async fn query(
    client: &GoogleClient,
    base: &Url,
    package: &str,
    set: MetricSet,
    api_metrics: &[&str],
    start: NaiveDate,
    end: NaiveDate,
) -> Result<BTreeMap<NaiveDate, Vec<(String, f64)>>> {
    let url = metric_set_url(base, package, set, ":query")?;
    let mut days: BTreeMap<NaiveDate, Vec<(String, f64)>> = BTreeMap::new();
    let mut page_token = None;
    loop {
        let body = QueryRequest {
            timeline_spec: TimelineSpec {
                aggregation_period: "DAILY",
                start_time: DateTime::daily(start),
                end_time: DateTime::daily(end),
            },
            metrics: api_metrics,
            page_size: client.options().page_size,
            page_token: page_token.take(),
        };
        let response: QueryResponse = client
            .json(Call::post(Surface::Reporting, url.clone(), &body)?)
            .await?;
        for row in response.rows {
            let Some(day) = row.start_time.date() else {
                return Err(Error::new(
                    ErrorKind::Unavailable,
                    format!(
                        "{} row with an impossible date {:?}",
                        set.name(),
                        row.start_time
                    ),
                ));
            };
            let values = days.entry(day).or_default();
            for m in row.metrics {
                let raw = m.decimal_value.map(|d| d.value).unwrap_or_default();
                let value = decimal(&raw).ok_or_else(|| {
                    Error::invalid_field(&m.metric, &raw, "a decimal number")
                        .context(format!("{} of {package} on {day}", set.name()))
                })?;
                values.push((m.metric, value));
            }
        }
        match response.next_page_token {
            Some(token) if !token.is_empty() => page_token = Some(token),
            _ => return Ok(days),
        }
    }
}

/// The day after `day`.
pub(crate) fn next_day(day: NaiveDate) -> NaiveDate {
    day.checked_add_days(Days::new(1)).unwrap_or(day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals() {
        assert_eq!(decimal(""), Some(0.0));
        assert_eq!(decimal("0.0123"), Some(0.0123));
        assert_eq!(decimal("1.5E-3"), Some(0.0015));
        assert_eq!(decimal("15300"), Some(15300.0));
        assert_eq!(decimal("abc"), None);
    }

    #[test]
    fn freshness_picks_daily_and_drops_hours() {
        let json = r#"{"freshnessInfo":{"freshnesses":[
          {"aggregationPeriod":"HOURLY","latestEndTime":{"year":2026,"month":7,"day":29,"hours":11}},
          {"aggregationPeriod":"DAILY","latestEndTime":{"year":2026,"month":7,"day":28,"hours":6}}]}}"#;
        let r: MetricSetResponse = serde_json::from_str(json).unwrap();
        let daily = r
            .freshness_info
            .unwrap()
            .freshnesses
            .into_iter()
            .find(|f| f.aggregation_period == "DAILY")
            .unwrap();
        assert_eq!(
            daily.latest_end_time.date(),
            NaiveDate::from_ymd_opt(2026, 7, 28)
        );
    }

    #[test]
    fn request_shape() {
        let day = NaiveDate::from_ymd_opt(2026, 9, 20).unwrap();
        let body = QueryRequest {
            timeline_spec: TimelineSpec {
                aggregation_period: "DAILY",
                start_time: DateTime::daily(day),
                end_time: DateTime::daily(next_day(day)),
            },
            metrics: &["crashRate"],
            page_size: 10,
            page_token: None,
        };
        let json = serde_json::to_value(&body).unwrap();
        assert_eq!(json["timelineSpec"]["endTime"]["day"], 21);
        assert_eq!(
            json["timelineSpec"]["startTime"]["timeZone"]["id"],
            DAILY_TIME_ZONE
        );
        assert!(json["timelineSpec"]["startTime"].get("hours").is_none());
        let url = metric_set_url(
            &Url::parse("http://h:1/").unwrap(),
            "com.x",
            MetricSet::Crash,
            ":query",
        )
        .unwrap();
        assert_eq!(
            url.as_str(),
            "http://h:1/v1beta1/apps/com.x/crashRateMetricSet:query"
        );
    }
}
