//! Alert state: what the evaluator remembers between days, per fingerprint.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::{AppId, Metric, RuleId, Severity};

/// Identifies one alert: (rule, app, metric, segment).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Fingerprint {
    /// The rule.
    pub rule_id: RuleId,
    /// The app.
    pub app_id: AppId,
    /// The metric.
    pub metric: Metric,
    /// The segment (`""` = total).
    pub segment: String,
}

impl std::fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "rule {}/app {}/{}",
            self.rule_id, self.app_id, self.metric
        )?;
        if !self.segment.is_empty() {
            write!(f, "/{}", self.segment)?;
        }
        Ok(())
    }
}

/// Where an alert stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertStatus {
    /// Breached, but for fewer consecutive days than the rule's `for_days`.
    Pending,
    /// Breached for at least `for_days` consecutive days.
    Firing,
    /// Was firing and has cleared.
    Resolved,
}

/// The remembered state of one alert.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertState {
    /// Which alert.
    pub fingerprint: Fingerprint,
    /// Where it stands.
    pub status: AlertStatus,
    /// Consecutive breached days up to `last_day`.
    pub breach_days: u32,
    /// The last day evaluated with data.
    pub last_day: Option<NaiveDate>,
    /// When the current status began.
    pub since: DateTime<Utc>,
    /// When a card was last sent for it.
    pub last_notified: Option<DateTime<Utc>>,
    /// The severity of the last firing card; `None` before the first one and once a
    /// resolved card has closed it (so the next firing is news, not a repeat held back
    /// by the cooldown).
    pub last_severity: Option<Severity>,
}

/// Alert states by fingerprint.
pub type AlertStates = HashMap<Fingerprint, AlertState>;
