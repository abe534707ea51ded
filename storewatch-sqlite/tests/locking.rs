//! A file whose write lock another process or connection holds past the busy timeout:
//! writers get a retryable `Unavailable`, readers go on (WAL), and the write succeeds
//! once the lock is released.

#![allow(clippy::unwrap_used)] // test code: a failed step should panic

mod common;

use std::time::Duration;

use common::{TestDb, app, day};
use sqlx::Connection;
use storewatch_core::ErrorKind;
use storewatch_core::model::{Metric, MetricPoint, Platform};
use storewatch_core::store::{ConfigStore, HistoryQuery, MetricStore};
use storewatch_sqlite::{SqliteConfig, SqliteStore};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_write_lock_makes_writes_unavailable_until_released() {
    let db = TestDb::new();
    let config = SqliteConfig {
        busy_timeout: Duration::from_millis(200),
        ..SqliteConfig::default()
    };
    let store = SqliteStore::open(&db.path, config).await.unwrap();
    let a = app(&store, "A", Platform::Ios, "com.example.a").await;
    let d = day(2026, 3, 1);
    let point = MetricPoint::total(a.id, Metric::DOWNLOADS, d, 1.0);

    // Another connection (as another process would) takes the write lock and keeps it.
    let mut holder = sqlx::SqliteConnection::connect(&db.path).await.unwrap();
    sqlx::query("BEGIN IMMEDIATE")
        .execute(&mut holder)
        .await
        .unwrap();

    let err = store
        .upsert_points(std::slice::from_ref(&point))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
    assert!(err.is_retryable());
    assert!(err.to_string().contains("metric points"), "{err}");
    let err = store
        .create_app(
            storewatch_core::model::AppSpec::new("B", Platform::Ios, "com.example.b").unwrap(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
    // Readers are not blocked by a writer in WAL mode.
    assert_eq!(store.list_apps().await.unwrap().len(), 1);

    sqlx::query("ROLLBACK").execute(&mut holder).await.unwrap();
    store
        .upsert_points(std::slice::from_ref(&point))
        .await
        .unwrap();
    let history = store.history(&HistoryQuery::range(d, d)).await.unwrap();
    assert_eq!(history.to_points(), vec![point]);
}
