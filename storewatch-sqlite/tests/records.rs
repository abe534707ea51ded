//! Configuration records on a real file: versions, uniqueness, deletes, reopening.

#![allow(clippy::unwrap_used)] // test code: a failed step should panic

mod common;

use std::time::Duration;

use common::{TestDb, app, day, t0};
use storewatch_core::ErrorKind;
use storewatch_core::clock::ManualClock;
use storewatch_core::model::{
    AlertState, AlertStatus, Fingerprint, Frequency, Metric, MetricPoint, Platform, ScheduleSpec,
    Task,
};
use storewatch_core::store::{ConfigStore, HistoryQuery, MetricStore, RunStore};
use storewatch_sqlite::{SqliteConfig, SqliteStore};

#[tokio::test]
async fn stale_version_is_a_conflict_and_leaves_the_record() {
    let db = TestDb::new();
    let clock = ManualClock::new(t0());
    let store = db.open_with(&clock).await;
    let created = app(&store, "Example", Platform::Ios, "com.example.app").await;
    assert_eq!(created.version, 1);
    assert_eq!(created.created_at, t0());

    clock.advance(Duration::from_secs(60));
    let mut spec = created.spec.clone();
    spec.name = "Renamed".into();
    let updated = store.update_app(created.id, 1, spec.clone()).await.unwrap();
    assert_eq!(updated.version, 2);
    assert_eq!(updated.created_at, t0());
    assert_eq!(updated.updated_at, clock.now_utc());

    spec.name = "Stale".into();
    let err = store.update_app(created.id, 1, spec).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict, "{err}");
    assert!(err.message().contains("version 2"), "{err}");
    let stored = store.get_app(created.id).await.unwrap();
    assert_eq!(stored, updated);

    let missing = storewatch_core::model::AppId(999);
    let err = store
        .update_app(missing, 1, stored.spec.clone())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert_eq!(
        store.delete_app(missing).await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
}

trait NowUtc {
    fn now_utc(&self) -> chrono::DateTime<chrono::Utc>;
}

impl NowUtc for ManualClock {
    fn now_utc(&self) -> chrono::DateTime<chrono::Utc> {
        storewatch_core::clock::Clock::now(self)
    }
}

#[tokio::test]
async fn names_and_bundle_ids_are_unique() {
    let db = TestDb::new();
    let store = db.open().await;
    let first = app(&store, "One", Platform::Ios, "com.example.one").await;
    let same_bundle =
        storewatch_core::model::AppSpec::new("Two", Platform::Ios, "com.example.one").unwrap();
    let err = store.create_app(same_bundle).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict);
    assert!(err.message().contains("com.example.one"), "{err}");
    // The same bundle id on the other platform is another app.
    app(&store, "Two", Platform::Android, "com.example.one").await;

    let err = store
        .create_app(
            storewatch_core::model::AppSpec::new("One", Platform::Ios, "com.example.three")
                .unwrap(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict);
    assert!(err.message().contains("\"One\""), "{err}");

    let schedule = |name: &str| {
        ScheduleSpec::new(name, Task::FullAnalysis, Frequency::Daily, 6, 0, "UTC").unwrap()
    };
    store.create_schedule(schedule("nightly")).await.unwrap();
    let err = store
        .create_schedule(schedule("nightly"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict);
    // A rename into a taken name is refused too, and changes nothing.
    let other = store.create_schedule(schedule("weekly")).await.unwrap();
    let err = store
        .update_schedule(other.id, 1, schedule("nightly"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict);
    assert_eq!(store.get_schedule(other.id).await.unwrap(), other);
    let apps = store.list_apps().await.unwrap();
    assert_eq!(apps.len(), 2);
    assert_eq!(apps[0].id, first.id);
    assert!(apps[0].id < apps[1].id);
}

#[tokio::test]
async fn invalid_specs_are_refused_by_field() {
    let db = TestDb::new();
    let store = db.open().await;
    let mut spec =
        ScheduleSpec::new("nightly", Task::FullAnalysis, Frequency::Daily, 6, 0, "UTC").unwrap();
    spec.hour = 24;
    let err = store.create_schedule(spec).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.message().contains("hour"), "{err}");
    assert!(store.list_schedules().await.unwrap().is_empty());
}

#[tokio::test]
async fn deleting_an_app_deletes_its_points_and_alert_states() {
    let db = TestDb::new();
    let store = db.open().await;
    let gone = app(&store, "Gone", Platform::Ios, "com.example.gone").await;
    let kept = app(&store, "Kept", Platform::Ios, "com.example.kept").await;
    let d = day(2026, 3, 1);
    store
        .upsert_points(&[
            MetricPoint::total(gone.id, Metric::DOWNLOADS, d, 1.0),
            MetricPoint::total(kept.id, Metric::DOWNLOADS, d, 2.0),
        ])
        .await
        .unwrap();
    let state = |app_id| AlertState {
        fingerprint: Fingerprint {
            rule_id: storewatch_core::model::RuleId(1),
            app_id,
            metric: Metric::DOWNLOADS,
            segment: String::new(),
        },
        status: AlertStatus::Firing,
        breach_days: 2,
        last_day: Some(d),
        since: t0(),
        last_notified: None,
        last_severity: None,
    };
    store
        .save_alert_states(&[state(gone.id), state(kept.id)])
        .await
        .unwrap();

    store.delete_app(gone.id).await.unwrap();
    let history = store.history(&HistoryQuery::range(d, d)).await.unwrap();
    assert_eq!(history.to_points().len(), 1);
    assert_eq!(history.series[0].key.app_id, kept.id);
    let states = store.alert_states().await.unwrap();
    assert_eq!(states.len(), 1);
    assert!(states.values().all(|s| s.fingerprint.app_id == kept.id));
    assert_eq!(
        store.get_app(gone.id).await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
    // Ids are not reused.
    let next = app(&store, "Next", Platform::Ios, "com.example.next").await;
    assert!(next.id > kept.id);
}

#[tokio::test]
async fn the_file_is_created_in_wal_mode_and_survives_reopening() {
    let db = TestDb::new();
    let url = format!("sqlite://{}", db.path);
    let store = SqliteStore::open(&url, SqliteConfig::default())
        .await
        .unwrap();
    let created = app(&store, "Example", Platform::Android, "com.example.app").await;
    store.close().await;
    assert!(std::path::Path::new(&db.path).exists());

    let reopened = db.open().await;
    reopened.migrate().await.unwrap(); // idempotent
    assert_eq!(reopened.get_app(created.id).await.unwrap(), created);
    let mode: String = {
        use sqlx::Connection;
        let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
        sqlx::query_scalar("PRAGMA journal_mode")
            .fetch_one(&mut conn)
            .await
            .unwrap()
    };
    assert_eq!(mode, "wal");
}

#[tokio::test]
async fn opening_without_create_fails_for_a_missing_file() {
    let db = TestDb::new();
    let config = SqliteConfig {
        create_if_missing: false,
        ..SqliteConfig::default()
    };
    let err = SqliteStore::open(&db.path, config).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
    assert!(err.to_string().contains("storewatch.db"), "{err}");
    let err = SqliteStore::open("", SqliteConfig::default())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
}

#[tokio::test]
async fn a_closed_store_is_unavailable() {
    let db = TestDb::new();
    let store = db.open().await;
    store.close().await;
    let err = store.list_apps().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    assert!(err.is_retryable());
    assert!(store.now().await.is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn several_stores_opening_a_new_file_at_once_all_migrate_it() {
    for _ in 0..5 {
        let db = TestDb::new();
        let opens: Vec<_> = (0..4)
            .map(|_| {
                let path = db.path.clone();
                tokio::spawn(async move { SqliteStore::open(&path, SqliteConfig::default()).await })
            })
            .collect();
        let mut stores = Vec::new();
        for open in opens {
            stores.push(open.await.unwrap().unwrap());
        }
        for (i, store) in stores.iter().enumerate() {
            app(
                store,
                &format!("App {i}"),
                Platform::Ios,
                &format!("com.example.a{i}"),
            )
            .await;
        }
        assert_eq!(stores[0].list_apps().await.unwrap().len(), 4);
    }
}

#[tokio::test]
async fn pending_migrations_lists_what_migrate_applies() {
    let db = TestDb::new();
    let config = storewatch_sqlite::SqliteConfig {
        migrate: false,
        ..Default::default()
    };
    let store = storewatch_sqlite::SqliteStore::open(&db.path, config)
        .await
        .unwrap();
    let before = store.pending_migrations().await.unwrap();
    assert!(!before.is_empty(), "a new file has every migration pending");
    store.migrate().await.unwrap();
    assert_eq!(store.pending_migrations().await.unwrap(), Vec::<i64>::new());
}
