//! sqlx errors from a real server map to the storewatch kinds a caller acts on.

// Test helpers outside #[test] functions unwrap too.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::TestDb;
use storewatch_core::ErrorKind;
use storewatch_core::store::{ConfigStore, RunStore};
use storewatch_pg::{PgConfig, PostgresStore, map_sqlx_error};

#[tokio::test]
async fn unique_violation_is_conflict_and_bad_values_are_invalid_input() {
    let db = TestDb::new().await;
    let store = db.store().await;
    sqlx::query("CREATE TABLE t (k int PRIMARY KEY)")
        .execute(store.pool())
        .await
        .unwrap();
    sqlx::query("INSERT INTO t VALUES (1)")
        .execute(store.pool())
        .await
        .unwrap();
    let err = sqlx::query("INSERT INTO t VALUES (1)")
        .execute(store.pool())
        .await
        .unwrap_err();
    let err = map_sqlx_error(err);
    assert_eq!(err.kind(), ErrorKind::Conflict);
    assert!(err.message().contains("t_pkey"), "{err}");
    let err = map_sqlx_error(
        sqlx::query("SELECT 1 / 0")
            .execute(store.pool())
            .await
            .unwrap_err(),
    );
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    let err = map_sqlx_error(
        sqlx::raw_sql("SET statement_timeout = 10; SELECT pg_sleep(1)")
            .execute(store.pool())
            .await
            .unwrap_err(),
    );
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
}

#[tokio::test]
async fn unreachable_server_is_unavailable_and_missing_database_is_config() {
    // Port 1 on loopback: nothing listens there.
    let store = PostgresStore::connect(
        "postgres://postgres@127.0.0.1:1/postgres",
        &PgConfig::default().with_acquire_timeout(Duration::from_secs(1)),
    )
    .unwrap();
    let err = store.now().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
    assert!(err.is_retryable());

    let db = TestDb::new().await;
    let mut url = url::Url::parse(&db.url).unwrap();
    url.set_path("/swtest_does_not_exist");
    let store = PostgresStore::connect(
        url.as_str(),
        &PgConfig::default().with_acquire_timeout(Duration::from_secs(2)),
    )
    .unwrap();
    let err = store.list_apps().await.unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::Config | ErrorKind::Unavailable),
        "{err}"
    );

    let err = PostgresStore::connect("mysql://nope", &PgConfig::default()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config, "{err}");
}

#[tokio::test]
async fn migrate_is_idempotent_and_closed_pool_is_unavailable() {
    let db = TestDb::new().await;
    let store = db.store().await;
    store.migrate().await.unwrap();
    let other = db.store().await; // a second instance migrating the same database
    other.migrate().await.unwrap();
    other.close().await;
    let err = other.list_apps().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
    store.list_apps().await.unwrap();
}

#[tokio::test]
async fn pool_settings_reach_the_server() {
    let db = TestDb::new().await;
    let mut config = PgConfig::default().with_max_connections(2);
    config.statement_timeout = Some(Duration::from_secs(1));
    config.application_name = "storewatch-test".into();
    let store = PostgresStore::connect(&db.url, &config).unwrap();
    store.migrate().await.unwrap();
    let (name, timeout): (String, String) = sqlx::query_as(
        "SELECT current_setting('application_name'), current_setting('statement_timeout')",
    )
    .fetch_one(store.pool())
    .await
    .unwrap();
    assert_eq!(name, "storewatch-test");
    assert_eq!(timeout, "1s");
    let err = storewatch_pg::map_sqlx_error(
        sqlx::query("SELECT pg_sleep(3)")
            .execute(store.pool())
            .await
            .unwrap_err(),
    );
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
}
