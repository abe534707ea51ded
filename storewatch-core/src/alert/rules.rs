//! [`RuleEvaluator`]: the reference [`AlertEvaluator`], applying DESIGN §6's
//! conditions and guards to a day's analysis.
//!
//! # Semantics
//!
//! The evaluator is a pure function of (analysis of day D, rules, stored states, now).
//! It returns the events to send and every state that changed, both ordered by
//! fingerprint; it stores and sends nothing.
//!
//! ## Which series a rule watches
//!
//! Inactive rules are skipped, and their states are left as they are. An active rule
//! applies to every summary whose metric is the rule's, whose app is the rule's (any
//! app when the rule has none) and whose segment is the rule's (only the total `""`
//! when the rule has none). Each (rule, app, metric, segment) is one alert, its
//! [`Fingerprint`](crate::model::Fingerprint).
//!
//! ## Conditions: breach, clear or no data
//!
//! | condition | breached when | baseline | `change_pct` |
//! | --- | --- | --- | --- |
//! | `PctChange` Up / Down / Either | pct ≥ t / pct ≤ −t / \|pct\| ≥ t, pct the window's `dod_pct`, `wow_pct` or `yoy_pct` | `prev_day`, `prev_week` or `prev_year` | the pct |
//! | `Absolute` Above / Below | value > limit / value < limit | none | none |
//! | `Anomaly` Up / Down / Either | z ≥ t / z ≤ −t / \|z\| ≥ t, z the `seasonal_z` | `seasonal_median` | (value − median) / median × 100, none when the median is 0 |
//!
//! A day is **no data** for a rule — neither a breach nor a recovery: nothing is
//! emitted and the state is not touched — when
//! - the series has no summary (no v(D)),
//! - the condition's input is null (no pct for the window, no z),
//! - `min_baseline` is set and the baseline (the window's day for `PctChange`, the
//!   seasonal median for `Anomaly`) is below it or unknown. A change from a tiny base
//!   says nothing either way: counting it as a recovery would send "resolved" while a
//!   series that collapsed stays collapsed. `min_baseline` does not apply to
//!   `Absolute`, which has no baseline,
//! - a number is not finite (stores refuse those; it would be corrupt input).
//!
//! Every other day is **breached** or **clear**.
//!
//! ## States and events
//!
//! - **for_days.** `breach_days` counts consecutive breached days up to `last_day`. A
//!   breach on D continues the streak when the last day evaluated was D−1 and it was
//!   breached; otherwise (a gap, or a clear day before) the streak restarts at 1. The
//!   alert is `Pending` while the streak is shorter than `for_days`, and turns
//!   `Firing` when it reaches it.
//! - **A firing alert stays firing** on every breached day, even after a gap in the
//!   data (the streak restarts at 1, the status does not go back to pending).
//! - **cooldown.** A breach on a firing alert sends a `Firing` event when the alert has
//!   never been notified, when at least `cooldown` has passed since `last_notified`
//!   (bound included), or when the rule's severity is higher than `last_severity`
//!   (escalation, e.g. the rule was edited to `Critical`; it re-notifies inside the
//!   cooldown). Otherwise the state advances silently. This is Alertmanager's
//!   `repeat_interval`: a still-firing alert is repeated once the interval has passed.
//!   Alertmanager refuses a zero `repeat_interval` because it evaluates continuously;
//!   here evaluations are per analysed day and re-running a day changes nothing, so a
//!   cooldown of 0 means "no cooldown": a firing alert is repeated on each breached day,
//!   at most once per day. The cooldown is measured on `now`, the wall clock: with a
//!   cooldown of exactly 24 h, a run that starts a little earlier than the day before
//!   is still inside it — use 23 h to be reminded daily.
//! - **Re-firing.** The cooldown also holds back a re-fire after a silent recovery
//!   (`notify_resolved` off): a series flapping around a threshold then sends one card
//!   per cooldown, not one per flap. After a `Resolved` card the next firing is sent
//!   at once: users who were told "resolved" must hear it broke again. The state
//!   records this by clearing `last_severity` when a resolved card is sent, so any
//!   severity counts as an escalation over it.
//! - **Recovery.** A clear day on a `Firing` alert makes it `Resolved` and, when the
//!   rule has `notify_resolved`, sends one `Resolved` event with the day's numbers. A
//!   clear day on a `Pending` alert resets its streak (`breach_days` 0, still
//!   `Pending`: stores only insert or replace states). A clear day on a resolved or
//!   reset alert sends nothing, so the `Resolved` event is produced once. A clear day
//!   for a series that has no state creates none.
//! - `last_day` is the last day evaluated with data (a clear day on a quiet alert
//!   still stores its new `last_day`), `since` when the current status (or pending
//!   streak) began, `last_notified` when the last card (firing or resolved) was sent,
//!   `last_severity` the severity of the last firing card.
//! - **Idempotence.** A day at or before a state's `last_day` changes nothing for that
//!   alert: re-running D sends no second event and counts no day twice, and a late
//!   backfill of an older day cannot rewind a streak.
//! - Every event carries the rule's current severity, the day, v(D), the baseline and
//!   the change of the table above.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::reading::read;
use super::transition::step;
use super::{AlertEvaluator, Evaluation};
use crate::analysis::{Analysis, SeriesSummary};
use crate::model::{AlertRule, AlertRuleSpec, AlertState, AlertStates, Fingerprint};

/// The reference [`AlertEvaluator`]: DESIGN §6's conditions and guards (the module
/// documentation gives the exact semantics).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RuleEvaluator;

impl RuleEvaluator {
    /// A rule evaluator (it holds no configuration: everything is in the rules).
    pub fn new() -> Self {
        RuleEvaluator
    }
}

impl AlertEvaluator for RuleEvaluator {
    fn evaluate(
        &self,
        analysis: &Analysis,
        rules: &[AlertRule],
        states: &AlertStates,
        now: DateTime<Utc>,
    ) -> Evaluation {
        // Changed states by fingerprint, so the output comes out sorted and a second
        // summary of the same alert (should an analysis ever hold one) sees the first's
        // state and, its day being done, changes nothing.
        let mut changed: BTreeMap<Fingerprint, (AlertState, Option<super::AlertEvent>)> =
            BTreeMap::new();
        for rule in rules.iter().filter(|r| r.is_active) {
            for summary in analysis.summaries.iter().filter(|s| applies(rule, s)) {
                let fingerprint = Fingerprint {
                    rule_id: rule.id,
                    app_id: summary.key.app_id,
                    metric: summary.key.metric.clone(),
                    segment: summary.key.segment.clone(),
                };
                let prev = changed
                    .get(&fingerprint)
                    .map(|(s, _)| s)
                    .or_else(|| states.get(&fingerprint));
                let reading = read(&rule.condition, rule.min_baseline, summary);
                if let Some(next) = step(&fingerprint, prev, rule, analysis.day, reading, now) {
                    changed.insert(fingerprint, (next.state, next.event));
                }
            }
        }
        let mut evaluation = Evaluation::default();
        for (_, (state, event)) in changed {
            evaluation.states.push(state);
            evaluation.events.extend(event);
        }
        evaluation
    }
}

fn applies(rule: &AlertRuleSpec, summary: &SeriesSummary) -> bool {
    let key = &summary.key;
    key.metric == rule.metric
        && rule.app_id.is_none_or(|app| app == key.app_id)
        && rule.segment.as_deref().unwrap_or("") == key.segment
}
