//! A property test of the alerting invariants over random daily sequences: every
//! day evaluated, stored and re-run like the pipeline does.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use proptest::prelude::*;

use super::{Harness, day, hours, morning_after, rule, summary};
use crate::alert::{AlertEvaluator, AlertEvent, AlertEventKind, Evaluation, RuleEvaluator};
use crate::analysis::{Analysis, SeriesSummary};
use crate::model::{AlertState, AlertStatus, Condition, Direction, Severity, Window};

/// What the test expects a day to be for the proptest's rule (PctChange DoD,
/// either way, 50 %, min_baseline 10), computed independently of the evaluator.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Truth {
    Missing,
    NoData,
    Breach,
    Clear,
}

/// One generated day: v(D) choice, v(D−1) choice, severity, minutes of jitter on the
/// evaluation time, and whether the day is evaluated twice.
type GenDay = (u8, u8, u8, i64, bool);

fn day_input(value: u8, prev: u8) -> (Option<SeriesSummary>, Truth) {
    let value = match value {
        0 => return (None, Truth::Missing),
        1 => 0.0,
        2 => 40.0,
        3 => 100.0,
        _ => 200.0,
    };
    let mut s = summary("", value);
    let prev = [None, Some(0.0), Some(5.0), Some(100.0)][usize::from(prev)];
    s.prev_day = prev;
    s.dod_pct = prev.filter(|p| *p != 0.0).map(|p| (value - p) / p * 100.0);
    let truth = match (prev, s.dod_pct) {
        (_, None) => Truth::NoData,
        (Some(p), _) if p < 10.0 => Truth::NoData,
        (_, Some(pct)) if pct.abs() >= 50.0 => Truth::Breach,
        _ => Truth::Clear,
    };
    (Some(s), truth)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn daily_sequences_keep_the_alerting_invariants(
        days in prop::collection::vec((0u8..5, 0u8..4, 0u8..3, 0i64..180, any::<bool>()), 1..50),
        for_days in 1u32..4,
        cooldown_h in prop::sample::select(vec![0u64, 12, 24, 47, 48, 72, 168]),
        notify_resolved in any::<bool>(),
    ) {
        check_sequence(&days, for_days, hours(cooldown_h), notify_resolved)?;
    }
}

fn check_sequence(
    days: &[GenDay],
    for_days: u32,
    cooldown: Duration,
    notify_resolved: bool,
) -> Result<(), TestCaseError> {
    let mut r = rule(
        9,
        Condition::PctChange {
            window: Window::Dod,
            direction: Direction::Either,
            threshold_pct: 50.0,
        },
    );
    r.for_days = for_days;
    r.cooldown = cooldown;
    r.notify_resolved = notify_resolved;
    r.min_baseline = Some(10.0);
    let mut h = Harness::new(r);
    let cooldown = TimeDelta::from_std(cooldown).unwrap();
    let mut truths: Vec<Truth> = Vec::new();
    // (when, event) of every event sent so far.
    let mut sent: Vec<(DateTime<Utc>, AlertEvent)> = Vec::new();
    let mut status = None;

    for (n, &(value, prev, severity, jitter, twice)) in days.iter().enumerate() {
        let n = n as u64;
        h.rule().severity =
            [Severity::Info, Severity::Warning, Severity::Critical][usize::from(severity)];
        let (input, truth) = day_input(value, prev);
        truths.push(truth);
        let now = morning_after(n) + TimeDelta::minutes(jitter);
        let analysis = Analysis {
            day: day(n),
            summaries: input.into_iter().collect(),
        };

        let e = RuleEvaluator.evaluate(&analysis, &h.rules, &h.states, now);
        let again = RuleEvaluator.evaluate(&analysis, &h.rules, &h.states, now);
        prop_assert_eq!(&e, &again, "not deterministic on day {}", n);
        prop_assert!(e.events.len() <= 1 && e.states.len() <= 1);
        for s in &e.states {
            let json = serde_json::to_string(s).unwrap();
            prop_assert_eq!(&serde_json::from_str::<AlertState>(&json).unwrap(), s);
            h.states.insert(s.fingerprint.clone(), s.clone());
        }
        if twice {
            let rerun =
                RuleEvaluator.evaluate(&analysis, &h.rules, &h.states, now + TimeDelta::hours(2));
            prop_assert_eq!(rerun, Evaluation::default(), "re-run of day {}", n);
        }

        match truth {
            Truth::Missing | Truth::NoData => {
                prop_assert_eq!(
                    &e,
                    &Evaluation::default(),
                    "{:?} day {} changed something",
                    truth,
                    n
                );
            }
            Truth::Breach => prop_assert!(
                e.events.iter().all(|e| e.kind == AlertEventKind::Firing),
                "non-firing event on a breached day {}: {:?}",
                n,
                e
            ),
            Truth::Clear => prop_assert!(
                e.events.iter().all(|e| e.kind == AlertEventKind::Resolved),
                "firing event on a clear day {}: {:?}",
                n,
                e
            ),
        }

        let prev_status = status;
        status = h.states.values().next().map(|s| s.status);
        if status == Some(AlertStatus::Firing) && prev_status != Some(AlertStatus::Firing) {
            // Turned firing: the last for_days days were all breached.
            let start = truths.len().checked_sub(for_days as usize);
            prop_assert!(
                start.is_some_and(|s| truths[s..].iter().all(|t| *t == Truth::Breach)),
                "firing on day {} after {:?}",
                n,
                truths
            );
            // The first firing ever, or the first after a resolved card, is always sent.
            let last = sent.last().map(|(_, e)| e.kind);
            if last.is_none() || last == Some(AlertEventKind::Resolved) {
                prop_assert_eq!(e.events.len(), 1, "firing on day {} not sent", n);
            }
        }
        let tail = truths.len().saturating_sub(for_days as usize);
        if truths.len() >= for_days as usize && truths[tail..].iter().all(|t| *t == Truth::Breach) {
            prop_assert_eq!(
                status,
                Some(AlertStatus::Firing),
                "{} breached days, not firing: {:?}",
                for_days,
                truths
            );
        }
        if truth == Truth::Clear {
            prop_assert_ne!(status, Some(AlertStatus::Firing));
        }
        sent.extend(e.events.into_iter().map(|e| (now, e)));
    }

    let mut last_firing: Option<&(DateTime<Utc>, AlertEvent)> = None;
    let mut previous_kind = None;
    for entry in &sent {
        let (at, event) = entry;
        match event.kind {
            AlertEventKind::Resolved => {
                prop_assert!(notify_resolved, "resolved event without notify_resolved");
                prop_assert_eq!(
                    previous_kind,
                    Some(AlertEventKind::Firing),
                    "resolved not after a firing: {:?}",
                    sent
                );
                last_firing = None;
            }
            AlertEventKind::Firing => {
                if let Some((then, before)) = last_firing {
                    prop_assert!(
                        *at - *then >= cooldown || event.severity > before.severity,
                        "two firing events inside the cooldown without escalation: {:?}",
                        sent
                    );
                }
                last_firing = Some(entry);
            }
        }
        previous_kind = Some(event.kind);
    }
    Ok(())
}
