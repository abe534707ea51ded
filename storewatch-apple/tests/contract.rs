//! The MetricSource contract checked over a full collection against the fake: one outcome
//! per (app, day), only asked-for points, valid and unique, metric filter honoured.

#![allow(clippy::unwrap_used)] // test helpers panic on broken fixtures by design

mod common;

use std::collections::BTreeSet;

use common::*;
use storewatch_apple::fake::FakeAppStoreConnect;
use storewatch_core::model::Metric;
use storewatch_core::source::{CollectRequest, MetricSource};

#[tokio::test]
async fn a_collection_keeps_the_source_contract() {
    let fake = fake(
        FakeAppStoreConnect::builder()
            .apps(4)
            .days(9)
            .without_analytics_request(3),
    )
    .await;
    let source = source(&fake);
    assert_eq!(source.kind(), storewatch_apple::KIND);
    let from = fake.catalogue().start + chrono::Duration::days(3);
    let to = fake.catalogue().last_day();
    let req = CollectRequest::new(targets(&fake, 4), from, to);
    let batch = source.collect(&req).await.unwrap();
    let days: Vec<_> = req.days().collect();
    let mut seen = BTreeSet::new();
    for o in &batch.outcomes {
        assert!(
            seen.insert((o.app_id, o.day)),
            "one outcome per app and day"
        );
    }
    assert_eq!(seen.len(), 4 * days.len());
    let mut keys = BTreeSet::new();
    for p in &batch.points {
        p.validate().unwrap();
        assert!(p.date >= from && p.date <= to, "only asked days");
        assert!((1..=4).contains(&p.app_id.0), "only asked apps");
        assert!(
            source.metrics().contains(&p.metric),
            "only declared metrics"
        );
        assert!(
            keys.insert((p.app_id, p.metric.clone(), p.date, p.segment.clone())),
            "unique points"
        );
    }
    // Every segmented metric of a day has its total.
    for (app, metric, date, segment) in &keys {
        if !segment.is_empty() {
            assert!(keys.contains(&(*app, metric.clone(), *date, String::new())));
        }
    }
    // Asking for one metric yields only that metric.
    let only = CollectRequest::new(targets(&fake, 4), from, to).with_metrics(vec![Metric::UPDATES]);
    let batch = source.collect(&only).await.unwrap();
    assert!(!batch.points.is_empty());
    assert!(batch.points.iter().all(|p| p.metric == Metric::UPDATES));
    assert_eq!(batch.outcomes.len(), 4 * days.len());
    // An empty request asks nothing.
    let before = fake.request_counts();
    let empty = source
        .collect(&CollectRequest::new(Vec::new(), from, to))
        .await
        .unwrap();
    assert!(empty.points.is_empty() && empty.outcomes.is_empty());
    assert_eq!(fake.request_counts(), before);
}

#[tokio::test]
async fn the_testkit_source_suite_passes() {
    use std::sync::Arc;
    use storewatch_core::model::{AppId, BundleId, Platform};
    use storewatch_core::source::AppTarget;
    use storewatch_core::testkit::source::{SourceCheck, check_all};
    let fake = fake(FakeAppStoreConnect::builder().apps(3).days(8)).await;
    let from = fake.catalogue().start + chrono::Duration::days(2);
    let to = fake.catalogue().last_day();
    let check = SourceCheck {
        source: Arc::new(source(&fake)),
        request: CollectRequest::new(targets(&fake, 3), from, to),
        unknown_app: Some(AppTarget {
            app_id: AppId(99),
            bundle_id: BundleId::parse(Platform::Ios, "com.fake.nowhere").unwrap(),
            store_id: None,
        }),
    };
    check_all(&check).await;
}
