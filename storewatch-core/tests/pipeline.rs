//! Pipeline orchestration with mocked sources, notifiers, analyzer and evaluator over a
//! real MemoryStore.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns unwrap too

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use mockall::mock;
use mockall::predicate::always;
use secrecy::SecretString;
use storewatch_core::alert::{AlertEvaluator, AlertEvent, AlertEventKind, Evaluation};
use storewatch_core::analysis::{Analysis, Analyzer, MetricHistory, SeriesKey, SeriesSummary};
use storewatch_core::clock::ManualClock;
use storewatch_core::model::*;
use storewatch_core::notify::{AlertNotification, DailyReport, Delivery, Notifier};
use storewatch_core::pipeline::Pipeline;
use storewatch_core::schedule::{ExecutionRunner, RetryPolicy};
use storewatch_core::secrets::{Keyring, create_channel, create_credential};
use storewatch_core::source::{
    AppDayOutcome, CollectBatch, CollectRequest, DayOutcome, MetricSource,
};
use storewatch_core::store::{ConfigStore, HistoryQuery, MemoryStore, MetricStore, RunStore};
use storewatch_core::{Error, ErrorKind, Registry, Result};
use tokio_util::sync::CancellationToken;

mock! {
    pub Source {}
    #[async_trait]
    impl MetricSource for Source {
        fn kind(&self) -> &'static str;
        fn platform(&self) -> Platform;
        fn metrics(&self) -> &[Metric];
        async fn collect(&self, req: &CollectRequest) -> Result<CollectBatch>;
        async fn healthcheck(&self) -> Result<()>;
    }
}

mock! {
    pub Sink {}
    #[async_trait]
    impl Notifier for Sink {
        async fn send_report(&self, report: &DailyReport) -> Result<Delivery>;
        async fn send_alert(&self, alert: &AlertNotification) -> Result<Delivery>;
    }
}

mock! {
    pub Eval {}
    impl AlertEvaluator for Eval {
        fn evaluate(&self, analysis: &Analysis, rules: &[AlertRule], states: &AlertStates, now: DateTime<Utc>) -> Evaluation;
    }
}

mock! {
    pub Ana {}
    impl Analyzer for Ana {
        fn analyze(&self, history: &MetricHistory, day: NaiveDate) -> Result<Analysis>;
        fn required_days(&self, day: NaiveDate) -> Vec<NaiveDate>;
    }
}

macro_rules! debug_mock {
    ($($mock:ty),*) => {$(
        impl std::fmt::Debug for $mock {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(stringify!($mock))
            }
        }
    )*};
}
debug_mock!(MockSource, MockSink, MockEval, MockAna);

const PLANTED: &str = "planted-secret-Zq81";

fn day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 3, 1).unwrap()
}

fn keyring() -> Keyring {
    Keyring::from_raw(&[("test", [7; 32])]).unwrap()
}

struct World {
    store: Arc<MemoryStore>,
    apps: Vec<App>,
    instance: InstanceId,
}

async fn world(n_apps: usize) -> World {
    let clock = ManualClock::new("2026-03-02T06:00:00Z".parse().unwrap());
    let store = Arc::new(MemoryStore::with_clock(Arc::new(clock)));
    let mut apps = Vec::new();
    for i in 0..n_apps {
        let spec = AppSpec::new(
            format!("App {i}"),
            Platform::Ios,
            &format!("com.example.app{i}"),
        )
        .unwrap();
        apps.push(store.create_app(spec).await.unwrap());
    }
    let config = SecretString::from(format!("{{\"private_key\":\"{PLANTED}\"}}"));
    create_credential(
        store.as_ref(),
        &keyring(),
        "asc",
        Platform::Ios,
        "mock_source",
        &config,
    )
    .await
    .unwrap();
    World {
        store,
        apps,
        instance: InstanceId::from("test-instance"),
    }
}

fn pipeline(
    w: &World,
    registry: Registry,
    analyzer: Arc<dyn Analyzer>,
    evaluator: Arc<dyn AlertEvaluator>,
) -> Pipeline {
    Pipeline::builder(w.store.clone(), registry)
        .analyzer(analyzer)
        .evaluator(evaluator)
        .keyring(keyring())
        .build()
        .unwrap()
}

fn registry_with_source(source: MockSource) -> Registry {
    let source: Arc<dyn MetricSource> = Arc::new(source);
    let mut registry = Registry::new();
    registry.register_source("mock_source", move |_| Ok(source.clone()));
    registry
}

fn quiet_analyzer() -> Arc<dyn Analyzer> {
    let mut a = MockAna::new();
    a.expect_required_days()
        .returning(storewatch_core::analysis::required_days);
    a.expect_analyze().returning(|_, day| {
        Ok(Analysis {
            day,
            summaries: vec![],
        })
    });
    Arc::new(a)
}

fn quiet_evaluator() -> Arc<dyn AlertEvaluator> {
    let mut e = MockEval::new();
    e.expect_evaluate()
        .returning(|_, _, _, _| Evaluation::default());
    Arc::new(e)
}

/// Runs `exec` to its end as the test instance, with the default retry policy.
async fn execute(p: &Pipeline, w: &World, exec: &Execution) -> (Execution, Option<Execution>) {
    p.execute(
        exec,
        &w.instance,
        CancellationToken::new(),
        &RetryPolicy::default(),
    )
    .await
    .unwrap()
}

async fn claim(w: &World, new: NewExecution) -> Execution {
    let inserted = w.store.insert_execution(new).await.unwrap().unwrap();
    let claimed = w
        .store
        .claim_execution(&w.instance, Duration::from_secs(60))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(claimed.id, inserted.id);
    claimed
}

fn manual(task: Task) -> NewExecution {
    NewExecution::manual(task, day(), "2026-03-02T06:00:00Z".parse().unwrap()).with_max_retries(2)
}

/// A source answering every app and day of the request with `downloads` = app id × 10,
/// except `failing` apps (failed) and `pending` apps (not yet available).
fn answering_source(failing: Vec<AppId>, pending: Vec<AppId>) -> MockSource {
    let mut source = MockSource::new();
    source
        .expect_collect()
        .times(1)
        .returning(move |req| answer(req, &failing, &pending));
    source
}

/// The batch [`answering_source`] gives for `req`.
fn answer(req: &CollectRequest, failing: &[AppId], pending: &[AppId]) -> Result<CollectBatch> {
    {
        let mut batch = CollectBatch::default();
        for app in &req.apps {
            for d in req.days() {
                let outcome = if failing.contains(&app.app_id) {
                    DayOutcome::Failed(Error::new(
                        ErrorKind::PermissionDenied,
                        "app not in this account",
                    ))
                } else if pending.contains(&app.app_id) {
                    DayOutcome::NotYetAvailable {
                        retry_after: Some("2026-03-02T09:00:00Z".parse().unwrap()),
                    }
                } else {
                    batch.points.push(MetricPoint::total(
                        app.app_id,
                        Metric::DOWNLOADS,
                        d,
                        app.app_id.0 as f64 * 10.0,
                    ));
                    DayOutcome::Collected
                };
                batch.outcomes.push(AppDayOutcome {
                    app_id: app.app_id,
                    day: d,
                    outcome,
                });
            }
        }
        Ok(batch)
    }
}

#[tokio::test]
async fn a_source_is_built_once_per_credential_version_and_kept_across_runs() {
    let w = world(1).await;
    let builds = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&builds);
    let mut registry = Registry::new();
    registry.register_source("mock_source", move |_| {
        counter.fetch_add(1, Ordering::SeqCst);
        let mut source = MockSource::new();
        source
            .expect_collect()
            .returning(|req| answer(req, &[], &[]));
        Ok(Arc::new(source) as Arc<dyn MetricSource>)
    });
    let p = pipeline(&w, registry, quiet_analyzer(), quiet_evaluator());
    let w = &w;
    let run = |p: Pipeline| async move {
        let exec = claim(w, manual(Task::DataCollection)).await;
        let (done, _) = execute(&p, w, &exec).await;
        assert_eq!(done.status, ExecutionStatus::Success, "{}", done.error_log);
    };
    run(p.clone()).await;
    run(p.clone()).await;
    assert_eq!(builds.load(Ordering::SeqCst), 1, "kept across runs");

    let credential = w.store.list_credentials().await.unwrap().remove(0);
    w.store
        .update_credential(credential.id, credential.version, credential.spec.clone())
        .await
        .unwrap();
    run(p.clone()).await;
    run(p).await;
    assert_eq!(
        builds.load(Ordering::SeqCst),
        2,
        "rebuilt once for the credential's new version"
    );
}

#[tokio::test]
async fn one_app_failing_does_not_cost_the_others_their_points() {
    let w = world(3).await;
    let failing = w.apps[1].id;
    let p = pipeline(
        &w,
        registry_with_source(answering_source(vec![failing], vec![])),
        quiet_analyzer(),
        quiet_evaluator(),
    );
    let exec = claim(&w, manual(Task::DataCollection)).await;
    let (done, retry) = execute(&p, &w, &exec).await;

    assert_eq!(done.status, ExecutionStatus::Failed);
    assert_eq!(done.error_count, 1);
    assert_eq!(done.success_count, 2);
    assert!(
        done.error_log.contains("com.example.app1"),
        "{}",
        done.error_log
    );
    let history = w
        .store
        .history(&HistoryQuery::range(day(), day()))
        .await
        .unwrap();
    let mut stored: Vec<AppId> = history.series.iter().map(|s| s.key.app_id).collect();
    stored.sort();
    assert_eq!(stored, vec![w.apps[0].id, w.apps[2].id]);
    let retry = retry.expect("a failed execution with retries left queues a retry");
    assert_eq!(
        (retry.trigger, retry.attempt, retry.retry_of),
        (Trigger::Retry, 2, Some(done.id))
    );
}

/// A source whose collect waits until `barrier` is full: it only completes when every
/// credential's collection runs at the same time.
#[derive(Debug)]
struct RendezvousSource {
    barrier: Arc<tokio::sync::Barrier>,
}

#[async_trait]
impl MetricSource for RendezvousSource {
    fn kind(&self) -> &'static str {
        "mock_source"
    }
    fn platform(&self) -> Platform {
        Platform::Ios
    }
    fn metrics(&self) -> &[Metric] {
        &[]
    }
    async fn collect(&self, req: &CollectRequest) -> Result<CollectBatch> {
        tokio::time::timeout(Duration::from_secs(30), self.barrier.wait())
            .await
            .map_err(|_| Error::new(ErrorKind::Timeout, "the other credential never started"))?;
        let mut batch = CollectBatch::default();
        for app in &req.apps {
            batch.points.push(MetricPoint::total(
                app.app_id,
                Metric::DOWNLOADS,
                req.to,
                1.0,
            ));
        }
        Ok(batch)
    }
    async fn healthcheck(&self) -> Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn credentials_are_collected_at_the_same_time() {
    let w = world(2).await;
    let second = create_credential(
        w.store.as_ref(),
        &keyring(),
        "asc-2",
        Platform::Ios,
        "mock_source",
        &SecretString::from("{}"),
    )
    .await
    .unwrap();
    let first = w.store.list_credentials().await.unwrap()[0].id;
    for (app, credential) in w.apps.iter().zip([first, second.id]) {
        let mut spec = app.spec.clone();
        spec.credential_id = Some(credential);
        w.store.update_app(app.id, app.version, spec).await.unwrap();
    }
    let source: Arc<dyn MetricSource> = Arc::new(RendezvousSource {
        barrier: Arc::new(tokio::sync::Barrier::new(2)),
    });
    let mut registry = Registry::new();
    registry.register_source("mock_source", move |_| Ok(source.clone()));
    let p = pipeline(&w, registry, quiet_analyzer(), quiet_evaluator());
    let exec = claim(&w, manual(Task::DataCollection)).await;
    let (done, _) = execute(&p, &w, &exec).await;
    assert_eq!(done.status, ExecutionStatus::Success, "{}", done.error_log);
    assert_eq!(done.success_count, 2);
}

#[tokio::test]
async fn not_yet_available_is_pending_not_an_error_and_queues_a_retry() {
    let w = world(2).await;
    let pending = w.apps[0].id;
    let p = pipeline(
        &w,
        registry_with_source(answering_source(vec![], vec![pending])),
        quiet_analyzer(),
        quiet_evaluator(),
    );
    let exec = claim(&w, manual(Task::DataCollection)).await;
    let (done, retry) = execute(&p, &w, &exec).await;

    assert_eq!(done.status, ExecutionStatus::Success);
    assert_eq!((done.error_count, done.success_count), (0, 1));
    assert!(done.output_log.contains("pending"), "{}", done.output_log);
    let retry = retry.expect("pending data queue a retry");
    assert_eq!(retry.trigger, Trigger::Retry);
    assert_eq!(
        retry.run_after,
        "2026-03-02T09:00:00Z".parse::<DateTime<Utc>>().unwrap()
    );
}

#[tokio::test]
async fn collection_covers_missing_and_restated_days_in_one_call() {
    let w = world(1).await;
    let app = w.apps[0].id;
    let old = NaiveDate::from_ymd_opt(2026, 2, 20).unwrap();
    w.store
        .upsert_points(&[MetricPoint::total(app, Metric::DOWNLOADS, old, 1.0)])
        .await
        .unwrap();
    let mut source = MockSource::new();
    source
        .expect_collect()
        .withf(|req| req.from == NaiveDate::from_ymd_opt(2026, 2, 21).unwrap() && req.to == day())
        .times(1)
        .returning(|_| Ok(CollectBatch::default()));
    let p = pipeline(
        &w,
        registry_with_source(source),
        quiet_analyzer(),
        quiet_evaluator(),
    );
    let exec = claim(&w, manual(Task::DataCollection)).await;
    p.run(&exec, CancellationToken::new()).await;
}

/// An analyzer whose analysis has one series per app, and an evaluator firing one event
/// per rule for the first app.
fn alerting(
    w: &World,
    rules: Arc<Mutex<Vec<RuleId>>>,
) -> (Arc<dyn Analyzer>, Arc<dyn AlertEvaluator>) {
    let app = w.apps[0].clone();
    let mut a = MockAna::new();
    a.expect_required_days()
        .returning(storewatch_core::analysis::required_days);
    let key = SeriesKey {
        platform: app.platform,
        bundle_id: app.bundle_id.clone(),
        metric: Metric::DOWNLOADS,
        segment: String::new(),
        app_id: app.id,
    };
    a.expect_analyze().returning(move |_, day| {
        Ok(Analysis {
            day,
            summaries: vec![SeriesSummary {
                key: key.clone(),
                value: 10.0,
                prev_day: Some(100.0),
                dod_pct: Some(-90.0),
                prev_week: None,
                wow_pct: None,
                prev_year: None,
                yoy_pct: None,
                avg_7d: 10.0,
                avg_28d: 10.0,
                seasonal_median: None,
                seasonal_mad: None,
                seasonal_z: None,
            }],
        })
    });
    let mut e = MockEval::new();
    let app_id = app.id;
    e.expect_evaluate().returning(move |analysis, _, _, now| {
        let mut ev = Evaluation::default();
        for rule in rules.lock().unwrap().iter() {
            let fingerprint = Fingerprint {
                rule_id: *rule,
                app_id,
                metric: Metric::DOWNLOADS,
                segment: String::new(),
            };
            ev.states.push(AlertState {
                fingerprint: fingerprint.clone(),
                status: AlertStatus::Firing,
                breach_days: 1,
                last_day: Some(analysis.day),
                since: now,
                last_notified: Some(now),
                last_severity: Some(Severity::Critical),
            });
            ev.events.push(AlertEvent {
                fingerprint,
                kind: AlertEventKind::Firing,
                severity: Severity::Critical,
                day: analysis.day,
                value: 10.0,
                baseline: Some(100.0),
                change_pct: Some(-90.0),
            });
        }
        ev
    });
    (Arc::new(a), Arc::new(e))
}

async fn rule(w: &World, name: &str, channel: ChannelId) -> AlertRule {
    let condition = Condition::PctChange {
        window: Window::Dod,
        direction: Direction::Down,
        threshold_pct: 50.0,
    };
    let spec = AlertRuleSpec::new(
        name,
        Metric::DOWNLOADS,
        condition,
        Severity::Critical,
        channel,
    )
    .unwrap();
    w.store.create_rule(spec).await.unwrap()
}

async fn channel(w: &World, name: &str) -> Channel {
    let config = SecretString::from(format!(
        "{{\"webhook_url\":\"https://open.feishu.cn/open-apis/bot/v2/hook/{PLANTED}\"}}"
    ));
    create_channel(
        w.store.as_ref(),
        &keyring(),
        name,
        &format!("mock_{name}"),
        &config,
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn a_retry_does_not_resend_what_was_delivered() {
    let w = world(1).await;
    let (ok_channel, flaky_channel) = (channel(&w, "ok").await, channel(&w, "flaky").await);
    let rules = Arc::new(Mutex::new(vec![
        rule(&w, "to ok", ok_channel.id).await.id,
        rule(&w, "to flaky", flaky_channel.id).await.id,
    ]));
    let mut ok = MockSink::new();
    ok.expect_send_alert()
        .times(1)
        .returning(|_| Ok(Delivery::default()));
    let mut flaky = MockSink::new();
    let mut calls = 0;
    flaky.expect_send_alert().times(2).returning(move |_| {
        calls += 1;
        if calls == 1 {
            Err(Error::new(ErrorKind::Unavailable, "502 from Lark"))
        } else {
            Ok(Delivery::default())
        }
    });
    let mut registry = Registry::new();
    let (ok, flaky): (Arc<dyn Notifier>, Arc<dyn Notifier>) = (Arc::new(ok), Arc::new(flaky));
    registry.register_notifier("mock_ok", move |_| Ok(ok.clone()));
    registry.register_notifier("mock_flaky", move |_| Ok(flaky.clone()));
    let (analyzer, evaluator) = alerting(&w, rules);
    let p = pipeline(&w, registry, analyzer, evaluator);

    let first = claim(&w, manual(Task::AlertCheck)).await;
    let (first, retry) = execute(&p, &w, &first).await;
    assert_eq!(first.status, ExecutionStatus::Failed);
    assert_eq!(
        (
            first.notifications_sent,
            first.error_count,
            first.alerts_generated
        ),
        (1, 1, 2)
    );
    let retry = retry.expect("retry queued");
    let states = w.store.alert_states().await.unwrap();
    assert_eq!(
        states.len(),
        1,
        "the undelivered alert keeps its old state so the retry sends it"
    );

    w.store.request_cancel(retry.id).await.unwrap();
    let second = claim(
        &w,
        NewExecution::retry(&first, "2026-03-02T06:00:00Z".parse().unwrap()),
    )
    .await;
    let (second, _) = execute(&p, &w, &second).await;
    assert_eq!(
        second.status,
        ExecutionStatus::Success,
        "{}",
        second.error_log
    );
    assert_eq!(
        second.notifications_sent, 1,
        "only the failed card is sent again"
    );
    assert!(
        second.output_log.contains("already delivered"),
        "{}",
        second.output_log
    );
    let deliveries = w.store.list_deliveries(first.id).await.unwrap();
    assert_eq!(deliveries.len(), 2);
    assert!(deliveries.iter().all(|d| d.status == DeliveryStatus::Sent));
}

#[tokio::test]
async fn skip_notifications_sends_nothing() {
    let w = world(1).await;
    let ch = channel(&w, "ok").await;
    let rules = Arc::new(Mutex::new(vec![rule(&w, "r", ch.id).await.id]));
    w.store
        .create_report(ReportSpec {
            name: "daily".into(),
            app_id: None,
            metrics: vec![Metric::DOWNLOADS],
            channels: vec![ch.id],
            is_active: true,
        })
        .await
        .unwrap();
    let mut sink = MockSink::new();
    sink.expect_send_alert().times(0);
    sink.expect_send_report().times(0);
    let sink: Arc<dyn Notifier> = Arc::new(sink);
    let mut registry = registry_with_source(answering_source(vec![], vec![]));
    registry.register_notifier("mock_ok", move |_| Ok(sink.clone()));
    let (analyzer, evaluator) = alerting(&w, rules);
    let p = pipeline(&w, registry, analyzer, evaluator);
    let exec = claim(&w, manual(Task::FullAnalysis).with_skip_notifications(true)).await;
    let report = p.run(&exec, CancellationToken::new()).await;
    assert_eq!(
        report.status,
        ExecutionStatus::Success,
        "{}",
        report.error_log
    );
    assert_eq!((report.alerts_generated, report.notifications_sent), (1, 0));
}

#[tokio::test]
async fn full_analysis_sends_the_daily_report_once_per_channel() {
    let w = world(2).await;
    let ch = channel(&w, "ok").await;
    w.store
        .create_report(ReportSpec {
            name: "daily".into(),
            app_id: None,
            metrics: vec![Metric::DOWNLOADS],
            channels: vec![ch.id],
            is_active: true,
        })
        .await
        .unwrap();
    let mut sink = MockSink::new();
    let apps: Vec<String> = w.apps.iter().map(|a| a.name.clone()).collect();
    sink.expect_send_report()
        .withf(move |r| {
            r.apps
                .iter()
                .map(|a| a.app_name.clone())
                .collect::<Vec<_>>()
                == apps
                && r.apps[1].metrics[0].value == Some(20.0)
        })
        .times(1)
        .returning(|_| Ok(Delivery::default()));
    let sink: Arc<dyn Notifier> = Arc::new(sink);
    let mut registry = registry_with_source(answering_source(vec![], vec![]));
    registry.register_notifier("mock_ok", move |_| Ok(sink.clone()));
    let p = pipeline(&w, registry, quiet_analyzer(), quiet_evaluator());
    let exec = claim(&w, manual(Task::FullAnalysis)).await;
    let report = p.run(&exec, CancellationToken::new()).await;
    assert_eq!(
        report.status,
        ExecutionStatus::Success,
        "{}",
        report.error_log
    );
    assert_eq!(report.notifications_sent, 1);
}

#[tokio::test]
async fn alert_check_loads_only_the_required_days() {
    let w = world(1).await;
    let app = w.apps[0].id;
    let points: Vec<MetricPoint> = (0..400)
        .map(|i| MetricPoint::total(app, Metric::DOWNLOADS, day() - chrono::Days::new(i), 1.0))
        .collect();
    w.store.upsert_points(&points).await.unwrap();
    let mut a = MockAna::new();
    a.expect_required_days()
        .returning(storewatch_core::analysis::required_days);
    a.expect_analyze()
        .with(always(), always())
        .times(1)
        .returning(|history, day| {
            let days: Vec<NaiveDate> = history.series[0].points.iter().map(|p| p.0).collect();
            assert_eq!(
                days.len(),
                storewatch_core::analysis::required_days(day).len()
            );
            Ok(Analysis {
                day,
                summaries: vec![],
            })
        });
    let p = pipeline(&w, Registry::new(), Arc::new(a), quiet_evaluator());
    let exec = claim(&w, manual(Task::AlertCheck)).await;
    let report = p.run(&exec, CancellationToken::new()).await;
    assert_eq!(
        report.status,
        ExecutionStatus::Success,
        "{}",
        report.error_log
    );
}

#[tokio::test]
async fn a_cancelled_run_ends_cancelled() {
    let w = world(1).await;
    let p = pipeline(
        &w,
        registry_with_source(MockSource::new()),
        quiet_analyzer(),
        quiet_evaluator(),
    );
    let exec = claim(&w, manual(Task::FullAnalysis)).await;
    let cancel = CancellationToken::new();
    cancel.cancel();
    let report = p.run(&exec, cancel).await;
    assert_eq!(report.status, ExecutionStatus::Cancelled);
}

#[tokio::test]
async fn a_planted_secret_never_leaks_into_debug_errors_or_logs() {
    let logs = storewatch_core::testkit::logs::capture();

    let w = world(1).await;
    let ch = channel(&w, "ok").await;
    let rules = Arc::new(Mutex::new(vec![rule(&w, "r", ch.id).await.id]));
    let mut registry = Registry::new();
    // Factories that fail the way a bad config would: the error must not echo the config.
    registry.register_source("mock_source", |_| {
        Err(Error::new(
            ErrorKind::Config,
            "private_key is not a PEM key",
        ))
    });
    registry.register_notifier("mock_ok", |_| {
        Err(Error::new(ErrorKind::Config, "webhook refused"))
    });
    let (analyzer, evaluator) = alerting(&w, rules);
    let p = pipeline(&w, registry, analyzer, evaluator);
    let exec = claim(&w, manual(Task::FullAnalysis)).await;
    let (done, _) = execute(&p, &w, &exec).await;
    assert_eq!(done.status, ExecutionStatus::Failed);

    let credentials = w.store.list_credentials().await.unwrap();
    let channels = w.store.list_channels().await.unwrap();
    let open_err = keyring()
        .open(
            "credential",
            credentials[0].id.0 + 1,
            &credentials[0].sealed,
        )
        .unwrap_err();
    let everything = [
        format!("{p:?}"),
        format!("{credentials:?}"),
        format!("{channels:?}"),
        format!("{:?}", keyring()),
        format!("{done:?}"),
        open_err.to_string(),
        format!("{open_err:?}"),
        serde_json::to_string(&credentials).unwrap(),
        logs.text(),
    ];
    assert!(
        !everything[8].is_empty(),
        "the run logged nothing, so the log check would prove nothing"
    );
    for text in everything {
        assert!(
            !text.contains(PLANTED),
            "planted secret leaked into: {text}"
        );
    }
}
