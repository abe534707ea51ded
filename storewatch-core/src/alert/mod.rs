//! Alerting (DESIGN §6): the [`AlertEvaluator`] trait, the events it produces and
//! [`RuleEvaluator`], the reference implementation.
//!
//! ```
//! use chrono::{NaiveDate, TimeZone, Utc};
//! use storewatch_core::alert::{AlertEvaluator, AlertEventKind, RuleEvaluator};
//! use storewatch_core::analysis::{Analysis, SeriesKey, SeriesSummary};
//! use storewatch_core::model::{
//!     AlertRule, AlertRuleSpec, AlertStates, AlertStatus, AppId, BundleId, ChannelId,
//!     Condition, Direction, Metric, Platform, RuleId, Severity, Window,
//! };
//!
//! # fn main() -> storewatch_core::Result<()> {
//! let now = Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap();
//! // Downloads falling by at least 30 % week over week, from at least 100 a day.
//! let mut spec = AlertRuleSpec::new(
//!     "downloads collapse",
//!     Metric::DOWNLOADS,
//!     Condition::PctChange { window: Window::Wow, direction: Direction::Down, threshold_pct: 30.0 },
//!     Severity::Critical,
//!     ChannelId(1),
//! )?;
//! spec.min_baseline = Some(100.0);
//! let rules = [AlertRule { id: RuleId(7), version: 1, created_at: now, updated_at: now, spec }];
//!
//! // 400 downloads on D against 1,000 on D−7: −60 %.
//! let analysis = Analysis {
//!     day: NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(),
//!     summaries: vec![SeriesSummary {
//!         key: SeriesKey {
//!             platform: Platform::Ios,
//!             bundle_id: BundleId::parse(Platform::Ios, "com.example.app")?,
//!             metric: Metric::DOWNLOADS,
//!             segment: String::new(),
//!             app_id: AppId(1),
//!         },
//!         value: 400.0,
//!         prev_day: Some(420.0),
//!         dod_pct: Some(-400.0 / 21.0),
//!         prev_week: Some(1_000.0),
//!         wow_pct: Some(-60.0),
//!         prev_year: None,
//!         yoy_pct: None,
//!         avg_7d: 800.0,
//!         avg_28d: 950.0,
//!         seasonal_median: None,
//!         seasonal_mad: None,
//!         seasonal_z: None,
//!     }],
//! };
//!
//! let evaluation = RuleEvaluator::new().evaluate(&analysis, &rules, &AlertStates::new(), now);
//! let event = &evaluation.events[0];
//! assert_eq!(event.kind, AlertEventKind::Firing);
//! assert_eq!((event.value, event.baseline, event.change_pct), (400.0, Some(1_000.0), Some(-60.0)));
//! assert_eq!(evaluation.states[0].status, AlertStatus::Firing);
//!
//! // Evaluating the same day again, with the stored states, changes nothing.
//! let stored: AlertStates =
//!     evaluation.states.into_iter().map(|s| (s.fingerprint.clone(), s)).collect();
//! let again = RuleEvaluator::new().evaluate(&analysis, &rules, &stored, now);
//! assert!(again.events.is_empty() && again.states.is_empty());
//! # Ok(())
//! # }
//! ```

mod reading;
mod rules;
#[cfg(test)]
mod tests;
mod transition;

pub use rules::RuleEvaluator;

use std::fmt::Debug;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::analysis::Analysis;
use crate::model::{AlertRule, AlertState, AlertStates, Fingerprint, Severity};

/// Whether an event opens or closes an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertEventKind {
    /// The alert fires (first time, again after its cooldown, or at a higher severity).
    Firing,
    /// A firing alert cleared (only for rules with `notify_resolved`).
    Resolved,
}

/// One alert to notify.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertEvent {
    /// Which alert.
    pub fingerprint: Fingerprint,
    /// Firing or resolved.
    pub kind: AlertEventKind,
    /// The rule's severity.
    pub severity: Severity,
    /// The analysed day.
    pub day: NaiveDate,
    /// v(D).
    pub value: f64,
    /// What the value was compared with (the window's day, or the seasonal median).
    pub baseline: Option<f64>,
    /// The change against the baseline in percent, when defined.
    pub change_pct: Option<f64>,
}

/// Events to send and the states to store after one evaluation.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Evaluation {
    /// Alerts to notify.
    pub events: Vec<AlertEvent>,
    /// Every state that changed (to be stored).
    pub states: Vec<AlertState>,
}

/// Evaluates rules against an analysis and the stored alert states. Pure: the same
/// inputs give the same outputs, and nothing is stored or sent here.
pub trait AlertEvaluator: Send + Sync + Debug {
    /// Evaluates `rules` on `analysis`, given the `states` stored so far and the time now
    /// (for cooldowns).
    fn evaluate(
        &self,
        analysis: &Analysis,
        rules: &[AlertRule],
        states: &AlertStates,
        now: DateTime<Utc>,
    ) -> Evaluation;
}

impl<T: AlertEvaluator + ?Sized> AlertEvaluator for Arc<T> {
    fn evaluate(
        &self,
        a: &Analysis,
        r: &[AlertRule],
        s: &AlertStates,
        now: DateTime<Utc>,
    ) -> Evaluation {
        (**self).evaluate(a, r, s, now)
    }
}

impl<T: AlertEvaluator + ?Sized> AlertEvaluator for Box<T> {
    fn evaluate(
        &self,
        a: &Analysis,
        r: &[AlertRule],
        s: &AlertStates,
        now: DateTime<Utc>,
    ) -> Evaluation {
        (**self).evaluate(a, r, s, now)
    }
}
