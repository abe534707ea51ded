//! Behaviour of [`RuleEvaluator`] day after day: rule matching and every guard, one
//! test each; the invariants over random sequences are in `invariants`.

mod invariants;

use std::time::Duration;

use chrono::{DateTime, Days, NaiveDate, TimeDelta, TimeZone, Utc};

use super::{AlertEvaluator, AlertEvent, AlertEventKind, Evaluation, RuleEvaluator};
use crate::analysis::{Analysis, SeriesKey, SeriesSummary};
use crate::model::{
    AbsOp, AlertRule, AlertRuleSpec, AlertState, AlertStates, AlertStatus, AppId, BundleId,
    ChannelId, Condition, Direction, Metric, Platform, RuleId, Severity, Window,
};

/// A summary of app 1's downloads in `segment` with only v(D) known.
pub(super) fn summary(segment: &str, value: f64) -> SeriesSummary {
    summary_of(AppId(1), Metric::DOWNLOADS, segment, value)
}

fn summary_of(app: AppId, metric: Metric, segment: &str, value: f64) -> SeriesSummary {
    SeriesSummary {
        key: SeriesKey {
            platform: Platform::Ios,
            bundle_id: BundleId::parse(Platform::Ios, &format!("com.example.app{}", app.0))
                .unwrap(),
            metric,
            segment: segment.to_owned(),
            app_id: app,
        },
        value,
        prev_day: None,
        dod_pct: None,
        prev_week: None,
        wow_pct: None,
        prev_year: None,
        yoy_pct: None,
        avg_7d: value,
        avg_28d: value,
        seasonal_median: None,
        seasonal_mad: None,
        seasonal_z: None,
    }
}

/// Day `n` of the test calendar.
fn day(n: u64) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 3, 1)
        .unwrap()
        .checked_add_days(Days::new(n))
        .unwrap()
}

/// When day `n` is evaluated: 09:00 the morning after.
fn morning_after(n: u64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap() + TimeDelta::days(n as i64)
}

fn hours(h: u64) -> Duration {
    Duration::from_secs(h * 3600)
}

fn rule(id: i64, condition: Condition) -> AlertRule {
    let now = morning_after(0);
    AlertRule {
        id: RuleId(id),
        version: 1,
        created_at: now,
        updated_at: now,
        spec: AlertRuleSpec::new(
            format!("rule {id}"),
            Metric::DOWNLOADS,
            condition,
            Severity::Warning,
            ChannelId(1),
        )
        .unwrap(),
    }
}

/// Breached above 10: 20 breaches, 5 is clear.
fn above_10() -> AlertRule {
    rule(
        1,
        Condition::Absolute {
            op: AbsOp::Above,
            value: 10.0,
        },
    )
}

const HIGH: Option<f64> = Some(20.0);
const LOW: Option<f64> = Some(5.0);
const MISSING: Option<f64> = None;

/// Drives one evaluator day after day, storing its states like the pipeline does.
struct Harness {
    rules: Vec<AlertRule>,
    states: AlertStates,
}

impl Harness {
    fn new(rule: AlertRule) -> Self {
        Harness {
            rules: vec![rule],
            states: AlertStates::new(),
        }
    }

    fn rule(&mut self) -> &mut AlertRule {
        &mut self.rules[0]
    }

    /// Evaluates `summaries` as day `n` at `now` and stores the changed states.
    fn run_at(&mut self, n: u64, summaries: Vec<SeriesSummary>, now: DateTime<Utc>) -> Evaluation {
        let analysis = Analysis {
            day: day(n),
            summaries,
        };
        let evaluation = RuleEvaluator::new().evaluate(&analysis, &self.rules, &self.states, now);
        for s in &evaluation.states {
            self.states.insert(s.fingerprint.clone(), s.clone());
        }
        evaluation
    }

    /// Day `n` of app 1's total downloads (absent when `value` is `None`), evaluated
    /// the morning after.
    fn run(&mut self, n: u64, value: Option<f64>) -> Evaluation {
        let summaries = value.map(|v| summary("", v)).into_iter().collect();
        self.run_at(n, summaries, morning_after(n))
    }

    fn only_state(&self) -> &AlertState {
        assert_eq!(self.states.len(), 1, "{:?}", self.states);
        self.states.values().next().unwrap()
    }
}

fn kinds(e: &Evaluation) -> Vec<AlertEventKind> {
    e.events.iter().map(|e| e.kind).collect()
}

const FIRING: [AlertEventKind; 1] = [AlertEventKind::Firing];
const RESOLVED: [AlertEventKind; 1] = [AlertEventKind::Resolved];

// ---- which series a rule watches ----

#[test]
fn a_rule_for_one_app_watches_only_that_app() {
    let mut r = above_10();
    r.app_id = Some(AppId(2));
    let mut h = Harness::new(r);
    let e = h.run_at(
        0,
        vec![
            summary_of(AppId(1), Metric::DOWNLOADS, "", 50.0),
            summary_of(AppId(2), Metric::DOWNLOADS, "", 50.0),
        ],
        morning_after(0),
    );
    assert_eq!(e.events.len(), 1, "{e:?}");
    assert_eq!(e.events[0].fingerprint.app_id, AppId(2));
}

#[test]
fn a_rule_without_app_watches_every_app_as_separate_alerts() {
    let mut h = Harness::new(above_10());
    let e = h.run_at(
        0,
        vec![
            summary_of(AppId(2), Metric::DOWNLOADS, "", 50.0),
            summary_of(AppId(1), Metric::DOWNLOADS, "", 50.0),
        ],
        morning_after(0),
    );
    let apps: Vec<AppId> = e.events.iter().map(|e| e.fingerprint.app_id).collect();
    assert_eq!(apps, [AppId(1), AppId(2)]);
    assert_eq!(e.states.len(), 2);
}

#[test]
fn a_rule_watches_only_its_metric() {
    let mut h = Harness::new(above_10());
    let e = h.run_at(
        0,
        vec![summary_of(AppId(1), Metric::SESSIONS, "", 50.0)],
        morning_after(0),
    );
    assert_eq!(e, Evaluation::default());
}

#[test]
fn a_rule_without_segment_watches_only_the_total() {
    let mut h = Harness::new(above_10());
    let e = h.run_at(
        0,
        vec![summary("country:US", 50.0), summary("", 50.0)],
        morning_after(0),
    );
    assert_eq!(e.events.len(), 1, "{e:?}");
    assert_eq!(e.events[0].fingerprint.segment, "");
}

#[test]
fn a_rule_with_a_segment_watches_only_that_segment() {
    let mut r = above_10();
    r.segment = Some("country:US".into());
    let mut h = Harness::new(r);
    let e = h.run_at(
        0,
        vec![
            summary("", 50.0),
            summary("country:FR", 50.0),
            summary("country:US", 50.0),
        ],
        morning_after(0),
    );
    assert_eq!(e.events.len(), 1, "{e:?}");
    assert_eq!(e.events[0].fingerprint.segment, "country:US");
}

#[test]
fn inactive_rules_are_skipped() {
    let mut r = above_10();
    r.is_active = false;
    let mut h = Harness::new(r);
    assert_eq!(h.run(0, HIGH), Evaluation::default());
}

#[test]
fn events_and_states_are_ordered_by_fingerprint() {
    let mut second = above_10();
    second.id = RuleId(2);
    let h = Harness {
        rules: vec![second, above_10()],
        states: AlertStates::new(),
    };
    let analysis = Analysis {
        day: day(0),
        summaries: vec![
            summary_of(AppId(3), Metric::DOWNLOADS, "", 50.0),
            summary_of(AppId(1), Metric::DOWNLOADS, "", 50.0),
            summary_of(AppId(2), Metric::DOWNLOADS, "", 50.0),
        ],
    };
    let e = RuleEvaluator.evaluate(&analysis, &h.rules, &h.states, morning_after(0));
    let order: Vec<(i64, i64)> = e
        .events
        .iter()
        .map(|e| (e.fingerprint.rule_id.0, e.fingerprint.app_id.0))
        .collect();
    assert_eq!(order, [(1, 1), (1, 2), (1, 3), (2, 1), (2, 2), (2, 3)]);
    let states: Vec<_> = e.states.iter().map(|s| s.fingerprint.clone()).collect();
    let events: Vec<_> = e.events.iter().map(|e| e.fingerprint.clone()).collect();
    assert_eq!(states, events);
}

#[test]
fn an_event_carries_the_rules_severity_and_the_days_numbers() {
    let mut r = rule(
        4,
        Condition::PctChange {
            window: Window::Wow,
            direction: Direction::Down,
            threshold_pct: 30.0,
        },
    );
    r.severity = Severity::Critical;
    let mut h = Harness::new(r);
    let mut s = summary("", 40.0);
    s.prev_week = Some(100.0);
    s.wow_pct = Some(-60.0);
    let e = h.run_at(3, vec![s], morning_after(3));
    assert_eq!(
        e.events,
        [AlertEvent {
            fingerprint: h.only_state().fingerprint.clone(),
            kind: AlertEventKind::Firing,
            severity: Severity::Critical,
            day: day(3),
            value: 40.0,
            baseline: Some(100.0),
            change_pct: Some(-60.0),
        }]
    );
    let fp = &e.events[0].fingerprint;
    assert_eq!(
        (fp.rule_id, fp.app_id, &fp.metric, fp.segment.as_str()),
        (RuleId(4), AppId(1), &Metric::DOWNLOADS, "")
    );
}

// ---- for_days ----

#[test]
fn for_days_waits_for_that_many_consecutive_breached_days() {
    let mut h = Harness::new(above_10());
    h.rule().for_days = 3;
    for n in 0..2 {
        let e = h.run(n, HIGH);
        assert!(e.events.is_empty(), "day {n}: {e:?}");
        let s = h.only_state();
        assert_eq!(
            (s.status, s.breach_days),
            (AlertStatus::Pending, n as u32 + 1)
        );
    }
    assert_eq!(kinds(&h.run(2, HIGH)), FIRING);
    assert_eq!(h.only_state().status, AlertStatus::Firing);
    assert_eq!(h.only_state().breach_days, 3);
}

#[test]
fn a_gap_in_the_data_restarts_a_pending_streak() {
    let mut h = Harness::new(above_10());
    h.rule().for_days = 2;
    h.run(0, HIGH);
    h.run(1, MISSING);
    let e = h.run(2, HIGH);
    assert!(e.events.is_empty(), "{e:?}");
    assert_eq!(h.only_state().breach_days, 1);
    assert_eq!(h.only_state().since, morning_after(2), "a new streak");
    assert_eq!(kinds(&h.run(3, HIGH)), FIRING);
}

#[test]
fn a_clear_day_resets_a_pending_streak_without_an_event() {
    let mut h = Harness::new(above_10());
    h.rule().for_days = 2;
    h.rule().notify_resolved = true;
    h.run(0, HIGH);
    let e = h.run(1, LOW);
    assert!(e.events.is_empty(), "{e:?}");
    let s = h.only_state();
    assert_eq!((s.status, s.breach_days), (AlertStatus::Pending, 0));
    assert_eq!(s.since, morning_after(1));
    assert!(h.run(2, HIGH).events.is_empty());
    assert_eq!(kinds(&h.run(3, HIGH)), FIRING);
}

#[test]
fn a_pending_streak_keeps_the_day_it_began() {
    let mut h = Harness::new(above_10());
    h.rule().for_days = 3;
    h.run(0, HIGH);
    h.run(1, HIGH);
    assert_eq!(h.only_state().since, morning_after(0));
    h.run(2, HIGH);
    assert_eq!(h.only_state().since, morning_after(2), "firing since");
}

#[test]
fn a_firing_alert_stays_firing_across_a_gap() {
    let mut h = Harness::new(above_10());
    h.rule().for_days = 2;
    h.run(0, HIGH);
    assert_eq!(kinds(&h.run(1, HIGH)), FIRING);
    h.run(2, MISSING);
    let e = h.run(3, HIGH);
    let s = h.only_state();
    assert_eq!((s.status, s.breach_days), (AlertStatus::Firing, 1));
    assert_eq!(s.since, morning_after(1));
    // Cooldown 0: still firing, so it is repeated.
    assert_eq!(kinds(&e), FIRING);
}

// ---- cooldown and escalation ----

#[test]
fn the_cooldown_holds_back_repeats_until_it_has_passed() {
    let mut h = Harness::new(above_10());
    h.rule().cooldown = hours(48);
    assert_eq!(kinds(&h.run(0, HIGH)), FIRING);
    let e = h.run(1, HIGH);
    assert!(e.events.is_empty(), "inside the cooldown: {e:?}");
    // The state still advances silently.
    assert_eq!(e.states.len(), 1);
    assert_eq!(h.only_state().breach_days, 2);
    assert_eq!(h.only_state().last_notified, Some(morning_after(0)));
    // Exactly 48 h later: the cooldown has passed.
    assert_eq!(kinds(&h.run(2, HIGH)), FIRING);
    assert_eq!(h.only_state().last_notified, Some(morning_after(2)));
    assert!(h.run(3, HIGH).events.is_empty());
}

#[test]
fn the_cooldown_is_measured_on_the_clock_not_on_days() {
    let mut h = Harness::new(above_10());
    h.rule().cooldown = hours(24);
    h.run(0, HIGH);
    // Day 1 evaluated a minute early: 23 h 59 min after the card.
    let early = morning_after(1) - TimeDelta::minutes(1);
    assert!(
        h.run_at(1, vec![summary("", 20.0)], early)
            .events
            .is_empty()
    );
    assert_eq!(kinds(&h.run(2, HIGH)), FIRING);
}

#[test]
fn without_a_cooldown_a_firing_alert_repeats_on_every_breached_day() {
    let mut h = Harness::new(above_10());
    for n in 0..4 {
        assert_eq!(kinds(&h.run(n, HIGH)), FIRING, "day {n}");
    }
}

#[test]
fn a_higher_severity_re_notifies_inside_the_cooldown() {
    let mut h = Harness::new(above_10());
    h.rule().cooldown = hours(24 * 7);
    assert_eq!(h.run(0, HIGH).events[0].severity, Severity::Warning);
    h.rule().severity = Severity::Critical;
    let e = h.run(1, HIGH);
    assert_eq!(kinds(&e), FIRING);
    assert_eq!(e.events[0].severity, Severity::Critical);
    assert_eq!(h.only_state().last_severity, Some(Severity::Critical));
    // Critical again: a repeat, held back.
    assert!(h.run(2, HIGH).events.is_empty());
    // Lower than last notified: held back too.
    h.rule().severity = Severity::Info;
    assert!(h.run(3, HIGH).events.is_empty());
    assert_eq!(h.only_state().last_severity, Some(Severity::Critical));
}

// ---- recovery ----

#[test]
fn a_firing_alert_resolves_once_with_notify_resolved() {
    let mut h = Harness::new(above_10());
    h.rule().notify_resolved = true;
    h.run(0, HIGH);
    let e = h.run(1, LOW);
    assert_eq!(kinds(&e), RESOLVED);
    assert_eq!(
        (e.events[0].value, e.events[0].baseline, e.events[0].day),
        (5.0, None, day(1))
    );
    let s = h.only_state();
    assert_eq!((s.status, s.breach_days), (AlertStatus::Resolved, 0));
    assert_eq!(s.since, morning_after(1));
    assert_eq!(s.last_notified, Some(morning_after(1)), "the card was sent");
    for n in 2..4 {
        let e = h.run(n, LOW);
        assert!(e.events.is_empty(), "day {n}: {e:?}");
        assert_eq!(h.only_state().status, AlertStatus::Resolved);
    }
}

#[test]
fn without_notify_resolved_a_recovery_is_silent() {
    let mut h = Harness::new(above_10());
    h.run(0, HIGH);
    let e = h.run(1, LOW);
    assert!(e.events.is_empty(), "{e:?}");
    assert_eq!(h.only_state().status, AlertStatus::Resolved);
    assert_eq!(h.only_state().last_notified, Some(morning_after(0)));
}

#[test]
fn a_clear_day_creates_no_state() {
    let mut h = Harness::new(above_10());
    assert_eq!(h.run(0, LOW), Evaluation::default());
}

#[test]
fn a_silent_recovery_keeps_the_cooldown_for_the_next_firing() {
    let mut h = Harness::new(above_10());
    h.rule().cooldown = hours(24 * 7);
    h.run(0, HIGH);
    h.run(1, LOW);
    let e = h.run(2, HIGH);
    assert!(e.events.is_empty(), "flapping inside the cooldown: {e:?}");
    assert_eq!(h.only_state().status, AlertStatus::Firing);
    assert_eq!(kinds(&h.run(7, HIGH)), FIRING);
}

#[test]
fn after_a_resolved_card_the_next_firing_is_sent_inside_the_cooldown() {
    let mut h = Harness::new(above_10());
    h.rule().cooldown = hours(24 * 7);
    h.rule().notify_resolved = true;
    h.run(0, HIGH);
    assert_eq!(kinds(&h.run(1, LOW)), RESOLVED);
    assert_eq!(h.only_state().last_severity, None);
    assert_eq!(kinds(&h.run(2, HIGH)), FIRING);
    // That firing starts a new cooldown.
    assert!(h.run(3, HIGH).events.is_empty());
}

// ---- no data ----

#[test]
fn a_missing_series_is_neither_a_breach_nor_a_recovery() {
    let mut h = Harness::new(above_10());
    h.rule().notify_resolved = true;
    h.rule().for_days = 2;
    h.run(0, HIGH);
    h.run(1, HIGH);
    let before = h.only_state().clone();
    assert_eq!(h.run(2, MISSING), Evaluation::default());
    assert_eq!(h.only_state(), &before);
    assert_eq!(kinds(&h.run(3, LOW)), RESOLVED);
}

fn dod_up_50() -> AlertRule {
    rule(
        1,
        Condition::PctChange {
            window: Window::Dod,
            direction: Direction::Up,
            threshold_pct: 50.0,
        },
    )
}

fn with_dod(value: f64, prev: f64) -> SeriesSummary {
    let mut s = summary("", value);
    s.prev_day = Some(prev);
    s.dod_pct = (prev != 0.0).then(|| (value - prev) / prev * 100.0);
    s
}

#[test]
fn a_null_input_is_neither_a_breach_nor_a_recovery() {
    let mut h = Harness::new(dod_up_50());
    h.rule().notify_resolved = true;
    assert_eq!(
        kinds(&h.run_at(0, vec![with_dod(200.0, 100.0)], morning_after(0))),
        FIRING
    );
    let before = h.only_state().clone();
    // v(D−1) = 0: no dod_pct.
    let e = h.run_at(1, vec![with_dod(200.0, 0.0)], morning_after(1));
    assert_eq!(e, Evaluation::default());
    assert_eq!(h.only_state(), &before);
}

#[test]
fn below_min_baseline_is_neither_a_breach_nor_a_recovery() {
    let mut h = Harness::new(dod_up_50());
    h.rule().notify_resolved = true;
    h.rule().min_baseline = Some(50.0);
    // From 10 to 100: +900 %, but from a baseline below 50.
    let e = h.run_at(0, vec![with_dod(100.0, 10.0)], morning_after(0));
    assert_eq!(e, Evaluation::default());
    assert_eq!(
        kinds(&h.run_at(1, vec![with_dod(200.0, 100.0)], morning_after(1))),
        FIRING
    );
    // Collapsed to 1, then flat at 1: no "resolved" from a baseline of 1.
    h.run_at(2, vec![with_dod(1.0, 200.0)], morning_after(2));
    let before = h.only_state().clone();
    let e = h.run_at(3, vec![with_dod(1.0, 1.0)], morning_after(3));
    assert_eq!(e, Evaluation::default());
    assert_eq!(h.only_state(), &before);
}

// ---- idempotence ----

#[test]
fn re_evaluating_a_day_changes_nothing() {
    let mut h = Harness::new(above_10());
    h.rule().notify_resolved = true;
    assert_eq!(kinds(&h.run(0, HIGH)), FIRING);
    let later = morning_after(0) + TimeDelta::hours(5);
    assert_eq!(
        h.run_at(0, vec![summary("", 20.0)], later),
        Evaluation::default()
    );
    assert_eq!(kinds(&h.run(1, LOW)), RESOLVED);
    assert_eq!(
        h.run_at(1, vec![summary("", 5.0)], later + TimeDelta::days(1)),
        Evaluation::default()
    );
}

#[test]
fn re_evaluating_a_pending_day_does_not_count_it_twice() {
    let mut h = Harness::new(above_10());
    h.rule().for_days = 2;
    h.run(0, HIGH);
    h.run(1, HIGH);
    assert_eq!(h.only_state().status, AlertStatus::Firing);
    // A fresh alert: day 5 run twice is one day of the streak.
    let mut h = Harness::new(h.rules[0].clone());
    h.run(5, HIGH);
    let again = h.run_at(5, vec![summary("", 20.0)], morning_after(6));
    assert_eq!(again, Evaluation::default());
    assert_eq!(h.only_state().breach_days, 1);
}

#[test]
fn an_older_day_changes_nothing() {
    let mut h = Harness::new(above_10());
    h.rule().notify_resolved = true;
    h.run(5, HIGH);
    assert_eq!(h.run(3, LOW), Evaluation::default());
    assert_eq!(h.run(4, HIGH), Evaluation::default());
    assert_eq!(h.only_state().last_day, Some(day(5)));
}
