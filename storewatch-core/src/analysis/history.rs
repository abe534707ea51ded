//! [`MetricHistory`]: stored values grouped by series, as stores return them.

use std::fmt;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::model::{AppId, BundleId, Metric, MetricPoint, Platform, Segment};

/// Identifies a series: one app's metric for one segment. Orders by (platform,
/// bundle id, metric, segment), the order of every analysis output.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SeriesKey {
    /// The store.
    pub platform: Platform,
    /// The app's bundle id.
    pub bundle_id: BundleId,
    /// The metric.
    pub metric: Metric,
    /// The segment (`""` = total).
    pub segment: Segment,
    /// The app.
    pub app_id: AppId,
}

impl SeriesKey {
    fn sort_key(&self) -> (Platform, &str, &str, &str, AppId) {
        (
            self.platform,
            self.bundle_id.as_str(),
            self.metric.as_str(),
            &self.segment,
            self.app_id,
        )
    }
}

impl Ord for SeriesKey {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.sort_key().cmp(&other.sort_key())
    }
}

impl PartialOrd for SeriesKey {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for SeriesKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", self.platform, self.bundle_id, self.metric)?;
        if !self.segment.is_empty() {
            write!(f, " [{}]", self.segment)?;
        }
        Ok(())
    }
}

/// One series and its stored values (missing days are absent, never 0).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Series {
    /// Which series.
    pub key: SeriesKey,
    /// `(day, value)`, in any order.
    pub points: Vec<(NaiveDate, f64)>,
}

/// Stored values grouped by series.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct MetricHistory {
    /// The series, in any order.
    pub series: Vec<Series>,
}

impl MetricHistory {
    /// Total number of points.
    pub fn len(&self) -> usize {
        self.series.iter().map(|s| s.points.len()).sum()
    }

    /// Whether there is no point.
    pub fn is_empty(&self) -> bool {
        self.series.iter().all(|s| s.points.is_empty())
    }

    /// The history as flat points (for export and tests).
    pub fn to_points(&self) -> Vec<MetricPoint> {
        self.series
            .iter()
            .flat_map(|s| {
                s.points.iter().map(|&(date, value)| MetricPoint {
                    app_id: s.key.app_id,
                    metric: s.key.metric.clone(),
                    date,
                    segment: s.key.segment.clone(),
                    value,
                })
            })
            .collect()
    }
}
