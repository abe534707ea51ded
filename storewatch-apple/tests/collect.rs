//! Collections against the fake over real HTTP: data, request counts, tokens, pacing.

#![allow(clippy::unwrap_used)] // test helpers panic on broken fixtures by design

mod common;

use common::*;
use storewatch_apple::fake::{Endpoint, FakeAppStoreConnect};
use storewatch_core::model::Metric;
use storewatch_core::source::{CollectRequest, DayOutcome, MetricSource};

#[tokio::test]
async fn one_day_of_three_apps_matches_the_catalogue() {
    let fake = fake(FakeAppStoreConnect::builder().apps(3).days(10)).await;
    let source = source(&fake);
    let d = fake.catalogue().start + chrono::Duration::days(4);
    let batch = source
        .collect(&sales_request(targets(&fake, 3), d, d))
        .await
        .unwrap();
    for o in &batch.outcomes {
        assert!(matches!(o.outcome, DayOutcome::Collected), "{o:?}");
    }
    assert_sales_match(&fake, &batch, 3, d);
    assert_eq!(batch.resolved_store_ids.len(), 3);
    for (app, id) in &batch.resolved_store_ids {
        assert_eq!(
            *id,
            fake.catalogue().apps[app.0 as usize - 1].apple_id,
            "exact bundle id match, not the .development twin"
        );
    }
}

#[tokio::test]
async fn fifty_apps_of_one_vendor_take_one_sales_request_and_cached_lookups() {
    let fake = fake(FakeAppStoreConnect::builder().apps(50).days(3)).await;
    let source = source(&fake);
    let d = fake.catalogue().start + chrono::Duration::days(1);
    let batch = source
        .collect(&sales_request(targets(&fake, 50), d, d))
        .await
        .unwrap();
    assert_eq!(batch.outcomes.len(), 50);
    assert_sales_match(&fake, &batch, 50, d);
    assert_eq!(
        fake.request_count(Endpoint::SalesReports),
        1,
        "one sales report for all 50 apps"
    );
    assert_eq!(
        fake.request_count(Endpoint::Apps),
        1,
        "one lookup for 50 bundle ids"
    );
    // A second collection reuses the resolved ids.
    let batch = source
        .collect(&sales_request(targets(&fake, 50), d, d))
        .await
        .unwrap();
    assert!(batch.resolved_store_ids.is_empty() || batch.resolved_store_ids.len() == 50);
    assert_eq!(fake.request_count(Endpoint::SalesReports), 2);
    assert_eq!(
        fake.request_count(Endpoint::Apps),
        1,
        "bundle ids are cached"
    );
    assert_eq!(
        fake.request_count(Endpoint::ReportRequests),
        0,
        "no analytics asked, none requested"
    );
}

#[tokio::test]
async fn backfill_of_n_apps_by_d_days_is_one_sales_request_per_day() {
    let (n, d) = (6, 12);
    let fake = fake(FakeAppStoreConnect::builder().apps(n).days(d)).await;
    let source = source(&fake);
    let start = fake.catalogue().start;
    let end = fake.catalogue().last_day();
    let batch = source
        .collect(&sales_request(targets(&fake, n), start, end))
        .await
        .unwrap();
    assert_eq!(batch.outcomes.len(), n * d as usize);
    for day in start.iter_days().take(d as usize) {
        assert_sales_match(&fake, &batch, n, day);
    }
    assert_eq!(fake.request_count(Endpoint::SalesReports), u64::from(d));
    assert_eq!(fake.request_count(Endpoint::Apps), 1);
    println!(
        "backfill {n} apps x {d} days: requests per endpoint {:?}",
        fake.request_counts()
    );
}

#[tokio::test]
async fn weekly_pattern_and_anomaly_show_in_downloads() {
    let start = day("2026-03-02"); // a Monday
    let spike = day("2026-03-05");
    let fake = fake(
        FakeAppStoreConnect::builder()
            .apps(1)
            .days(7)
            .first_day(start)
            .anomaly(0, spike, 6.0),
    )
    .await;
    let source = source(&fake);
    let batch = source
        .collect(&sales_request(
            targets(&fake, 1),
            start,
            start + chrono::Duration::days(6),
        ))
        .await
        .unwrap();
    let dl = |d| value(&batch, 1, &Metric::DOWNLOADS, d, "").unwrap();
    assert!(
        dl(spike) > 3.0 * dl(day("2026-03-04")),
        "the anomaly is a spike"
    );
    assert!(
        dl(day("2026-03-07")) > dl(day("2026-03-03")) * 1.1,
        "Saturdays are higher than Tuesdays"
    );
}

#[tokio::test]
async fn analytics_metrics_use_the_latest_instance_per_date() {
    let fake = fake(FakeAppStoreConnect::builder().apps(2).days(8)).await;
    fake.set_split_segments(true);
    let source = source(&fake);
    let start = fake.catalogue().start + chrono::Duration::days(2);
    let end = fake.catalogue().last_day();
    let batch = source
        .collect(&CollectRequest::new(targets(&fake, 2), start, end))
        .await
        .unwrap();
    let last = fake.last_processing_date();
    for app in 0..2 {
        for d in start.iter_days().take_while(|d| *d <= end) {
            let e = fake
                .catalogue()
                .expected_analytics(app, d, last)
                .expect("the catalogue covers the day");
            let id = app as i64 + 1;
            assert_eq!(
                value(&batch, id, &Metric::SESSIONS, d, ""),
                Some(e.sessions),
                "sessions app {id} {d}"
            );
            assert_eq!(
                value(&batch, id, &Metric::ACTIVE_DEVICES, d, ""),
                Some(e.active_devices)
            );
            let crashes = value(&batch, id, &Metric::CRASHES, d, "");
            if e.crashes > 0.0 {
                assert_eq!(crashes, Some(e.crashes));
            } else {
                assert_eq!(crashes, None, "a missing row is not a zero");
            }
            assert!(
                matches!(outcome(&batch, id, d), DayOutcome::Collected),
                "{:?}",
                outcome(&batch, id, d)
            );
        }
    }
    assert_sales_match(&fake, &batch, 2, end);
    assert_eq!(
        fake.request_count(Endpoint::ReportRequests),
        2,
        "one request lookup per app"
    );
    assert_eq!(
        fake.request_count(Endpoint::CreateReportRequest),
        0,
        "existing ONGOING requests are reused"
    );
    let reports = fake.request_count(Endpoint::Reports);
    source
        .collect(&CollectRequest::new(targets(&fake, 2), end, end))
        .await
        .unwrap();
    assert_eq!(
        fake.request_count(Endpoint::ReportRequests),
        2,
        "request ids are cached"
    );
    assert_eq!(
        fake.request_count(Endpoint::Reports),
        reports,
        "report ids are cached"
    );
}

#[tokio::test]
async fn app_without_analytics_request_gets_one_and_waits_while_downloads_flow() {
    let fake = fake(
        FakeAppStoreConnect::builder()
            .apps(2)
            .days(5)
            .without_analytics_request(1),
    )
    .await;
    let source = source(&fake);
    let d = fake.catalogue().last_day();
    let batch = source
        .collect(&CollectRequest::new(targets(&fake, 2), d, d))
        .await
        .unwrap();
    assert_eq!(fake.request_count(Endpoint::CreateReportRequest), 1);
    let requests = fake.analytics_requests(1);
    assert!(
        requests
            .iter()
            .any(|(_, access, stopped)| access == "ONGOING" && !stopped),
        "{requests:?}"
    );
    assert!(
        matches!(outcome(&batch, 2, d), DayOutcome::Collected),
        "sales of the day are collected while analytics are pending"
    );
    let only = CollectRequest::new(targets(&fake, 2), d, d).with_metrics(vec![Metric::SESSIONS]);
    let analytics_only = source.collect(&only).await.unwrap();
    match outcome(&analytics_only, 2, d) {
        DayOutcome::NotYetAvailable { retry_after } => assert!(retry_after.is_some()),
        other => panic!("analytics not there yet: {other:?}"),
    }
    assert!(
        value(&batch, 2, &Metric::DOWNLOADS, d, "").is_some(),
        "downloads still flow"
    );
    assert!(value(&batch, 2, &Metric::SESSIONS, d, "").is_none());
    assert!(matches!(outcome(&batch, 1, d), DayOutcome::Collected));
}

#[tokio::test]
async fn tokens_are_reused_valid_and_renewed_before_expiry() {
    let fake = fake(FakeAppStoreConnect::builder().apps(3).days(6)).await;
    let source = source(&fake);
    let (start, end) = (fake.catalogue().start, fake.catalogue().last_day());
    source
        .collect(&CollectRequest::new(targets(&fake, 3), start, end))
        .await
        .unwrap();
    let tokens = fake.tokens_seen();
    assert!(tokens.len() > 10);
    let mut distinct = tokens.clone();
    distinct.dedup();
    assert_eq!(distinct.len(), 1, "one token for the whole collection");
    let now = fake.now().timestamp();
    for claims in fake.claims_seen() {
        assert_eq!(claims.aud, "appstoreconnect-v1");
        assert_eq!(claims.iss.as_deref(), Some(fake.key().issuer_id.as_str()));
        assert!(
            claims.exp - claims.iat <= 1200,
            "lifetime at most 20 minutes"
        );
        assert!(claims.iat < now, "iat back-dated against skew");
        assert!(claims.exp > now);
    }
    let header = jsonwebtoken::decode_header(&tokens[0]).unwrap();
    assert_eq!(header.kid.as_deref(), Some(fake.key().key_id.as_str()));
    assert_eq!(header.alg, jsonwebtoken::Algorithm::ES256);
    fake.manual_clock()
        .unwrap()
        .advance(std::time::Duration::from_secs(14 * 60));
    source.healthcheck().await.unwrap();
    let last = fake.tokens_seen().last().cloned().unwrap();
    assert_ne!(last, tokens[0], "a token about to expire is re-minted");
}

#[tokio::test]
async fn apps_lookup_follows_pages_and_ignores_near_matches() {
    let fake = fake(FakeAppStoreConnect::builder().apps(5).days(2)).await;
    fake.set_page_size_cap(3);
    let source = source(&fake);
    let d = fake.catalogue().start;
    let batch = source
        .collect(&sales_request(targets(&fake, 5), d, d))
        .await
        .unwrap();
    assert_sales_match(&fake, &batch, 5, d);
    assert_eq!(
        fake.request_count(Endpoint::Apps),
        4,
        "10 apps (5 + .development twins) in pages of 3"
    );
}

#[tokio::test]
async fn a_budget_of_100_per_window_is_paced_without_a_429() {
    let fake = fake(FakeAppStoreConnect::builder().apps(1).days(130)).await;
    let window = std::time::Duration::from_secs(2);
    fake.set_rate_limit(100, window);
    let mut config = fake.config();
    config.http.rate_window_secs = 2;
    let source = source_with(&fake, config);
    let (start, end) = (fake.catalogue().start, fake.catalogue().last_day());
    let batch = source
        .collect(&sales_request(targets(&fake, 1), start, end))
        .await
        .unwrap();
    assert_eq!(fake.rate_limited_count(), 0, "the client never drew a 429");
    assert_eq!(
        fake.request_count(Endpoint::SalesReports),
        130,
        "no request was retried"
    );
    assert!(
        batch
            .outcomes
            .iter()
            .all(|o| matches!(o.outcome, DayOutcome::Collected))
    );
}
