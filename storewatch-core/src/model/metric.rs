//! Metrics: the [`Metric`] name newtype and the daily [`MetricPoint`].

use std::borrow::Cow;
use std::fmt;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::AppId;
use crate::{Error, Result};

/// A metric name. Well-known metrics are constants; a new source may add its own.
///
/// Names are lowercase ASCII letters, digits and `_`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Metric(Cow<'static, str>);

impl Metric {
    /// First-time downloads.
    pub const DOWNLOADS: Metric = Metric::known("downloads");
    /// Re-downloads by the same account (Apple).
    pub const REDOWNLOADS: Metric = Metric::known("redownloads");
    /// App updates.
    pub const UPDATES: Metric = Metric::known("updates");
    /// Uninstalls (Google).
    pub const UNINSTALLS: Metric = Metric::known("uninstalls");
    /// Devices with the app active or installed.
    pub const ACTIVE_DEVICES: Metric = Metric::known("active_devices");
    /// App sessions (Apple).
    pub const SESSIONS: Metric = Metric::known("sessions");
    /// Crash count (Apple).
    pub const CRASHES: Metric = Metric::known("crashes");
    /// Crash rate as a fraction (Google).
    pub const CRASH_RATE: Metric = Metric::known("crash_rate");
    /// ANR rate as a fraction (Google).
    pub const ANR_RATE: Metric = Metric::known("anr_rate");
    /// In-app purchase units, attributed to the parent app (Apple).
    pub const IAP_UNITS: Metric = Metric::known("iap_units");
    /// Developer proceeds, one segment per currency (Apple).
    pub const PROCEEDS: Metric = Metric::known("proceeds");
    /// Average rating of the day (Google).
    pub const RATING_AVG: Metric = Metric::known("rating_avg");

    /// Every well-known metric.
    pub const WELL_KNOWN: [Metric; 12] = [
        Metric::DOWNLOADS,
        Metric::REDOWNLOADS,
        Metric::UPDATES,
        Metric::UNINSTALLS,
        Metric::ACTIVE_DEVICES,
        Metric::SESSIONS,
        Metric::CRASHES,
        Metric::CRASH_RATE,
        Metric::ANR_RATE,
        Metric::IAP_UNITS,
        Metric::PROCEEDS,
        Metric::RATING_AVG,
    ];

    const fn known(name: &'static str) -> Metric {
        Metric(Cow::Borrowed(name))
    }

    /// Validates a metric name.
    pub fn new(name: impl Into<String>) -> Result<Metric> {
        let name = name.into();
        let ok = !name.is_empty()
            && name.len() <= 64
            && name.starts_with(|c: char| c.is_ascii_lowercase())
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !ok {
            return Err(Error::invalid_field(
                "metric",
                &name,
                "a name of lowercase letters, digits and '_' starting with a letter, like \"downloads\"",
            ));
        }
        Ok(Metric(Cow::Owned(name)))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for Metric {
    type Error = Error;

    fn try_from(s: String) -> Result<Self> {
        Metric::new(s)
    }
}

impl From<Metric> for String {
    fn from(m: Metric) -> String {
        m.0.into_owned()
    }
}

impl std::str::FromStr for Metric {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        Metric::new(s)
    }
}

/// A segment of a metric: `""` is the total, else `dimension:value` such as
/// `currency:EUR` or `country:US`.
pub type Segment = String;

/// Checks a segment: empty (the total) or `dimension:value` without spaces.
pub fn validate_segment(segment: &str) -> Result<()> {
    if segment.is_empty() {
        return Ok(());
    }
    let valid = segment.split_once(':').is_some_and(|(dim, value)| {
        !dim.is_empty()
            && !value.is_empty()
            && dim.chars().all(|c| c.is_ascii_lowercase() || c == '_')
            && !value.chars().any(char::is_whitespace)
    });
    if valid {
        Ok(())
    } else {
        Err(Error::invalid_field(
            "segment",
            segment,
            "\"\" for the total or dimension:value like \"currency:EUR\"",
        ))
    }
}

/// One app's value of one metric on one reporting day, for one segment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricPoint {
    /// The app.
    pub app_id: AppId,
    /// The metric.
    pub metric: Metric,
    /// The provider's reporting day, as the provider labels it.
    pub date: NaiveDate,
    /// `""` for the total, else `dimension:value`.
    #[serde(default)]
    pub segment: Segment,
    /// The value; always finite.
    pub value: f64,
}

impl MetricPoint {
    /// A point for the total (segment `""`).
    pub fn total(app_id: AppId, metric: Metric, date: NaiveDate, value: f64) -> Self {
        MetricPoint {
            app_id,
            metric,
            date,
            segment: String::new(),
            value,
        }
    }

    /// A point for a segment.
    #[must_use]
    pub fn with_segment(mut self, segment: impl Into<Segment>) -> Self {
        self.segment = segment.into();
        self
    }

    /// Refuses NaN and infinite values and malformed segments, naming the app, metric and day.
    pub fn validate(&self) -> Result<()> {
        if !self.value.is_finite() {
            return Err(
                Error::invalid_field("value", self.value, "a finite number").context(format!(
                    "point of app {} metric {} on {}",
                    self.app_id, self.metric, self.date
                )),
            );
        }
        validate_segment(&self.segment).map_err(|e| {
            e.context(format!(
                "point of app {} metric {} on {}",
                self.app_id, self.metric, self.date
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metric_names() {
        assert_eq!(Metric::new("downloads").unwrap(), Metric::DOWNLOADS);
        for bad in ["", "Downloads", "1x", "a b", "crash-rate"] {
            assert!(Metric::new(bad).unwrap_err().message().contains("metric"));
        }
        let json = serde_json::to_string(&Metric::CRASH_RATE).unwrap();
        assert_eq!(json, "\"crash_rate\"");
        assert!(serde_json::from_str::<Metric>("\"Bad\"").is_err());
    }

    #[test]
    fn nan_point_names_app_metric_and_day() {
        let day = NaiveDate::from_ymd_opt(2026, 3, 1).unwrap();
        let err = MetricPoint::total(AppId(4), Metric::DOWNLOADS, day, f64::NAN)
            .validate()
            .unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("app 4") && text.contains("downloads") && text.contains("2026-03-01"),
            "{text}"
        );
        assert!(
            MetricPoint::total(AppId(4), Metric::DOWNLOADS, day, 1.0)
                .with_segment("currency:EUR")
                .validate()
                .is_ok()
        );
        assert!(validate_segment("EUR").is_err());
    }
}
