//! Helpers shared by the integration tests: a fake, a source wired to it, requests.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use std::sync::Arc;

use chrono::NaiveDate;
use rust_decimal::prelude::ToPrimitive;
use storewatch_apple::fake::{FakeAppStoreConnect, FakeBuilder};
use storewatch_apple::{AppStoreConnectConfig, AppStoreConnectSource};
use storewatch_core::model::{AppId, BundleId, Metric, MetricPoint, Platform};
use storewatch_core::source::{AppTarget, CollectBatch, CollectRequest, DayOutcome};

pub fn day(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

pub async fn fake(builder: FakeBuilder) -> FakeAppStoreConnect {
    builder.start().await.expect("fake starts")
}

pub fn source(fake: &FakeAppStoreConnect) -> AppStoreConnectSource {
    source_with(fake, fake.config())
}

pub fn source_with(
    fake: &FakeAppStoreConnect,
    config: AppStoreConnectConfig,
) -> AppStoreConnectSource {
    AppStoreConnectSource::with_clock(config, fake.clock()).expect("source builds")
}

/// Targets for the catalogue's first `n` apps, with app ids 1..=n and no known store id.
pub fn targets(fake: &FakeAppStoreConnect, n: usize) -> Vec<AppTarget> {
    fake.catalogue().apps[..n]
        .iter()
        .enumerate()
        .map(|(i, a)| AppTarget {
            app_id: AppId(i as i64 + 1),
            bundle_id: BundleId::parse(Platform::Ios, &a.bundle_id).unwrap(),
            store_id: None,
        })
        .collect()
}

pub fn sales_metrics() -> Vec<Metric> {
    vec![
        Metric::DOWNLOADS,
        Metric::REDOWNLOADS,
        Metric::UPDATES,
        Metric::IAP_UNITS,
        Metric::PROCEEDS,
    ]
}

pub fn sales_request(targets: Vec<AppTarget>, from: NaiveDate, to: NaiveDate) -> CollectRequest {
    CollectRequest::new(targets, from, to).with_metrics(sales_metrics())
}

pub fn value(
    batch: &CollectBatch,
    app: i64,
    metric: &Metric,
    date: NaiveDate,
    segment: &str,
) -> Option<f64> {
    let matching: Vec<&MetricPoint> = batch
        .points
        .iter()
        .filter(|p| {
            p.app_id == AppId(app) && &p.metric == metric && p.date == date && p.segment == segment
        })
        .collect();
    assert!(
        matching.len() <= 1,
        "duplicate points for app {app} {metric} {date} {segment:?}"
    );
    matching.first().map(|p| p.value)
}

pub fn outcome(batch: &CollectBatch, app: i64, date: NaiveDate) -> &DayOutcome {
    let found: Vec<_> = batch
        .outcomes
        .iter()
        .filter(|o| o.app_id == AppId(app) && o.day == date)
        .collect();
    assert_eq!(
        found.len(),
        1,
        "exactly one outcome for app {app} on {date}"
    );
    &found[0].outcome
}

/// Checks every sales metric of the first `n` apps on `date` against the catalogue.
pub fn assert_sales_match(
    fake: &FakeAppStoreConnect,
    batch: &CollectBatch,
    n: usize,
    date: NaiveDate,
) {
    for i in 0..n {
        let app = i as i64 + 1;
        let e = fake.catalogue().expected_sales(i, date);
        let f = |d: rust_decimal::Decimal| d.to_f64().unwrap();
        assert_eq!(
            value(batch, app, &Metric::DOWNLOADS, date, ""),
            Some(f(e.downloads)),
            "downloads app {app} {date}"
        );
        assert_eq!(
            value(batch, app, &Metric::REDOWNLOADS, date, ""),
            Some(f(e.redownloads))
        );
        assert_eq!(
            value(batch, app, &Metric::UPDATES, date, ""),
            Some(f(e.updates))
        );
        assert_eq!(
            value(batch, app, &Metric::IAP_UNITS, date, ""),
            Some(f(e.iap_units)),
            "iap app {app} {date}"
        );
        assert!(
            e.proceeds.len() >= 2,
            "the catalogue has several currencies"
        );
        for (currency, amount) in &e.proceeds {
            let got = value(
                batch,
                app,
                &Metric::PROCEEDS,
                date,
                &format!("currency:{currency}"),
            );
            assert_eq!(
                got,
                Some(f(*amount)),
                "proceeds {currency} app {app} {date}"
            );
        }
    }
}

pub fn arc_source(fake: &FakeAppStoreConnect) -> Arc<AppStoreConnectSource> {
    Arc::new(source(fake))
}
