//! Metric points on a real file: idempotent bulk upserts, all-or-nothing validation,
//! history selection and grouping.

#![allow(clippy::unwrap_used)] // test code: a failed step should panic

mod common;

use std::collections::BTreeMap;

use chrono::{Days, NaiveDate};
use common::{TestDb, app, day};
use storewatch_core::ErrorKind;
use storewatch_core::analysis::required_days;
use storewatch_core::model::{AppId, Metric, MetricPoint, Platform};
use storewatch_core::store::{DaySelection, HistoryQuery, MetricStore};
use storewatch_sqlite::POINTS_PER_STATEMENT;

fn points(apps: &[AppId], metrics: &[Metric], days: &[NaiveDate], scale: f64) -> Vec<MetricPoint> {
    let mut out = Vec::new();
    for (a, app) in apps.iter().enumerate() {
        for (m, metric) in metrics.iter().enumerate() {
            for (d, date) in days.iter().enumerate() {
                let value = scale * (a * 1_000_000 + m * 1_000 + d) as f64 + 0.125;
                out.push(MetricPoint::total(*app, metric.clone(), *date, value));
            }
        }
    }
    out
}

/// Points by (app, metric, segment, day) for comparison.
fn keyed(points: &[MetricPoint]) -> BTreeMap<(i64, String, String, NaiveDate), f64> {
    points
        .iter()
        .map(|p| {
            (
                (p.app_id.0, p.metric.to_string(), p.segment.clone(), p.date),
                p.value,
            )
        })
        .collect()
}

#[tokio::test]
async fn upserting_the_same_points_twice_stores_them_once_with_the_new_values() {
    let db = TestDb::new();
    let store = db.open().await;
    let a = app(&store, "A", Platform::Ios, "com.example.a").await;
    let b = app(&store, "B", Platform::Android, "com.example.b").await;
    let start = day(2025, 1, 1);
    let days: Vec<NaiveDate> = (0..400).map(|i| start + Days::new(i)).collect();
    let metrics = [Metric::DOWNLOADS, Metric::UPDATES, Metric::CRASH_RATE];
    let fresh = points(&[a.id, b.id], &metrics, &days, 1.0);
    // More than one statement's worth, and not a multiple of it.
    assert!(
        fresh.len() > POINTS_PER_STATEMENT && !fresh.len().is_multiple_of(POINTS_PER_STATEMENT)
    );
    assert_eq!(
        store.upsert_points(&fresh).await.unwrap(),
        fresh.len() as u64
    );
    let all = HistoryQuery::range(days[0], days[399]);
    assert_eq!(
        keyed(&store.history(&all).await.unwrap().to_points()),
        keyed(&fresh)
    );

    // Same points again: nothing doubles.
    store.upsert_points(&fresh).await.unwrap();
    assert_eq!(store.history(&all).await.unwrap().len(), fresh.len());

    // Same keys with new values: replaced in place.
    let updated = points(&[a.id, b.id], &metrics, &days, -2.0);
    store.upsert_points(&updated).await.unwrap();
    let stored = store.history(&all).await.unwrap();
    assert_eq!(stored.len(), fresh.len());
    assert_eq!(keyed(&stored.to_points()), keyed(&updated));
}

#[tokio::test]
async fn one_bad_point_refuses_the_whole_batch() {
    let db = TestDb::new();
    let store = db.open().await;
    let a = app(&store, "A", Platform::Ios, "com.example.a").await;
    let d = day(2026, 3, 1);
    let good = MetricPoint::total(a.id, Metric::DOWNLOADS, d, 5.0);
    store
        .upsert_points(std::slice::from_ref(&good))
        .await
        .unwrap();

    let mut batch: Vec<MetricPoint> = (1..=3000)
        .map(|i| MetricPoint::total(a.id, Metric::DOWNLOADS, d - Days::new(i), i as f64))
        .collect();
    batch.push(MetricPoint::total(a.id, Metric::DOWNLOADS, d, 99.0));
    let bad_day = d - Days::new(2500);
    batch[2499] = MetricPoint::total(a.id, Metric::SESSIONS, bad_day, f64::INFINITY);
    let err = store.upsert_points(&batch).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    let text = err.to_string();
    assert!(
        text.contains(&format!("app {}", a.id))
            && text.contains("sessions")
            && text.contains(&bad_day.to_string()),
        "{text}"
    );

    batch[2499] = MetricPoint::total(a.id, Metric::SESSIONS, bad_day, 1.0).with_segment("EUR");
    let err = store.upsert_points(&batch).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.to_string().contains("segment"), "{err}");

    batch[2499] = MetricPoint::total(AppId(424242), Metric::SESSIONS, bad_day, 1.0);
    let err = store.upsert_points(&batch).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    let text = err.to_string();
    assert!(
        text.contains("424242") && text.contains("sessions") && text.contains(&bad_day.to_string()),
        "{text}"
    );

    // Nothing of the refused batches was written: only the first point is there.
    let all = store
        .history(&HistoryQuery::range(d - Days::new(4000), d))
        .await
        .unwrap();
    assert_eq!(all.to_points(), vec![good]);
}

#[tokio::test]
async fn history_selects_apps_metrics_and_days_and_groups_by_series() {
    let db = TestDb::new();
    let store = db.open().await;
    let a = app(&store, "A", Platform::Ios, "com.example.a").await;
    let b = app(&store, "B", Platform::Android, "com.example.b").await;
    let target = day(2026, 3, 1);
    let days: Vec<NaiveDate> = (0..400).map(|i| target - Days::new(i)).collect();
    let metrics = [Metric::DOWNLOADS, Metric::PROCEEDS];
    let mut all = points(&[a.id, b.id], &metrics, &days, 1.0);
    all.push(MetricPoint::total(a.id, Metric::PROCEEDS, target, 7.5).with_segment("currency:EUR"));
    store.upsert_points(&all).await.unwrap();

    // The analysis query: required days of every series.
    let required = required_days(target);
    let history = store
        .history(&HistoryQuery::new(DaySelection::Days(required.clone())))
        .await
        .unwrap();
    assert_eq!(history.series.len(), 5);
    let expected: Vec<&MetricPoint> = all.iter().filter(|p| required.contains(&p.date)).collect();
    assert_eq!(history.len(), expected.len());
    for series in &history.series {
        let app_spec = if series.key.app_id == a.id { &a } else { &b };
        assert_eq!(series.key.platform, app_spec.platform);
        assert_eq!(series.key.bundle_id, app_spec.bundle_id);
        for (d, v) in &series.points {
            let want = all
                .iter()
                .find(|p| {
                    p.app_id == series.key.app_id
                        && p.metric == series.key.metric
                        && p.segment == series.key.segment
                        && p.date == *d
                })
                .unwrap();
            assert_eq!(*v, want.value);
        }
    }
    let eur = history
        .series
        .iter()
        .find(|s| s.key.segment == "currency:EUR")
        .unwrap();
    assert_eq!(eur.points, vec![(target, 7.5)]);

    // One app, one metric, a range.
    let from = target - Days::new(9);
    let one = store
        .history(
            &HistoryQuery::range(from, target)
                .with_apps(vec![b.id])
                .with_metrics(vec![Metric::DOWNLOADS]),
        )
        .await
        .unwrap();
    assert_eq!(one.series.len(), 1);
    assert_eq!(one.series[0].key.app_id, b.id);
    assert_eq!(one.series[0].key.metric, Metric::DOWNLOADS);
    let mut got: Vec<NaiveDate> = one.series[0].points.iter().map(|p| p.0).collect();
    got.sort();
    assert_eq!(
        got,
        (0..10).map(|i| from + Days::new(i)).collect::<Vec<_>>()
    );

    assert!(
        store
            .history(&HistoryQuery::range(target, target).with_apps(vec![]))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .history(&HistoryQuery::new(DaySelection::Days(vec![])))
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn latest_dates_are_per_app() {
    let db = TestDb::new();
    let store = db.open().await;
    let a = app(&store, "A", Platform::Ios, "com.example.a").await;
    let b = app(&store, "B", Platform::Ios, "com.example.b").await;
    let c = app(&store, "C", Platform::Ios, "com.example.c").await;
    store
        .upsert_points(&[
            MetricPoint::total(a.id, Metric::DOWNLOADS, day(2026, 2, 27), 1.0),
            MetricPoint::total(a.id, Metric::SESSIONS, day(2026, 2, 28), 1.0),
            MetricPoint::total(b.id, Metric::DOWNLOADS, day(2025, 12, 31), 1.0),
        ])
        .await
        .unwrap();
    let latest = store.latest_dates(&[a.id, b.id, c.id]).await.unwrap();
    assert_eq!(
        latest,
        BTreeMap::from([(a.id, day(2026, 2, 28)), (b.id, day(2025, 12, 31))])
    );
    assert_eq!(
        store.latest_dates(&[b.id]).await.unwrap(),
        BTreeMap::from([(b.id, day(2025, 12, 31))])
    );
    assert!(store.latest_dates(&[]).await.unwrap().is_empty());
}

#[tokio::test]
async fn every_finite_value_comes_back_bit_for_bit() {
    let db = TestDb::new();
    let store = db.open().await;
    let a = app(&store, "A", Platform::Ios, "com.example.a").await;
    let start = day(2000, 1, 1);
    // Random bit patterns cover every exponent; the fixed ones are the edge cases.
    let mut state = 0x2545_F491_4F6C_DD1D_u64;
    let mut values = vec![
        0.1,
        1.0 / 3.0,
        5e-324,
        f64::MAX,
        f64::MIN_POSITIVE,
        -123_456.789,
        0.0,
        1e21,
    ];
    while values.len() < 5000 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let v = f64::from_bits(state);
        if v.is_finite() {
            values.push(v);
        }
    }
    let batch: Vec<MetricPoint> = values
        .iter()
        .enumerate()
        .map(|(i, v)| MetricPoint::total(a.id, Metric::PROCEEDS, start + Days::new(i as u64), *v))
        .collect();
    store.upsert_points(&batch).await.unwrap();
    let history = store
        .history(&HistoryQuery::range(start, start + Days::new(10_000)))
        .await
        .unwrap();
    let got = keyed(&history.to_points());
    let want = keyed(&batch);
    assert_eq!(got.len(), want.len());
    for (key, v) in &want {
        assert_eq!(got[key].to_bits(), v.to_bits(), "{key:?}: {v:e}");
    }
}
