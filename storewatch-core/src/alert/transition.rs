//! One alert's step from its stored state to the next, given a day's
//! [`Reading`]: the for_days, cooldown, escalation and resolution guards (see the
//! semantics in [`rules`](super::rules)).

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};

use super::reading::Reading;
use super::{AlertEvent, AlertEventKind};
use crate::model::{AlertRuleSpec, AlertState, AlertStatus, Fingerprint};

/// What a step changed: the state to store and, maybe, an event to send.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Step {
    /// The new state.
    pub(super) state: AlertState,
    /// The card to send, if any.
    pub(super) event: Option<AlertEvent>,
}

/// Advances the alert `fingerprint` of `rule` by the reading of `day`.
///
/// `None` when nothing changes: no data, or a day already evaluated (or older).
pub(super) fn step(
    fingerprint: &Fingerprint,
    prev: Option<&AlertState>,
    rule: &AlertRuleSpec,
    day: NaiveDate,
    reading: Reading,
    now: DateTime<Utc>,
) -> Option<Step> {
    let (breached, measure) = match reading {
        Reading::NoData => return None,
        Reading::Breach(m) => (true, m),
        Reading::Clear(m) => (false, m),
    };
    // A day at or before the last one evaluated was already counted (a re-run) or
    // would rewind the streak (a late backfill): either way it must change nothing.
    if prev
        .and_then(|p| p.last_day)
        .is_some_and(|last| day <= last)
    {
        return None;
    }
    let event = |kind| AlertEvent {
        fingerprint: fingerprint.clone(),
        kind,
        severity: rule.severity,
        day,
        value: measure.value,
        baseline: measure.baseline,
        change_pct: measure.change_pct,
    };
    if breached {
        Some(on_breach(fingerprint, prev, rule, day, now, event))
    } else {
        prev.map(|p| on_clear(p, rule, day, now, event))
    }
}

fn on_breach(
    fingerprint: &Fingerprint,
    prev: Option<&AlertState>,
    rule: &AlertRuleSpec,
    day: NaiveDate,
    now: DateTime<Utc>,
    event: impl Fn(AlertEventKind) -> AlertEvent,
) -> Step {
    // A clear day leaves breach_days at 0, so only a breached D−1 continues a streak.
    let streak = prev
        .filter(|p| p.last_day == day.pred_opt())
        .map_or(1, |p| p.breach_days.saturating_add(1));
    let mut state = prev.cloned().unwrap_or_else(|| AlertState {
        fingerprint: fingerprint.clone(),
        status: AlertStatus::Pending,
        breach_days: 0,
        last_day: None,
        since: now,
        last_notified: None,
        last_severity: None,
    });
    let was_firing = state.status == AlertStatus::Firing;
    state.breach_days = streak;
    state.last_day = Some(day);
    // A firing alert stays firing through gaps: only a day with data that is not
    // breached clears it, so a restarted streak does not send it back to pending.
    if !was_firing && streak < rule.for_days {
        if state.status != AlertStatus::Pending || streak == 1 {
            state.since = now;
        }
        state.status = AlertStatus::Pending;
        return Step { state, event: None };
    }
    if !was_firing {
        state.status = AlertStatus::Firing;
        state.since = now;
    }
    let escalated = Some(rule.severity) > state.last_severity;
    let cooled_down = state
        .last_notified
        .is_none_or(|at| cooldown_over(at, now, rule.cooldown));
    let event = (escalated || cooled_down).then(|| {
        state.last_notified = Some(now);
        state.last_severity = Some(rule.severity);
        event(AlertEventKind::Firing)
    });
    Step { state, event }
}

fn on_clear(
    prev: &AlertState,
    rule: &AlertRuleSpec,
    day: NaiveDate,
    now: DateTime<Utc>,
    event: impl Fn(AlertEventKind) -> AlertEvent,
) -> Step {
    let mut state = prev.clone();
    state.last_day = Some(day);
    let mut sent = None;
    match prev.status {
        AlertStatus::Firing => {
            state.status = AlertStatus::Resolved;
            state.since = now;
            if rule.notify_resolved {
                state.last_notified = Some(now);
                // The resolved card closes the firing one: the next firing is news,
                // not a repeat, so no cooldown holds it back.
                state.last_severity = None;
                sent = Some(event(AlertEventKind::Resolved));
            }
        }
        AlertStatus::Pending if prev.breach_days > 0 => state.since = now,
        AlertStatus::Pending | AlertStatus::Resolved => {}
    }
    state.breach_days = 0;
    Step { state, event: sent }
}

/// Whether `cooldown` has passed between `at` and `now` (bound included). A cooldown
/// too long for chrono never passes.
fn cooldown_over(at: DateTime<Utc>, now: DateTime<Utc>, cooldown: std::time::Duration) -> bool {
    TimeDelta::from_std(cooldown).is_ok_and(|c| now.signed_duration_since(at) >= c)
}
