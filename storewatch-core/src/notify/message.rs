//! The messages notifiers render: [`AlertNotification`] and [`DailyReport`].

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::alert::AlertEventKind;
use crate::model::{BundleId, Mention, Metric, Platform, Severity};

/// One alert card, with everything a person needs to act on it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertNotification {
    /// App display name.
    pub app_name: String,
    /// The store.
    pub platform: Platform,
    /// The app's bundle id.
    pub bundle_id: BundleId,
    /// The metric.
    pub metric: Metric,
    /// The segment (`""` = total).
    pub segment: String,
    /// The analysed day.
    pub day: NaiveDate,
    /// v(D).
    pub value: f64,
    /// What it was compared with.
    pub baseline: Option<f64>,
    /// Change against the baseline, in percent.
    pub change_pct: Option<f64>,
    /// The rule's name.
    pub rule_name: String,
    /// The rule in words, e.g. "falls by at least 30% week over week".
    pub rule_text: String,
    /// How loud.
    pub severity: Severity,
    /// Firing or resolved.
    pub kind: AlertEventKind,
    /// Who to @mention.
    pub mentions: Vec<Mention>,
    /// A link to the admin UI, when an admin base URL is configured.
    pub link: Option<String>,
}

/// One metric of one app in the daily report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricLine {
    /// The metric.
    pub metric: Metric,
    /// v(D), if stored.
    pub value: Option<f64>,
    /// Day-over-day change in percent.
    pub dod_pct: Option<f64>,
    /// Week-over-week change in percent.
    pub wow_pct: Option<f64>,
    /// Year-over-year change in percent.
    pub yoy_pct: Option<f64>,
    /// The last 28 days, oldest first, ending at D (for a sparkline); missing days are `None`.
    pub last_28d: Vec<Option<f64>>,
}

/// One app's section of the daily report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppReport {
    /// App display name.
    pub app_name: String,
    /// The store.
    pub platform: Platform,
    /// Bundle id.
    pub bundle_id: BundleId,
    /// One line per configured metric, in the configured order.
    pub metrics: Vec<MetricLine>,
}

/// A portfolio total of one metric on one platform.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlatformTotal {
    /// The store.
    pub platform: Platform,
    /// The metric.
    pub metric: Metric,
    /// Sum of the apps' values on D.
    pub value: f64,
    /// Day-over-day change of the sum, in percent.
    pub dod_pct: Option<f64>,
    /// Week-over-week change of the sum, in percent.
    pub wow_pct: Option<f64>,
    /// Year-over-year change of the sum, in percent.
    pub yoy_pct: Option<f64>,
}

/// The daily report of one [`ReportConfig`](crate::model::ReportConfig).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DailyReport {
    /// Title, e.g. the report's name.
    pub title: String,
    /// The reporting day.
    pub day: NaiveDate,
    /// One section per app.
    pub apps: Vec<AppReport>,
    /// Portfolio totals per platform and metric.
    pub totals: Vec<PlatformTotal>,
    /// Notes such as which provider days are not yet covered.
    pub notes: Vec<String>,
}
