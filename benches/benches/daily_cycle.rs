//! The daily cycle for 1,000 apps (500 iOS apps under one vendor, 500 Android apps)
//! against the fakes with 50 ms of injected latency on every request: wall time per
//! phase, requests per endpoint, and the ratio of the wall time to the floor that the
//! unavoidable requests and the providers' limits set (DESIGN §9). Targets: requests =
//! DESIGN §9's minimum, wall ≤ 1.5 × floor.
//!
//! `cargo bench -p storewatch-benches --bench daily_cycle`
//!
//! **The cycle measured.** The service has run every day before: every app's history is
//! stored through D − 1 (D = yesterday in America/Los_Angeles), 63 days of it, collected
//! beforehand by the same sources at zero latency. The cycle is one `FullAnalysis`
//! execution for D, exactly as a daily schedule runs it: DataCollection (D plus the last
//! `restate_days` = 3 days, so D − 2 … D; one source call per credential), AlertCheck (the
//! ≈ 45 days the analysis reads, PolarsAnalyzer, RuleEvaluator, alert cards), then the
//! portfolio report to a Lark webhook (split under the body limit) and its rows appended
//! to a Lark sheet. Anomalies planted on D in a few apps of each store make rules fire.
//!
//! **iOS metrics.** The iOS apps are collected for the Sales and Trends metrics (downloads,
//! re-downloads, updates, in-app units, proceeds): one report per vendor per day, which is
//! DESIGN §9's Apple minimum. The Analytics Reports flow (sessions, active devices,
//! crashes) costs about a dozen API calls per app and cycle (some 6,000 for 500 apps),
//! above Apple's 3,600 per hour per key, so with it the cycle is bound by Apple's hourly
//! budget (over an hour), not by latency: the benchmark measures those calls on a sample
//! of apps after the cycle and prints that floor instead of waiting for it.
//!
//! **The floor.** For each provider, the unavoidable requests (DESIGN §9: one Apple sales
//! report per vendor and day; one Play Reporting query per app and metric set; one Cloud
//! Storage object per app, report family and month; Lark: the alert cards and the report
//! posts on one webhook) are scheduled as early as the client's permitted concurrency and
//! the provider's documented rate windows allow (Apple 3,600/h per key; Play Reporting
//! 10/s; Lark 5/s and 100/min per bot), each taking the 50 ms latency. Without rate
//! windows this is requests × 50 ms ÷ concurrency; with them the windows bound it
//! (Play Reporting: 1,000 queries ÷ 10/s ≈ 100 s; see
//! [`request_floor`](storewatch_benches::floor::request_floor)). Providers are combined
//! as the work depends on itself: collection from Apple and from Google is independent,
//! and the pipeline collects every credential at once, so the collection floor is the
//! larger of the two (max); alerts and reports need the collected data, so Lark's floor
//! is added after it (sum).
//! Local work (parsing, storing, the analysis) is not in the floor: the ratio shows what
//! it and any needless waiting cost.
#![allow(clippy::print_stdout, clippy::unwrap_used, missing_docs)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::{Datelike, Days, NaiveDate};
use secrecy::SecretString;
use storewatch_apple::AppStoreConnectSource;
use storewatch_apple::fake::{Endpoint as AppleEndpoint, FakeAppStoreConnect};
use storewatch_benches::floor::{RateWindow, request_floor};
use storewatch_core::alert::RuleEvaluator;
use storewatch_core::analysis::PolarsAnalyzer;
use storewatch_core::clock::{Clock, SystemClock};
use storewatch_core::model::{
    AbsOp, AlertRuleSpec, AlertStatus, AppSpec, Condition, Direction, Execution, ExecutionStatus,
    InstanceId, Mention, Metric, NewExecution, Platform, ReportSpec, Severity, Task, Window,
};
use storewatch_core::notify::{AlertNotification, DailyReport, Delivery, Notifier};
use storewatch_core::pipeline::{Pipeline, PipelineConfig};
use storewatch_core::schedule::RetryPolicy;
use storewatch_core::secrets::{Keyring, create_channel, create_credential};
use storewatch_core::source::{AppTarget, CollectBatch, CollectRequest, MetricSource};
use storewatch_core::store::{ConfigStore, MemoryStore, MetricStore, RunStore};
use storewatch_core::{Registry, Result};
use storewatch_google::fake::{Endpoint as GoogleEndpoint, FakeGooglePlay};
use storewatch_google::{GooglePlayConfig, GooglePlaySource};
use storewatch_lark::fake::{FakeLark, WebhookOptions};
use tokio_util::sync::CancellationToken;

const IOS_APPS: usize = 500;
const ANDROID_APPS: usize = 500;
const LATENCY: Duration = Duration::from_millis(50);
const HISTORY_DAYS: u64 = 63;
/// Lark's documented webhook limits (DESIGN §9): 5 a second, 100 a minute per bot.
const LARK_WINDOWS: [RateWindow; 2] = [
    RateWindow::new(5, Duration::from_secs(1)),
    RateWindow::new(100, Duration::from_secs(60)),
];
/// Apple's budget per key (DESIGN §9).
const APPLE_WINDOW: RateWindow = RateWindow::new(3600, Duration::from_secs(3600));
/// Lark's real body cut (about 150 KiB), so a report splits only when it must.
const LARK_BODY_LIMIT: usize = 150 * 1024;

const SALES_METRICS: [Metric; 5] = [
    Metric::DOWNLOADS,
    Metric::REDOWNLOADS,
    Metric::UPDATES,
    Metric::IAP_UNITS,
    Metric::PROCEEDS,
];

/// Start and end of each source collection and each notification, for the phases.
#[derive(Debug, Default)]
struct Timeline {
    spans: Mutex<Vec<(String, Instant, Instant)>>,
}

impl Timeline {
    fn record(&self, what: String, start: Instant) {
        self.spans
            .lock()
            .unwrap()
            .push((what, start, Instant::now()));
    }

    fn spans(&self, prefix: &str) -> Vec<(String, Instant, Instant)> {
        self.spans
            .lock()
            .unwrap()
            .iter()
            .filter(|(w, _, _)| w.starts_with(prefix))
            .cloned()
            .collect()
    }
}

/// A source that times its collections and, for Apple, asks only the sales metrics.
#[derive(Debug)]
struct TimedSource {
    inner: Arc<dyn MetricSource>,
    only: Option<Vec<Metric>>,
    timeline: Arc<Timeline>,
}

#[async_trait]
impl MetricSource for TimedSource {
    fn kind(&self) -> &'static str {
        self.inner.kind()
    }
    fn platform(&self) -> Platform {
        self.inner.platform()
    }
    fn metrics(&self) -> &[Metric] {
        self.only.as_deref().unwrap_or(self.inner.metrics())
    }
    async fn collect(&self, req: &CollectRequest) -> Result<CollectBatch> {
        let start = Instant::now();
        let req = match &self.only {
            Some(metrics) => req.clone().with_metrics(metrics.clone()),
            None => req.clone(),
        };
        let batch = self.inner.collect(&req).await;
        self.timeline
            .record(format!("collect {}", self.inner.kind()), start);
        batch
    }
    async fn healthcheck(&self) -> Result<()> {
        self.inner.healthcheck().await
    }
}

/// A notifier that times its sends.
#[derive(Debug)]
struct TimedNotifier {
    inner: Arc<dyn Notifier>,
    kind: &'static str,
    timeline: Arc<Timeline>,
}

#[async_trait]
impl Notifier for TimedNotifier {
    async fn send_report(&self, report: &DailyReport) -> Result<Delivery> {
        let start = Instant::now();
        let out = self.inner.send_report(report).await;
        self.timeline
            .record(format!("notify report {}", self.kind), start);
        out
    }
    async fn send_alert(&self, alert: &AlertNotification) -> Result<Delivery> {
        let start = Instant::now();
        let out = self.inner.send_alert(alert).await;
        self.timeline
            .record(format!("notify alert {}", self.kind), start);
        out
    }
}

/// The adapters' own registrations, each factory wrapped to time what it builds.
fn registry(timeline: &Arc<Timeline>) -> Registry {
    let mut adapters = Registry::new();
    storewatch_apple::register(&mut adapters);
    storewatch_google::register(&mut adapters);
    storewatch_lark::register(&mut adapters);
    let adapters = Arc::new(adapters);
    let mut registry = Registry::new();
    for (kind, only) in [
        (storewatch_apple::KIND, Some(SALES_METRICS.to_vec())),
        (storewatch_google::KIND, None),
    ] {
        let (adapters, timeline) = (adapters.clone(), timeline.clone());
        registry.register_source(kind, move |config| {
            Ok(Arc::new(TimedSource {
                inner: adapters.build_source(kind, config)?,
                only: only.clone(),
                timeline: timeline.clone(),
            }))
        });
    }
    for kind in [storewatch_lark::WEBHOOK_KIND, storewatch_lark::SHEET_KIND] {
        let (adapters, timeline) = (adapters.clone(), timeline.clone());
        registry.register_notifier(kind, move |config| {
            Ok(Arc::new(TimedNotifier {
                inner: adapters.build_notifier(kind, config)?,
                kind,
                timeline: timeline.clone(),
            }))
        });
    }
    registry
}

/// How many calendar months `[from, to]` touches.
fn months(from: NaiveDate, to: NaiveDate) -> usize {
    let index = |d: NaiveDate| d.year() * 12 + d.month0() as i32;
    (index(to) - index(from) + 1) as usize
}

fn secs(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}

async fn execute(pipeline: &Pipeline, store: &MemoryStore, new: NewExecution) -> Execution {
    let instance = InstanceId::from("bench");
    store.insert_execution(new).await.unwrap();
    let claimed = store
        .claim_execution(&instance, Duration::from_secs(3600))
        .await
        .unwrap()
        .expect("the execution is claimable");
    pipeline
        .execute(
            &claimed,
            &instance,
            CancellationToken::new(),
            &RetryPolicy::default(),
        )
        .await
        .unwrap()
        .0
}

#[allow(clippy::too_many_lines)] // one scenario, told in order
async fn run() {
    let la_today = SystemClock
        .now()
        .with_timezone(&chrono_tz::America::Los_Angeles)
        .date_naive();
    let day = la_today.pred_opt().unwrap();
    let history_from = day - Days::new(HISTORY_DAYS);
    let setup = Instant::now();

    // The fakes: real time, data through D, anomalies on D.
    let apple = FakeAppStoreConnect::builder()
        .apps(IOS_APPS)
        .days(HISTORY_DAYS as u32 + 7)
        .system_clock()
        .last_day(day)
        .anomaly(7, day, 0.1)
        .anomaly(42, day, 6.0)
        .start()
        .await
        .unwrap();
    let packages: Vec<String> = (0..ANDROID_APPS)
        .map(|i| format!("com.bench.android{i:03}"))
        .collect();
    let google = FakeGooglePlay::builder()
        .today(la_today)
        .bulk_lag_days(1)
        .unfinished_days(0)
        .anomaly(&packages[3], day, 0.1)
        .anomaly(&packages[99], day, 6.0)
        .start()
        .await;
    for package in &packages {
        google.add_app(package);
    }
    let lark = FakeLark::start().await.unwrap();
    lark.set_max_body_bytes(LARK_BODY_LIMIT);
    let mut webhook = lark.add_webhook(
        "bench-bot",
        WebhookOptions {
            secret: Some("bench-signing-secret".into()),
            ..Default::default()
        },
    );
    webhook["max_body_bytes"] = LARK_BODY_LIMIT.into();
    let sheet = lark.add_spreadsheet("cli_bench", "bench-app-secret", "shtcnBench0001", "daily1");

    // The store: apps, sealed credentials and channels, rules, the portfolio report.
    let store = Arc::new(MemoryStore::new());
    let keyring = Keyring::from_raw(&[("bench", [7u8; 32])]).unwrap();
    for app in &apple.catalogue().apps {
        store
            .create_app(AppSpec::new(&app.name, Platform::Ios, &app.bundle_id).unwrap())
            .await
            .unwrap();
    }
    for package in &packages {
        store
            .create_app(AppSpec::new(package, Platform::Android, package).unwrap())
            .await
            .unwrap();
    }
    let google_config = google.test_config_json(serde_json::json!({}));
    create_credential(
        store.as_ref(),
        &keyring,
        "App Store Connect",
        Platform::Ios,
        storewatch_apple::KIND,
        &SecretString::from(apple.config_json()),
    )
    .await
    .unwrap();
    create_credential(
        store.as_ref(),
        &keyring,
        "Google Play",
        Platform::Android,
        storewatch_google::KIND,
        &google_config,
    )
    .await
    .unwrap();
    let bot = create_channel(
        store.as_ref(),
        &keyring,
        "Growth team bot",
        storewatch_lark::WEBHOOK_KIND,
        &SecretString::from(webhook.to_string()),
    )
    .await
    .unwrap();
    let rows = create_channel(
        store.as_ref(),
        &keyring,
        "Daily KPI sheet",
        storewatch_lark::SHEET_KIND,
        &SecretString::from(sheet.to_string()),
    )
    .await
    .unwrap();
    let mut drop_rule = AlertRuleSpec::new(
        "Downloads fell week over week",
        Metric::DOWNLOADS,
        Condition::PctChange {
            window: Window::Wow,
            direction: Direction::Down,
            threshold_pct: 60.0,
        },
        Severity::Critical,
        bot.id,
    )
    .unwrap();
    drop_rule.min_baseline = Some(20.0);
    drop_rule.mentions = vec![Mention::All];
    store.create_rule(drop_rule).await.unwrap();
    store
        .create_rule(
            AlertRuleSpec::new(
                "Downloads far above their weekday norm",
                Metric::DOWNLOADS,
                Condition::Anomaly {
                    z: 6.0,
                    direction: Direction::Up,
                },
                Severity::Warning,
                bot.id,
            )
            .unwrap(),
        )
        .await
        .unwrap();
    store
        .create_rule(
            AlertRuleSpec::new(
                "Crash rate too high",
                Metric::CRASH_RATE,
                Condition::Absolute {
                    op: AbsOp::Above,
                    value: 0.02,
                },
                Severity::Warning,
                bot.id,
            )
            .unwrap(),
        )
        .await
        .unwrap();
    store
        .create_report(ReportSpec {
            name: "Daily app metrics".into(),
            app_id: None,
            metrics: vec![Metric::DOWNLOADS, Metric::UPDATES, Metric::CRASH_RATE],
            channels: vec![bot.id, rows.id],
            is_active: true,
        })
        .await
        .unwrap();

    // History through D − 1, collected by the same sources at zero latency (the Play
    // limiter lifted for this backfill only).
    let apps = store.list_apps().await.unwrap();
    let targets = |platform| {
        apps.iter()
            .filter(|a| a.platform == platform)
            .map(AppTarget::from)
            .collect::<Vec<_>>()
    };
    let before = day.pred_opt().unwrap();
    let ios = AppStoreConnectSource::new(apple.config()).unwrap();
    let batch = ios
        .collect(
            &CollectRequest::new(targets(Platform::Ios), history_from, before)
                .with_metrics(SALES_METRICS.to_vec()),
        )
        .await
        .unwrap();
    let mut seeded = store.upsert_points(&batch.points).await.unwrap();
    let android = GooglePlaySource::new(
        GooglePlayConfig::from_json(&google.test_config_json(serde_json::json!({
            "reporting_requests_per_second": 100_000,
            "concurrency": 64,
        })))
        .unwrap(),
    )
    .unwrap();
    let batch = android
        .collect(&CollectRequest::new(
            targets(Platform::Android),
            history_from,
            before,
        ))
        .await
        .unwrap();
    seeded += store.upsert_points(&batch.points).await.unwrap();
    println!(
        "daily_cycle: {IOS_APPS} iOS apps (1 vendor) + {ANDROID_APPS} Android apps, D = {day}, \
         {seeded} points of history from {history_from} (setup {})",
        secs(setup.elapsed())
    );

    // The cycle, with every provider 50 ms away.
    let apple_before = apple.request_counts();
    google.reset_counts();
    let lark_before = lark.request_counts();
    let received_before = lark.received().len();
    apple.set_latency(LATENCY);
    google.set_latency(LATENCY);
    lark.set_latency(LATENCY);
    let timeline = Arc::new(Timeline::default());
    let pipeline = Pipeline::builder(store.clone(), registry(&timeline))
        .analyzer(Arc::new(PolarsAnalyzer::new()))
        .evaluator(Arc::new(RuleEvaluator::new()))
        .keyring(keyring)
        .config(PipelineConfig::default())
        .build()
        .unwrap();
    let now = store.now().await.unwrap();
    let started = Instant::now();
    let run = execute(
        &pipeline,
        &store,
        NewExecution::manual(Task::FullAnalysis, day, now),
    )
    .await;
    let wall = started.elapsed();
    let finished = started + wall;

    // Phases, from the timed sources and notifiers.
    println!(
        "daily_cycle: FullAnalysis {} — {} apps ok, {} errors, {} alerts, {} messages",
        run.status,
        run.success_count,
        run.error_count,
        run.alerts_generated,
        run.notifications_sent
    );
    if run.status != ExecutionStatus::Success || run.error_count > 0 {
        println!("daily_cycle: error log:\n{}", run.error_log);
    }
    let rules = store.list_rules().await.unwrap();
    let mut firing: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for state in store.alert_states().await.unwrap().into_values() {
        if state.status != AlertStatus::Firing {
            continue;
        }
        let rule = rules
            .iter()
            .find(|r| r.id == state.fingerprint.rule_id)
            .map_or_else(String::new, |r| r.spec.name.clone());
        let app = apps
            .iter()
            .find(|a| a.id == state.fingerprint.app_id)
            .map_or_else(String::new, |a| a.bundle_id.to_string());
        firing.entry(rule).or_default().push(app);
    }
    for (rule, apps) in &firing {
        println!("daily_cycle: firing \"{rule}\": {}", apps.join(", "));
    }
    let since = |t: Instant| t.saturating_duration_since(started);
    let collects = timeline.spans("collect");
    let notifies = timeline.spans("notify");
    for (what, start, end) in &collects {
        println!(
            "daily_cycle: phase {what:<34} {:>9} (from {} to {})",
            secs(*end - *start),
            secs(since(*start)),
            secs(since(*end))
        );
    }
    let collected_at = collects.iter().map(|s| s.2).max().unwrap_or(started);
    let first_send = notifies.iter().map(|s| s.1).min().unwrap_or(finished);
    let last_send = notifies.iter().map(|s| s.2).max().unwrap_or(finished);
    println!(
        "daily_cycle: phase collect (both stores)            {:>9}",
        secs(since(collected_at))
    );
    println!(
        "daily_cycle: phase store + analysis + alert rules   {:>9}",
        secs(first_send.saturating_duration_since(collected_at))
    );
    for kind in ["notify alert", "notify report"] {
        let spans = timeline.spans(kind);
        let total: Duration = spans.iter().map(|(_, s, e)| *e - *s).sum();
        println!(
            "daily_cycle: phase {kind:<32} {:>9} ({} sends)",
            secs(total),
            spans.len()
        );
    }
    println!(
        "daily_cycle: phase notify (first send to last)      {:>9}",
        secs(last_send.saturating_duration_since(first_send))
    );
    println!(
        "daily_cycle: total wall                            {:>9}",
        secs(wall)
    );

    // Requests per endpoint.
    let apple_counts: BTreeMap<AppleEndpoint, u64> = apple
        .request_counts()
        .into_iter()
        .map(|(e, n)| (e, n - apple_before.get(&e).copied().unwrap_or(0)))
        .filter(|(_, n)| *n > 0)
        .collect();
    let google_counts = google.request_counts();
    let lark_counts: BTreeMap<&str, usize> = lark
        .request_counts()
        .into_iter()
        .map(|(e, n)| (e, n - lark_before.get(e).copied().unwrap_or(0)))
        .filter(|(_, n)| *n > 0)
        .collect();
    for (e, n) in &apple_counts {
        println!(
            "daily_cycle: requests apple  {:<28} {n:>6}",
            format!("{e:?}")
        );
    }
    for (e, n) in &google_counts {
        println!(
            "daily_cycle: requests google {:<28} {n:>6}",
            format!("{e:?}")
        );
    }
    for (e, n) in &lark_counts {
        println!("daily_cycle: requests lark   {e:<28} {n:>6}");
    }

    // DESIGN §9's minimum for this cycle.
    let restate = u64::from(PipelineConfig::default().restate_days);
    let from = day - Days::new(restate - 1);
    let range_days = (restate) as usize;
    let month_count = months(from, day);
    let received = lark.received();
    let received = &received[received_before..];
    let alert_posts = received
        .iter()
        .filter(|m| m.msg_type() == "interactive")
        .count();
    let report_posts = received.iter().filter(|m| m.msg_type() == "post").count();
    let report_bytes: usize = received
        .iter()
        .filter(|m| m.msg_type() == "post")
        .map(|m| m.body.to_string().len())
        .sum();
    let report_min = report_bytes.div_ceil(LARK_BODY_LIMIT).max(1);
    println!(
        "daily_cycle: lark received {alert_posts} alert cards and the report in {report_posts} \
         posts ({report_bytes} bytes, {LARK_BODY_LIMIT} a post at most)"
    );
    let sheet_rows = lark.rows("shtcnBench0001", "daily1").len();
    let append_min = sheet_rows.div_ceil(storewatch_lark::MAX_ROWS_PER_APPEND);
    let apple_n = |e| apple_counts.get(&e).copied().unwrap_or(0) as usize;
    let google_n = |e| google_counts.get(&e).copied().unwrap_or(0) as usize;
    let lark_n = |e: &str| lark_counts.get(e).copied().unwrap_or(0);
    // (what, counted, minimum)
    let minimum = [
        (
            "apple sales reports (1 per vendor and day)",
            apple_n(AppleEndpoint::SalesReports),
            range_days,
        ),
        (
            "play reporting queries (1 per app and metric set)",
            google_n(GoogleEndpoint::Query),
            ANDROID_APPS * 2,
        ),
        (
            "cloud storage objects (1 per app, family and month)",
            google_n(GoogleEndpoint::Download),
            ANDROID_APPS * 2 * month_count,
        ),
        (
            "lark webhook posts (alert cards + report split by size)",
            lark_n("webhook"),
            alert_posts + report_min,
        ),
        (
            "lark sheet appends (chunks of 5000 rows)",
            lark_n("values_append"),
            append_min,
        ),
    ];
    let mut requests_ok = true;
    for (what, got, min) in &minimum {
        let ok = got == min;
        requests_ok &= ok;
        println!(
            "daily_cycle: minimum {what:<58} {got:>6} of {min:>6} {}",
            if ok { "ok" } else { "ABOVE" }
        );
    }
    // Requests beyond §9's list: their count must not grow with apps × days.
    let per_app_extra = google_n(GoogleEndpoint::Freshness)
        + google_n(GoogleEndpoint::Metadata)
        + google_n(GoogleEndpoint::List)
        + apple_counts
            .iter()
            .filter(|(e, _)| !matches!(e, AppleEndpoint::SalesReports | AppleEndpoint::Apps))
            .map(|(_, n)| *n as usize)
            .sum::<usize>();
    let lookups = apple_n(AppleEndpoint::Apps);
    let fixed = google_n(GoogleEndpoint::Token) + lark_n("token") + lark_n("sheets_query");
    // Beyond §9's list: the bundle-id lookups (Apple ids and SKUs, 50 ids a request, paged
    // by 200 results: they grow with the apps, not with the days) and the tokens are the
    // price of a run; a request per app and day beyond the list is not.
    println!(
        "daily_cycle: beyond §9: {lookups} Apple bundle-id lookups (50 ids a request, near \
         matches paged by 200), {fixed} tokens and sheet lookups, {per_app_extra} per-app \
         extras (Play freshness, Apple analytics)"
    );
    requests_ok &= per_app_extra == 0;

    // The floor.
    let apple_cfg = storewatch_apple::HttpOptions::default();
    let google_cfg = storewatch_google::HttpOptions::default();
    let apple_floor = request_floor(
        range_days,
        LATENCY,
        apple_cfg.max_concurrency,
        &[APPLE_WINDOW],
    );
    let reporting_floor = request_floor(
        ANDROID_APPS * 2,
        LATENCY,
        google_cfg.concurrency * 2,
        &[RateWindow::new(
            google_cfg.reporting_requests_per_second as usize,
            Duration::from_secs(1),
        )],
    );
    let storage_floor = request_floor(
        ANDROID_APPS * 2 * month_count,
        LATENCY,
        google_cfg.concurrency * 2,
        &[],
    );
    let google_floor = reporting_floor.max(storage_floor);
    let lark_floor = request_floor(alert_posts + report_min, LATENCY, 1, &LARK_WINDOWS);
    let total_floor = apple_floor.max(google_floor) + lark_floor;
    println!(
        "daily_cycle: floor apple  {:>9} ({range_days} sales reports, {} in flight)",
        secs(apple_floor),
        apple_cfg.max_concurrency
    );
    println!(
        "daily_cycle: floor google {:>9} (max of {} Reporting queries at {}/s: {}, \
         {} Storage objects, {} in flight: {})",
        secs(google_floor),
        ANDROID_APPS * 2,
        google_cfg.reporting_requests_per_second,
        secs(reporting_floor),
        ANDROID_APPS * 2 * month_count,
        google_cfg.concurrency * 2,
        secs(storage_floor)
    );
    println!(
        "daily_cycle: floor lark   {:>9} ({} posts on one bot at 5/s, 100/min)",
        secs(lark_floor),
        alert_posts + report_min
    );
    println!(
        "daily_cycle: floor total  {:>9} (max(apple, google) + lark: the stores are \
         independent, notifying needs their data)",
        secs(total_floor)
    );
    let ratio = wall.as_secs_f64() / total_floor.as_secs_f64();
    println!("daily_cycle: ratio wall/floor = {ratio:.2} (target <= 1.50)");
    println!(
        "daily_cycle: {} requests = DESIGN §9 minimum",
        if requests_ok { "PASS" } else { "FAIL" }
    );
    println!(
        "daily_cycle: {} wall {} <= 1.5 x floor {}",
        if ratio <= 1.5 { "PASS" } else { "FAIL" },
        secs(wall),
        secs(total_floor)
    );

    // What Analytics would add: the same range for a sample of apps with a fresh source,
    // as the pipeline builds one per execution, at zero latency.
    apple.set_latency(Duration::ZERO);
    let sample = 20;
    let counted = apple.request_counts();
    let fresh = AppStoreConnectSource::new(apple.config()).unwrap();
    let batch = fresh
        .collect(
            &CollectRequest::new(targets(Platform::Ios)[..sample].to_vec(), from, day)
                .with_metrics(vec![
                    Metric::SESSIONS,
                    Metric::ACTIVE_DEVICES,
                    Metric::CRASHES,
                ]),
        )
        .await
        .unwrap();
    assert!(!batch.points.is_empty(), "the sample collected analytics");
    let delta = |e: AppleEndpoint| apple.request_count(e) - counted.get(&e).copied().unwrap_or(0);
    let api: u64 = [
        AppleEndpoint::ReportRequests,
        AppleEndpoint::Reports,
        AppleEndpoint::Instances,
        AppleEndpoint::Segments,
    ]
    .into_iter()
    .map(delta)
    .sum();
    let per_app = api as f64 / sample as f64;
    let whole = (per_app * IOS_APPS as f64).round() as usize;
    let analytics_floor = request_floor(
        whole + range_days,
        LATENCY,
        apple_cfg.max_concurrency,
        &[APPLE_WINDOW],
    );
    println!(
        "daily_cycle: not in the cycle: Apple Analytics takes {per_app:.1} API calls per app \
         (+ {:.1} S3 downloads) for {range_days} days: {whole} for {IOS_APPS} apps against a \
         budget of 3600/h per key, a floor of {} with one key",
        delta(AppleEndpoint::SegmentDownload) as f64 / sample as f64,
        secs(analytics_floor)
    );
}

fn main() {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(run());
}
