//! Alerting (DESIGN §6): the [`AlertEvaluator`] trait and the events it produces.

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
