//! `MemoryStore` against the store conformance suite, plus what only a manual clock
//! can show: lease expiry and future `run_after` without waiting.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use storewatch_core::ErrorKind;
use storewatch_core::clock::ManualClock;
use storewatch_core::model::{ExecutionStatus, InstanceId, InstanceInfo, NewExecution, Task};
use storewatch_core::store::{ConfigStore, MemoryStore, RunStore};
use storewatch_core::testkit::sample_app_spec;

storewatch_core::store_conformance_tests!(async { MemoryStore::new() });

fn start() -> DateTime<Utc> {
    "2026-03-29T00:00:00Z"
        .parse()
        .expect("a valid RFC 3339 time")
}

fn day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 3, 28).expect("a valid day")
}

fn store_at(clock: &ManualClock) -> MemoryStore {
    MemoryStore::with_clock(Arc::new(clock.clone()))
}

#[tokio::test]
async fn lease_expires_exactly_when_the_clock_passes_it() {
    let clock = ManualClock::new(start());
    let store = store_at(&clock);
    let holder = InstanceId::from("holder");
    store
        .insert_execution(NewExecution::manual(Task::DataCollection, day(), start()))
        .await
        .unwrap()
        .unwrap();
    let e = store
        .claim_execution(&holder, Duration::from_secs(60))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(e.started_at, Some(start()));
    assert_eq!(e.lease_until, Some(start() + chrono::Duration::seconds(60)));

    clock.advance(Duration::from_secs(60));
    assert!(
        store.reap_expired().await.unwrap().is_empty(),
        "a lease ending now has not expired yet"
    );
    let lease = store
        .renew_lease(e.id, &holder, Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(lease.until, start() + chrono::Duration::seconds(90));

    clock.advance(Duration::from_secs(31));
    let reaped = store.reap_expired().await.unwrap();
    assert_eq!(reaped.len(), 1);
    let lost = &reaped[0];
    assert_eq!(lost.status, ExecutionStatus::Failed);
    assert_eq!(lost.error_log, "instance lost");
    assert_eq!(
        lost.completed_at,
        Some(start() + chrono::Duration::seconds(91))
    );
    assert_eq!(lost.duration, Some(Duration::from_secs(91)));
    let err = store
        .renew_lease(e.id, &holder, Duration::from_secs(30))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict);
}

#[tokio::test]
async fn future_run_after_is_claimed_only_once_it_comes() {
    let clock = ManualClock::new(start());
    let store = store_at(&clock);
    let later = start() + chrono::Duration::minutes(5);
    let retry = store
        .insert_execution(NewExecution::manual(Task::AlertCheck, day(), later))
        .await
        .unwrap()
        .unwrap();
    let instance = InstanceId::from("i");
    assert!(
        store
            .claim_execution(&instance, Duration::from_secs(60))
            .await
            .unwrap()
            .is_none()
    );
    clock.advance(Duration::from_secs(299));
    assert!(
        store
            .claim_execution(&instance, Duration::from_secs(60))
            .await
            .unwrap()
            .is_none()
    );
    clock.advance(Duration::from_secs(1));
    let claimed = store
        .claim_execution(&instance, Duration::from_secs(60))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(claimed.id, retry.id);
    assert_eq!(claimed.started_at, Some(later));
}

#[tokio::test]
async fn timestamps_come_from_the_injected_clock() {
    let clock = ManualClock::new(start());
    let store = store_at(&clock);
    assert_eq!(store.now().await.unwrap(), start());
    let app = store.create_app(sample_app_spec(1)).await.unwrap();
    assert_eq!((app.created_at, app.updated_at), (start(), start()));

    clock.advance(Duration::from_secs(3600));
    let updated = store
        .update_app(app.id, 1, sample_app_spec(2))
        .await
        .unwrap();
    assert_eq!(updated.created_at, start());
    assert_eq!(updated.updated_at, start() + chrono::Duration::hours(1));

    let id = InstanceId::from("a");
    store
        .register_instance(InstanceInfo {
            id: id.clone(),
            host: "h".into(),
            pid: 1,
            version: "0".into(),
            started_at: start(),
            last_seen: start(),
        })
        .await
        .unwrap();
    clock.advance(Duration::from_secs(15));
    store.heartbeat_instance(&id).await.unwrap();
    let seen = store.list_instances().await.unwrap()[0].last_seen;
    assert_eq!(seen, start() + chrono::Duration::seconds(3615));
}

#[tokio::test]
async fn check_all_runs_every_check() {
    storewatch_core::testkit::store::check_all(|| async { MemoryStore::new() }).await;
    assert!(storewatch_core::testkit::store::CHECKS.len() >= 20);
}
