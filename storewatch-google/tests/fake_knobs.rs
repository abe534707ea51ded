//! The fake's knobs for real-time runs (demo, serve tests, benchmarks): injected latency,
//! installs anomalies, the weekly pattern, and "today" from the system clock.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns unwrap too

mod common;

use std::time::{Duration, Instant};

use chrono::{Datelike, Days, NaiveDate, Weekday};
use common::*;
use storewatch_core::clock::{Clock, SystemClock};
use storewatch_core::model::{AppId, Metric};
use storewatch_core::source::{CollectBatch, CollectRequest, DayOutcome, MetricSource};
use storewatch_google::fake::{Endpoint, FakeGooglePlay, data};
use storewatch_google::{GooglePlayConfig, GooglePlaySource};

fn downloads(batch: &CollectBatch, app: i64, day: NaiveDate) -> Option<f64> {
    batch
        .points
        .iter()
        .find(|p| p.app_id == AppId(app) && p.metric == Metric::DOWNLOADS && p.date == day)
        .map(|p| p.value)
}

fn outcome(batch: &CollectBatch, app: i64, day: NaiveDate) -> &DayOutcome {
    &batch
        .outcomes
        .iter()
        .find(|o| o.app_id == AppId(app) && o.day == day)
        .unwrap()
        .outcome
}

/// A request with a short client timeout: `Err` when the fake holds it longer.
async fn send(
    method: reqwest::Method,
    url: &str,
    timeout: Duration,
) -> reqwest::Result<reqwest::StatusCode> {
    reqwest::Client::new()
        .request(method, url)
        .timeout(timeout)
        .send()
        .await
        .map(|r| r.status())
}

#[tokio::test]
async fn latency_holds_every_endpoint() {
    let fake = FakeGooglePlay::builder()
        .today(today())
        .latency(Duration::from_secs(3600))
        .start()
        .await;
    assert_eq!(fake.latency(), Duration::from_secs(3600));
    let base = fake.base_url();
    let calls = [
        (reqwest::Method::POST, format!("{base}/token"), 400),
        (
            reqwest::Method::GET,
            format!("{base}/v1beta1/apps/com.x/crashRateMetricSet"),
            401,
        ),
        (
            reqwest::Method::POST,
            format!("{base}/v1beta1/apps/com.x/crashRateMetricSet:query"),
            401,
        ),
        (
            reqwest::Method::GET,
            format!("{base}/storage/v1/b/{}/o", fake.bucket()),
            401,
        ),
        (
            reqwest::Method::GET,
            format!("{base}/androidpublisher/v3/applications/com.x/reviews"),
            401,
        ),
    ];
    for (method, url, _) in &calls {
        let err = send(method.clone(), url, Duration::from_millis(300))
            .await
            .unwrap_err();
        assert!(err.is_timeout(), "{method} {url}: {err}");
    }

    // A measurable latency: each answer comes no sooner than it (a lower bound only).
    let latency = Duration::from_millis(150);
    fake.set_latency(latency);
    for (method, url, status) in &calls {
        let started = Instant::now();
        let got = send(method.clone(), url, Duration::from_secs(30))
            .await
            .unwrap();
        assert!(
            started.elapsed() >= latency,
            "{method} {url} answered early"
        );
        assert_eq!(got.as_u16(), *status, "{method} {url}");
    }

    fake.set_latency(Duration::ZERO);
    let (method, url, status) = &calls[1];
    let got = send(method.clone(), url, Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(got.as_u16(), *status);
}

#[tokio::test]
async fn a_collection_through_latency_gets_the_same_numbers() {
    let fake = FakeGooglePlay::builder()
        .seed(11)
        .today(today())
        .latency(Duration::from_millis(20))
        .start()
        .await;
    fake.add_service_account(EMAIL, PUBLIC_KEY);
    fake.add_app("com.example.app");
    let source = source_for(&fake, fast_http());
    let d = day(2026, 9, 18);
    let batch = source
        .collect(&CollectRequest::new(
            vec![target(1, "com.example.app")],
            d,
            d,
        ))
        .await
        .unwrap();
    assert!(matches!(outcome(&batch, 1, d), DayOutcome::Collected));
    assert_eq!(
        downloads(&batch, 1, d),
        Some(data::installs(fake.seed(), "com.example.app", d).daily_user_installs as f64)
    );
}

#[tokio::test]
async fn anomalies_multiply_one_apps_installs_on_one_day() {
    let spike = day(2026, 9, 15);
    let drop = day(2026, 9, 17);
    let fake = FakeGooglePlay::builder()
        .seed(11)
        .today(today())
        .anomaly("com.example.a", spike, 5.0)
        .start()
        .await;
    fake.add_service_account(EMAIL, PUBLIC_KEY);
    fake.add_app("com.example.a");
    fake.add_app("com.example.b");
    fake.add_anomaly("com.example.a", drop, 0.1);
    let source = source_for(&fake, fast_http());
    let req = CollectRequest::new(
        vec![target(1, "com.example.a"), target(2, "com.example.b")],
        day(2026, 9, 14),
        day(2026, 9, 18),
    )
    .with_metrics(vec![Metric::DOWNLOADS, Metric::UPDATES]);
    let batch = source.collect(&req).await.unwrap();
    for d in req.days() {
        for (app, package) in [(1, "com.example.a"), (2, "com.example.b")] {
            let base = data::installs(fake.seed(), package, d);
            let served = fake.installs(package, d);
            let factor = match (app, d) {
                (1, d) if d == spike => 5.0,
                (1, d) if d == drop => 0.1,
                _ => 1.0,
            };
            let want = (base.daily_user_installs as f64 * factor).round();
            assert_eq!(served.daily_user_installs as f64, want, "{package} {d}");
            assert_eq!(downloads(&batch, app, d), Some(want), "{package} {d}");
            assert_eq!(
                served.install_events,
                (base.install_events as f64 * factor).round() as u64
            );
            // Updates do not jump with a day's installs.
            assert_eq!(served.update_events, base.update_events);
        }
    }
    let before = downloads(&batch, 1, day(2026, 9, 14)).unwrap();
    let at = downloads(&batch, 1, spike).unwrap();
    assert!(at > 2.0 * before, "a visible spike: {before} → {at}");
}

#[test]
fn installs_and_users_follow_a_weekly_pattern() {
    // Many apps over eight weeks: the mean of each weekday shows the multiplier through the
    // per-day noise.
    let start = day(2026, 6, 1);
    let mut sums: std::collections::HashMap<Weekday, (f64, f64, f64)> = Default::default();
    for p in 0..40 {
        let package = format!("com.example.app{p}");
        for d in start.iter_days().take(56) {
            let e = sums.entry(d.weekday()).or_default();
            e.0 += data::installs(7, &package, d).daily_user_installs as f64;
            e.1 += data::vitals(7, &package, d).distinct_users;
            e.2 += 1.0;
        }
    }
    let mean = |w: Weekday, f: fn(&(f64, f64, f64)) -> f64| {
        let e = &sums[&w];
        f(e) / e.2
    };
    for f in [|e: &(f64, f64, f64)| e.0, |e: &(f64, f64, f64)| e.1] {
        let weekday = (mean(Weekday::Tue, f) + mean(Weekday::Wed, f)) / 2.0;
        for w in [Weekday::Sat, Weekday::Sun] {
            let ratio = mean(w, f) / weekday;
            assert!((1.25..1.55).contains(&ratio), "{w}: {ratio}");
        }
        let friday = mean(Weekday::Fri, f) / weekday;
        assert!((1.0..1.2).contains(&friday), "Fri: {friday}");
    }
    assert_eq!(data::weekly_factor(day(2026, 9, 19)), 1.4, "a Saturday");
    assert_eq!(data::weekly_factor(day(2026, 9, 16)), 1.0, "a Wednesday");
}

#[tokio::test]
async fn today_follows_the_system_clock_and_yesterday_is_collectable() {
    let la_today = || {
        SystemClock
            .now()
            .with_timezone(&chrono_tz::America::Los_Angeles)
            .date_naive()
    };
    let fake = FakeGooglePlay::builder()
        .seed(11)
        .bulk_lag_days(1)
        .unfinished_days(0)
        .start()
        .await;
    fake.add_service_account(EMAIL, PUBLIC_KEY);
    fake.add_app("com.example.app");
    let today = fake.today();
    assert!(
        today == la_today() || today.succ_opt() == Some(la_today()),
        "today {today} follows the system clock"
    );
    // A source on its own system clock asks for yesterday and the days before.
    let config =
        GooglePlayConfig::from_json(&fake.config_json(EMAIL, PRIVATE_KEY, fast_http())).unwrap();
    let source = GooglePlaySource::new(config).unwrap();
    let yesterday = fake.today().checked_sub_days(Days::new(1)).unwrap();
    let from = yesterday.checked_sub_days(Days::new(3)).unwrap();
    let batch = source
        .collect(&CollectRequest::new(
            vec![target(1, "com.example.app")],
            from,
            yesterday,
        ))
        .await
        .unwrap();
    if fake.today() != today {
        // Midnight in Los Angeles passed during the test: nothing more to check.
        return;
    }
    for d in from.iter_days().take_while(|d| *d <= yesterday) {
        assert!(
            matches!(outcome(&batch, 1, d), DayOutcome::Collected),
            "{d}: {:?}",
            outcome(&batch, 1, d)
        );
        assert_eq!(
            downloads(&batch, 1, d),
            Some(fake.installs("com.example.app", d).daily_user_installs as f64),
            "{d}"
        );
    }
    assert_eq!(fake.requests(Endpoint::Query), 2);

    // Play's usual lag: yesterday is not final and reads as its row of zeros.
    fake.set_bulk_lag_days(2);
    fake.set_unfinished_days(1);
    let batch = source
        .collect(
            &CollectRequest::new(vec![target(1, "com.example.app")], yesterday, yesterday)
                .with_metrics(vec![Metric::DOWNLOADS]),
        )
        .await
        .unwrap();
    let last_final = today.checked_sub_days(Days::new(2)).unwrap();
    if fake.today() != today {
        return;
    }
    if last_final.month() == yesterday.month() {
        assert_eq!(downloads(&batch, 1, yesterday), Some(0.0));
    } else {
        // On the 1st, the new month's file does not exist yet: the day is pending.
        assert!(matches!(
            outcome(&batch, 1, yesterday),
            DayOutcome::NotYetAvailable { .. }
        ));
    }
}
