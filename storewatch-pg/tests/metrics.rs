//! MetricStore on PostgreSQL: validation (all or nothing), idempotent bulk upserts,
//! chunked large batches, history selections and latest days.

// Test helpers outside #[test] functions unwrap too.
#![allow(clippy::unwrap_used)]

mod common;

use chrono::Days;
use common::{TestDb, apps, day};
use storewatch_core::ErrorKind;
use storewatch_core::analysis::required_days;
use storewatch_core::model::{AppId, Metric, MetricPoint};
use storewatch_core::store::{DaySelection, HistoryQuery, MetricStore};

async fn count(store: &storewatch_pg::PostgresStore) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM metric_points")
        .fetch_one(store.pool())
        .await
        .unwrap()
}

#[tokio::test]
async fn a_bad_point_refuses_the_whole_batch_naming_app_metric_and_day() {
    let db = TestDb::new().await;
    let store = db.store().await;
    let app = apps(&store, 1).await[0].id;
    let d = day(2026, 3, 1);
    let good = MetricPoint::total(app, Metric::DOWNLOADS, d, 1.0);
    let cases = [
        (
            MetricPoint::total(app, Metric::SESSIONS, d, f64::NAN),
            "value",
        ),
        (
            MetricPoint::total(app, Metric::SESSIONS, d, f64::INFINITY),
            "value",
        ),
        (
            MetricPoint::total(app, Metric::SESSIONS, d, 1.0).with_segment("EUR"),
            "segment",
        ),
        (
            MetricPoint::total(AppId(424242), Metric::SESSIONS, d, 1.0),
            "app_id",
        ),
    ];
    for (bad, field) in cases {
        let err = store
            .upsert_points(&[good.clone(), bad.clone()])
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
        let text = err.to_string();
        assert!(text.contains(field), "{text}");
        assert!(
            text.contains(&format!("app {}", bad.app_id))
                && text.contains("sessions")
                && text.contains("2026-03-01"),
            "{text}"
        );
        assert_eq!(
            count(&store).await,
            0,
            "nothing of a refused batch is written"
        );
    }
}

#[tokio::test]
async fn upserts_are_idempotent_and_replace_values() {
    let db = TestDb::new().await;
    let store = db.store().await;
    let apps = apps(&store, 3).await;
    let start = day(2026, 1, 1);
    let mut points = Vec::new();
    for a in &apps {
        for i in 0..30u64 {
            let d = start + Days::new(i);
            points.push(MetricPoint::total(a.id, Metric::DOWNLOADS, d, i as f64));
            points.push(
                MetricPoint::total(a.id, Metric::PROCEEDS, d, 2.5 * i as f64)
                    .with_segment("currency:EUR"),
            );
        }
    }
    assert_eq!(
        store.upsert_points(&points).await.unwrap(),
        points.len() as u64
    );
    assert_eq!(
        store.upsert_points(&points).await.unwrap(),
        points.len() as u64
    );
    assert_eq!(count(&store).await, points.len() as i64);

    // A restated value replaces the stored one; within one batch the last one wins.
    let restated = MetricPoint::total(apps[0].id, Metric::DOWNLOADS, start, 100.0);
    let again = MetricPoint::total(apps[0].id, Metric::DOWNLOADS, start, 200.0);
    store.upsert_points(&[restated, again]).await.unwrap();
    assert_eq!(count(&store).await, points.len() as i64);
    let h = store
        .history(
            &HistoryQuery::range(start, start)
                .with_apps(vec![apps[0].id])
                .with_metrics(vec![Metric::DOWNLOADS]),
        )
        .await
        .unwrap();
    assert_eq!(
        h.to_points(),
        vec![MetricPoint::total(
            apps[0].id,
            Metric::DOWNLOADS,
            start,
            200.0
        )]
    );
    assert_eq!(store.upsert_points(&[]).await.unwrap(), 0);
}

#[tokio::test]
async fn a_batch_larger_than_one_statement_is_written_whole() {
    let db = TestDb::new().await;
    let store = db.store().await;
    let apps = apps(&store, 10).await;
    let start = day(2024, 1, 1);
    let metrics = [Metric::DOWNLOADS, Metric::UPDATES, Metric::SESSIONS];
    let mut points = Vec::new();
    for a in &apps {
        for m in &metrics {
            for i in 0..400u64 {
                for seg in ["", "country:US", "country:DE", "country:FR", "country:JP"] {
                    points.push(
                        MetricPoint::total(a.id, m.clone(), start + Days::new(i), (i % 97) as f64)
                            .with_segment(seg),
                    );
                }
            }
        }
    }
    assert!(points.len() > 50_000);
    store.upsert_points(&points).await.unwrap();
    assert_eq!(count(&store).await, points.len() as i64);
    let sum: f64 = sqlx::query_scalar("SELECT sum(value) FROM metric_points")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(sum, points.iter().map(|p| p.value).sum::<f64>());
}

#[tokio::test]
async fn history_selects_days_apps_and_metrics_with_app_identity() {
    let db = TestDb::new().await;
    let store = db.store().await;
    let apps = apps(&store, 3).await;
    let target = day(2026, 3, 1);
    let mut points = Vec::new();
    for a in &apps {
        for back in 0..400u64 {
            let d = target - Days::new(back);
            points.push(MetricPoint::total(a.id, Metric::DOWNLOADS, d, back as f64));
            points.push(MetricPoint::total(
                a.id,
                Metric::SESSIONS,
                d,
                1.0 + back as f64,
            ));
        }
    }
    store.upsert_points(&points).await.unwrap();

    let days = required_days(target);
    let h = store
        .history(&HistoryQuery::new(DaySelection::Days(days.clone())))
        .await
        .unwrap();
    assert_eq!(h.series.len(), 6);
    assert_eq!(h.len(), 6 * days.len());
    for s in &h.series {
        let app = apps.iter().find(|a| a.id == s.key.app_id).unwrap();
        assert_eq!(s.key.platform, app.platform);
        assert_eq!(s.key.bundle_id, app.bundle_id);
        let mut got: Vec<_> = s.points.iter().map(|p| p.0).collect();
        got.sort();
        assert_eq!(got, days);
    }
    // Series come in the analysis order.
    assert!(h.series.windows(2).all(|w| w[0].key <= w[1].key));

    let h = store
        .history(
            &HistoryQuery::range(target - Days::new(6), target)
                .with_apps(vec![apps[1].id])
                .with_metrics(vec![Metric::SESSIONS]),
        )
        .await
        .unwrap();
    assert_eq!(h.series.len(), 1);
    let mut pts = h.series[0].points.clone();
    pts.sort_by_key(|p| p.0);
    assert_eq!(pts.len(), 7);
    assert_eq!(pts[6], (target, 1.0));
    assert_eq!(pts[0], (target - Days::new(6), 7.0));

    let empty = store
        .history(&HistoryQuery::range(day(2030, 1, 1), day(2030, 2, 1)))
        .await
        .unwrap();
    assert!(empty.is_empty());
}

#[tokio::test]
async fn latest_dates_per_app() {
    let db = TestDb::new().await;
    let store = db.store().await;
    let apps = apps(&store, 3).await;
    store
        .upsert_points(&[
            MetricPoint::total(apps[0].id, Metric::DOWNLOADS, day(2026, 2, 27), 1.0),
            MetricPoint::total(apps[0].id, Metric::SESSIONS, day(2026, 3, 1), 1.0),
            MetricPoint::total(apps[1].id, Metric::DOWNLOADS, day(2025, 12, 31), 1.0),
        ])
        .await
        .unwrap();
    let latest = store
        .latest_dates(&[apps[0].id, apps[1].id, apps[2].id])
        .await
        .unwrap();
    assert_eq!(latest.len(), 2, "an app without points has no entry");
    assert_eq!(latest[&apps[0].id], day(2026, 3, 1));
    assert_eq!(latest[&apps[1].id], day(2025, 12, 31));
}

#[tokio::test]
async fn a_batch_mixing_new_and_stored_points_writes_all_once() {
    let db = TestDb::new().await;
    let store = db.store_with(6).await;
    let apps = apps(&store, 2).await;
    let start = day(2026, 2, 1);
    let old: Vec<MetricPoint> = (0..10u64)
        .map(|i| MetricPoint::total(apps[0].id, Metric::DOWNLOADS, start + Days::new(i), 1.0))
        .collect();
    store.upsert_points(&old).await.unwrap();
    // Restated days 5..10 plus new days 10..20, and a new app, in one batch.
    let mut batch: Vec<MetricPoint> = (5..20u64)
        .map(|i| MetricPoint::total(apps[0].id, Metric::DOWNLOADS, start + Days::new(i), 2.0))
        .collect();
    batch.push(MetricPoint::total(
        apps[1].id,
        Metric::DOWNLOADS,
        start,
        3.0,
    ));
    store.upsert_points(&batch).await.unwrap();
    assert_eq!(count(&store).await, 21);
    let sum: f64 = sqlx::query_scalar("SELECT sum(value) FROM metric_points")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(sum, 5.0 * 1.0 + 15.0 * 2.0 + 3.0);

    // Several writers upserting overlapping batches at once: all succeed, once each.
    let mut tasks = Vec::new();
    for w in 0..6u64 {
        let store = store.clone();
        let app = apps[1].id;
        tasks.push(tokio::spawn(async move {
            let points: Vec<MetricPoint> = (0..200u64)
                .map(|i| {
                    MetricPoint::total(app, Metric::SESSIONS, start + Days::new(i + w * 50), 7.0)
                })
                .collect();
            store.upsert_points(&points).await
        }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let sessions: i64 =
        sqlx::query_scalar("SELECT count(*) FROM metric_points WHERE metric = 'sessions'")
            .fetch_one(store.pool())
            .await
            .unwrap();
    assert_eq!(sessions, 200 + 5 * 50);
}
