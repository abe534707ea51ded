//! RunStore on PostgreSQL across several pools (several "instances"): one execution
//! per slot, no double claim, leases in database time, reaping, cancel, deliveries,
//! alert states and instances.

// Test helpers outside #[test] functions unwrap too.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashSet;
use std::time::Duration;

use chrono::{DateTime, Utc};
use common::{TestDb, day};
use storewatch_core::ErrorKind;
use storewatch_core::model::{
    AlertState, AlertStatus, AppId, ChannelId, DeliveryStatus, ExecutionFilter, ExecutionId,
    ExecutionOutcome, ExecutionStatus, Fingerprint, Frequency, InstanceId, InstanceInfo, Metric,
    NewExecution, RuleId, ScheduleSpec, Severity, Task, Trigger,
};
use storewatch_core::store::{ConfigStore, RunStore};
use storewatch_pg::PostgresStore;

const LEASE: Duration = Duration::from_secs(60);

async fn pools(db: &TestDb, n: usize) -> Vec<PostgresStore> {
    let mut out = Vec::new();
    for _ in 0..n {
        out.push(db.store_with(4).await);
    }
    out
}

fn manual(now: DateTime<Utc>) -> NewExecution {
    NewExecution::manual(Task::AlertCheck, day(2026, 3, 1), now)
}

#[tokio::test]
async fn each_slot_is_inserted_once_across_pools() {
    let db = TestDb::new().await;
    let stores = pools(&db, 4).await;
    let mut schedules = Vec::new();
    for i in 0..25 {
        let spec = ScheduleSpec::new(
            format!("s{i}"),
            Task::DataCollection,
            Frequency::Daily,
            6,
            0,
            "UTC",
        )
        .unwrap();
        schedules.push(stores[0].create_schedule(spec).await.unwrap());
    }
    let slot: DateTime<Utc> = "2026-03-02T06:00:00Z".parse().unwrap();
    let mut tasks = Vec::new();
    // Every instance inserts every schedule's slot, twice.
    for store in &stores {
        for _ in 0..2 {
            let store = store.clone();
            let schedules = schedules.clone();
            tasks.push(tokio::spawn(async move {
                let mut won = Vec::new();
                for s in &schedules {
                    let new = NewExecution::scheduled(s, slot, day(2026, 3, 1));
                    if let Some(e) = store.insert_execution(new).await.unwrap() {
                        won.push(e.id);
                    }
                }
                won
            }));
        }
    }
    let mut inserted = Vec::new();
    for t in tasks {
        inserted.extend(t.await.unwrap());
    }
    assert_eq!(inserted.len(), schedules.len(), "one insert per slot wins");
    let all = stores[1]
        .list_executions(&ExecutionFilter::all())
        .await
        .unwrap();
    assert_eq!(all.len(), schedules.len());
    let per_schedule: HashSet<_> = all.iter().map(|e| e.schedule_id).collect();
    assert_eq!(per_schedule.len(), schedules.len());
    assert!(
        all.iter()
            .all(|e| e.trigger == Trigger::Scheduled && e.slot_at == Some(slot))
    );
    assert!(all.windows(2).all(|w| w[0].id > w[1].id), "newest first");

    // Another slot of the same schedule is a new execution; a skipped one is final.
    let later = slot + chrono::Duration::days(1);
    let skipped = stores[2]
        .insert_execution(NewExecution::scheduled(&schedules[0], later, day(2026, 3, 2)).skipped())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(skipped.status, ExecutionStatus::Skipped);
    assert!(skipped.completed_at.is_some());
    let filtered = stores[3]
        .list_executions(
            &ExecutionFilter::all()
                .with_schedule(schedules[0].id)
                .with_statuses([ExecutionStatus::Pending]),
        )
        .await
        .unwrap();
    assert_eq!(filtered.len(), 1);
    let limited = stores[3]
        .list_executions(&ExecutionFilter::all().with_limit(3))
        .await
        .unwrap();
    assert_eq!(limited.len(), 3);
}

#[tokio::test]
async fn claims_from_four_pools_never_hand_out_one_execution_twice() {
    let db = TestDb::new().await;
    let stores = pools(&db, 4).await;
    let now = stores[0].now().await.unwrap();
    let n = 200;
    for i in 0..n {
        let mut new = manual(now);
        new.app_id = Some(AppId(i));
        stores[0].insert_execution(new).await.unwrap().unwrap();
    }
    // Not yet runnable: never claimed.
    let future = stores[0]
        .insert_execution(manual(now + chrono::Duration::hours(1)))
        .await
        .unwrap()
        .unwrap();

    let mut tasks = Vec::new();
    for (i, store) in stores.iter().enumerate() {
        for w in 0..3 {
            let store = store.clone();
            let me = InstanceId(format!("instance-{i}-{w}"));
            tasks.push(tokio::spawn(async move {
                let mut mine = Vec::new();
                while let Some(e) = store.claim_execution(&me, LEASE).await.unwrap() {
                    assert_eq!(e.status, ExecutionStatus::Running);
                    assert_eq!(e.claimed_by.as_ref(), Some(&me));
                    mine.push(e.id);
                }
                mine
            }));
        }
    }
    let mut claimed = Vec::new();
    for t in tasks {
        claimed.extend(t.await.unwrap());
    }
    let unique: HashSet<ExecutionId> = claimed.iter().copied().collect();
    assert_eq!(
        claimed.len(),
        n as usize,
        "every runnable execution claimed"
    );
    assert_eq!(unique.len(), claimed.len(), "none claimed twice");
    assert!(!unique.contains(&future.id));
    let pending = stores[0]
        .list_executions(&ExecutionFilter::all().with_statuses([ExecutionStatus::Pending]))
        .await
        .unwrap();
    assert_eq!(pending.len(), 1);
}

#[tokio::test]
async fn claims_take_the_oldest_runnable_first() {
    let db = TestDb::new().await;
    let store = db.store().await;
    let now = store.now().await.unwrap();
    let late = store
        .insert_execution(manual(now - chrono::Duration::minutes(1)))
        .await
        .unwrap()
        .unwrap();
    let early = store
        .insert_execution(manual(now - chrono::Duration::minutes(5)))
        .await
        .unwrap()
        .unwrap();
    let me = InstanceId::from("a");
    assert_eq!(
        store.claim_execution(&me, LEASE).await.unwrap().unwrap().id,
        early.id
    );
    assert_eq!(
        store.claim_execution(&me, LEASE).await.unwrap().unwrap().id,
        late.id
    );
    assert!(store.claim_execution(&me, LEASE).await.unwrap().is_none());
}

#[tokio::test]
async fn leases_use_database_time_and_expired_ones_are_reaped_once() {
    let db = TestDb::new().await;
    let stores = pools(&db, 3).await;
    let now = stores[0].now().await.unwrap();
    let e = stores[0]
        .insert_execution(manual(now))
        .await
        .unwrap()
        .unwrap();
    let holder = InstanceId::from("holder");
    let lease = Duration::from_secs(2);
    let claimed = stores[0]
        .claim_execution(&holder, lease)
        .await
        .unwrap()
        .unwrap();
    let until = claimed.lease_until.unwrap();
    let started = claimed.started_at.unwrap();
    // The lease is measured from the database's clock at the claim.
    assert_eq!(until - started, chrono::Duration::seconds(2));
    assert!(started >= now);
    assert!(
        stores[1].reap_expired().await.unwrap().is_empty(),
        "lease still held"
    );

    // Renewal by the holder moves it; by anyone else it is a conflict.
    let renewed = stores[0].renew_lease(e.id, &holder, lease).await.unwrap();
    assert!(renewed.until >= until);
    assert!(!renewed.cancel_requested);
    let err = stores[1]
        .renew_lease(e.id, &InstanceId::from("thief"), lease)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict, "{err}");
    assert!(err.message().contains("holder"), "{err}");

    // Wait until the database says the lease is over.
    while stores[1].now().await.unwrap() <= renewed.until {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (a, b) = tokio::join!(stores[1].reap_expired(), stores[2].reap_expired());
    let reaped: Vec<_> = a.unwrap().into_iter().chain(b.unwrap()).collect();
    assert_eq!(reaped.len(), 1, "reaped by exactly one instance");
    let lost = &reaped[0];
    assert_eq!(lost.id, e.id);
    assert_eq!(lost.status, ExecutionStatus::Failed);
    assert!(
        lost.error_log.contains("instance lost"),
        "{}",
        lost.error_log
    );
    assert!(lost.error_log.contains("holder"), "{}", lost.error_log);
    assert!(lost.completed_at.is_some());

    // The lost holder can neither renew nor finish it any more.
    let err = stores[0]
        .renew_lease(e.id, &holder, lease)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict);
    let err = stores[0]
        .finish_execution(
            e.id,
            &holder,
            ExecutionOutcome::with_status(ExecutionStatus::Success),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict);
    assert_eq!(
        stores[0]
            .renew_lease(ExecutionId(9999), &holder, lease)
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::NotFound
    );
}

#[tokio::test]
async fn finish_and_cancel() {
    let db = TestDb::new().await;
    let store = db.store().await;
    let now = store.now().await.unwrap();
    let me = InstanceId::from("me");

    let a = store.insert_execution(manual(now)).await.unwrap().unwrap();
    store.claim_execution(&me, LEASE).await.unwrap().unwrap();
    let mut outcome = ExecutionOutcome::with_status(ExecutionStatus::Success);
    outcome.success_count = 12;
    outcome.notifications_sent = 2;
    outcome.output_log = "collected 12 apps\n".into();
    let err = store
        .finish_execution(a.id, &InstanceId::from("other"), outcome.clone())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict);
    let done = store
        .finish_execution(a.id, &me, outcome.clone())
        .await
        .unwrap();
    assert_eq!(done.status, ExecutionStatus::Success);
    assert_eq!(done.success_count, 12);
    assert_eq!(done.notifications_sent, 2);
    assert_eq!(done.output_log, "collected 12 apps\n");
    assert!(done.duration.is_some());
    let err = store
        .finish_execution(a.id, &me, outcome)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict, "already ended");
    // Ended executions are returned unchanged by a cancel.
    assert_eq!(store.request_cancel(a.id).await.unwrap(), done);

    // A pending execution is cancelled at once, and never claimed.
    let b = store.insert_execution(manual(now)).await.unwrap().unwrap();
    let cancelled = store.request_cancel(b.id).await.unwrap();
    assert_eq!(cancelled.status, ExecutionStatus::Cancelled);
    assert!(store.claim_execution(&me, LEASE).await.unwrap().is_none());

    // A running one is asked to stop; the holder learns it at its next renewal.
    let c = store.insert_execution(manual(now)).await.unwrap().unwrap();
    store.claim_execution(&me, LEASE).await.unwrap().unwrap();
    let asked = store.request_cancel(c.id).await.unwrap();
    assert_eq!(asked.status, ExecutionStatus::Running);
    assert!(asked.cancel_requested);
    assert!(
        store
            .renew_lease(c.id, &me, LEASE)
            .await
            .unwrap()
            .cancel_requested
    );
    let ended = store
        .finish_execution(
            c.id,
            &me,
            ExecutionOutcome::with_status(ExecutionStatus::Cancelled),
        )
        .await
        .unwrap();
    assert_eq!(ended.status, ExecutionStatus::Cancelled);
    assert_eq!(
        store
            .request_cancel(ExecutionId(9999))
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::NotFound
    );
}

#[tokio::test]
async fn deliveries_are_keyed_by_chain_and_never_resent() {
    let db = TestDb::new().await;
    let store = db.store().await;
    let now = store.now().await.unwrap();
    let me = InstanceId::from("me");
    let first = store
        .insert_execution(manual(now).with_max_retries(2))
        .await
        .unwrap()
        .unwrap();
    store.claim_execution(&me, LEASE).await.unwrap().unwrap();
    let failed = store
        .finish_execution(
            first.id,
            &me,
            ExecutionOutcome::with_status(ExecutionStatus::Failed),
        )
        .await
        .unwrap();
    let sent = store
        .start_delivery(first.id, ChannelId(1), "report:1:2026-03-01")
        .await
        .unwrap();
    assert_eq!((sent.status, sent.attempts), (DeliveryStatus::Pending, 1));
    store
        .finish_delivery(sent.id, DeliveryStatus::Sent, None)
        .await
        .unwrap();
    let lost = store
        .start_delivery(first.id, ChannelId(2), "report:1:2026-03-01")
        .await
        .unwrap();
    store
        .finish_delivery(lost.id, DeliveryStatus::Failed, Some("HTTP 500".into()))
        .await
        .unwrap();

    let retry = store
        .insert_execution(NewExecution::retry(&failed, now))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(retry.retry_of, Some(first.id));
    assert_eq!(retry.attempt, 2);
    // The retry sees the chain's deliveries: the sent one stays sent, the failed one
    // goes back to pending with one more attempt.
    let again = store
        .start_delivery(retry.id, ChannelId(1), "report:1:2026-03-01")
        .await
        .unwrap();
    assert_eq!(
        (again.id, again.status, again.attempts),
        (sent.id, DeliveryStatus::Sent, 1)
    );
    let again = store
        .start_delivery(retry.id, ChannelId(2), "report:1:2026-03-01")
        .await
        .unwrap();
    assert_eq!(
        (again.id, again.status, again.attempts),
        (lost.id, DeliveryStatus::Pending, 2)
    );
    assert_eq!(again.error, None);
    let listed = store.list_deliveries(retry.id).await.unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(listed, store.list_deliveries(first.id).await.unwrap());
    assert_eq!(
        store
            .finish_delivery(
                storewatch_core::model::DeliveryId(999),
                DeliveryStatus::Sent,
                None
            )
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::NotFound
    );
}

#[tokio::test]
async fn alert_states_round_trip_by_fingerprint() {
    let db = TestDb::new().await;
    let store = db.store().await;
    let now = store.now().await.unwrap();
    let f = Fingerprint {
        rule_id: RuleId(3),
        app_id: AppId(4),
        metric: Metric::PROCEEDS,
        segment: "currency:EUR".into(),
    };
    let mut s = AlertState {
        fingerprint: f.clone(),
        status: AlertStatus::Pending,
        breach_days: 1,
        last_day: Some(day(2026, 3, 1)),
        since: now,
        last_notified: None,
        last_severity: None,
    };
    store.save_alert_states(&[s.clone()]).await.unwrap();
    s.status = AlertStatus::Firing;
    s.breach_days = 2;
    s.last_notified = Some(now);
    s.last_severity = Some(Severity::Critical);
    store.save_alert_states(&[s.clone()]).await.unwrap();
    let states = store.alert_states().await.unwrap();
    assert_eq!(states.len(), 1);
    assert_eq!(states[&f], s);
}

#[tokio::test]
async fn instances_register_heartbeat_in_database_time_and_leave() {
    let db = TestDb::new().await;
    let store = db.store().await;
    let t0: DateTime<Utc> = "2026-03-01T00:00:00Z".parse().unwrap();
    let info = InstanceInfo {
        id: InstanceId::from("i-1"),
        host: "host-a".into(),
        pid: 4242,
        version: "0.1.0".into(),
        started_at: t0,
        last_seen: t0,
    };
    store.register_instance(info.clone()).await.unwrap();
    assert_eq!(store.list_instances().await.unwrap(), vec![info.clone()]);
    store.heartbeat_instance(&info.id).await.unwrap();
    let seen = store.list_instances().await.unwrap()[0].last_seen;
    assert!(seen > t0);
    assert!(seen <= store.now().await.unwrap());
    let err = store
        .heartbeat_instance(&InstanceId::from("ghost"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    store.deregister_instance(&info.id).await.unwrap();
    assert!(store.list_instances().await.unwrap().is_empty());
}
