//! The fake's knobs for real-time runs (demo, serve tests, benchmarks): injected latency
//! on both listeners, the system clock, and every data day served as ready.

#![allow(clippy::unwrap_used)] // test helpers panic on broken fixtures by design

mod common;

use std::time::{Duration, Instant};

use chrono::TimeZone;
use common::*;
use storewatch_apple::AppStoreConnectSource;
use storewatch_apple::fake::{Endpoint, FakeAppStoreConnect};
use storewatch_core::clock::{Clock, ManualClock, SystemClock};
use storewatch_core::model::Metric;
use storewatch_core::source::{CollectRequest, DayOutcome, MetricSource};

/// A plain GET with a short client timeout: `Err` when the fake holds it longer.
async fn get(url: &str, timeout: Duration) -> reqwest::Result<reqwest::StatusCode> {
    reqwest::Client::new()
        .get(url)
        .timeout(timeout)
        .send()
        .await
        .map(|r| r.status())
}

#[tokio::test]
async fn latency_holds_every_request_on_both_listeners() {
    // An hour of latency: no answer can come inside a short client timeout.
    let fake = fake(
        FakeAppStoreConnect::builder()
            .apps(1)
            .days(2)
            .latency(Duration::from_secs(3600)),
    )
    .await;
    assert_eq!(fake.latency(), Duration::from_secs(3600));
    let api = format!("{}/v1/apps", fake.base_url());
    let unknown = format!("{}/v1/nothing-here", fake.base_url());
    let s3 = format!("{}/reports/x/y", fake.s3_url());
    for url in [&api, &unknown, &s3] {
        let err = get(url, Duration::from_millis(300)).await.unwrap_err();
        assert!(err.is_timeout(), "{url}: {err}");
    }

    // A measurable latency: each answer comes no sooner than it (a lower bound only).
    let latency = Duration::from_millis(150);
    fake.set_latency(latency);
    for (url, status) in [(&api, 401), (&unknown, 404), (&s3, 403)] {
        let started = Instant::now();
        let got = get(url, Duration::from_secs(30)).await.unwrap();
        assert!(started.elapsed() >= latency, "{url} answered early");
        assert_eq!(got.as_u16(), status, "{url}");
    }

    // Off again: the normal answers, without waiting for the old latency.
    fake.set_latency(Duration::ZERO);
    assert_eq!(
        get(&api, Duration::from_secs(30)).await.unwrap().as_u16(),
        401
    );
}

#[tokio::test]
async fn a_collection_through_latency_gets_the_same_numbers() {
    let fake = fake(
        FakeAppStoreConnect::builder()
            .apps(2)
            .days(4)
            .latency(Duration::from_millis(20)),
    )
    .await;
    let source = source(&fake);
    let d = fake.catalogue().last_day();
    let started = Instant::now();
    let batch = source
        .collect(&CollectRequest::new(targets(&fake, 2), d, d))
        .await
        .unwrap();
    assert_sales_match(&fake, &batch, 2, d);
    // Every request waited; the apps lookup and the sales report at least went one after
    // the other's start, so the run took at least one latency.
    let requests: u64 = fake.request_counts().values().sum();
    assert!(requests >= 2, "{requests}");
    assert!(started.elapsed() >= Duration::from_millis(20));
}

#[tokio::test]
async fn on_the_system_clock_every_day_through_yesterday_is_served() {
    let fake = fake(
        FakeAppStoreConnect::builder()
            .apps(2)
            .days(10)
            .system_clock(),
    )
    .await;
    assert!(fake.manual_clock().is_none());
    let catalogue = fake.catalogue();
    let yesterday = SystemClock.now().date_naive() - chrono::Duration::days(1);
    // Yesterday in UTC, unless the test straddles midnight.
    assert!(
        catalogue.last_day() == yesterday
            || catalogue.last_day() == yesterday - chrono::Duration::days(1),
        "last day {} vs yesterday {yesterday}",
        catalogue.last_day()
    );
    assert_eq!(
        catalogue.start + chrono::Duration::days(9),
        catalogue.last_day()
    );
    // A client on its own system clock: its tokens are accepted, yesterday's sales report
    // is ready whatever the hour, and today's analytics instance holds yesterday.
    let source = AppStoreConnectSource::new(fake.config()).unwrap();
    let last = catalogue.last_day();
    let from = last - chrono::Duration::days(2);
    let batch = source
        .collect(&CollectRequest::new(targets(&fake, 2), from, last))
        .await
        .unwrap();
    for d in from.iter_days().take_while(|d| *d <= last) {
        for app in [1, 2] {
            assert!(
                matches!(outcome(&batch, app, d), DayOutcome::Collected),
                "app {app} on {d}: {:?}",
                outcome(&batch, app, d)
            );
        }
        assert_sales_match(&fake, &batch, 2, d);
    }
    let processed = fake.last_processing_date();
    for app in 0..2 {
        let e = catalogue
            .expected_analytics(app, last, processed)
            .expect("yesterday's analytics are out");
        assert_eq!(
            value(&batch, app as i64 + 1, &Metric::SESSIONS, last, ""),
            Some(e.sessions)
        );
    }
    assert!(!fake.claims_seen().is_empty(), "tokens were verified");
    assert_eq!(fake.request_count(Endpoint::SalesReports), 3);
}

#[tokio::test]
async fn all_days_ready_serves_a_day_before_its_publication_hour() {
    let last = day("2026-03-05");
    // 06:00 Pacific the next morning: Apple publishes at 08:00.
    let clock = ManualClock::new(chrono::Utc.with_ymd_and_hms(2026, 3, 6, 14, 0, 0).unwrap());
    let fake = fake(
        FakeAppStoreConnect::builder()
            .apps(2)
            .days(5)
            .last_day(last)
            .clock(clock),
    )
    .await;
    assert_eq!(fake.catalogue().start, day("2026-03-01"));
    let source = source(&fake);
    let req = sales_request(targets(&fake, 2), last, last);
    let batch = source.collect(&req).await.unwrap();
    assert!(matches!(
        outcome(&batch, 1, last),
        DayOutcome::NotYetAvailable { .. }
    ));

    fake.set_all_days_ready(true);
    let batch = source.collect(&req).await.unwrap();
    assert!(matches!(outcome(&batch, 1, last), DayOutcome::Collected));
    assert_sales_match(&fake, &batch, 2, last);
    // A day without data is still not published before its hour.
    let after = last + chrono::Duration::days(1);
    let batch = source
        .collect(&sales_request(targets(&fake, 2), after, after))
        .await
        .unwrap();
    assert!(matches!(
        outcome(&batch, 1, after),
        DayOutcome::NotYetAvailable { .. }
    ));

    // The builder knob does the same from the start.
    let ready = common::fake(
        FakeAppStoreConnect::builder()
            .apps(1)
            .days(5)
            .last_day(last)
            .clock(ManualClock::new(
                chrono::Utc.with_ymd_and_hms(2026, 3, 6, 14, 0, 0).unwrap(),
            ))
            .all_days_ready(true),
    )
    .await;
    let batch = common::source(&ready)
        .collect(&sales_request(targets(&ready, 1), last, last))
        .await
        .unwrap();
    assert!(matches!(outcome(&batch, 1, last), DayOutcome::Collected));
}
