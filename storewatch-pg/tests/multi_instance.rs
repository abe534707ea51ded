//! Several StoreSchedulers, each with its own pool, on one PostgreSQL database: 200
//! schedules due in the same minute run once each; one instance's pool is closed
//! abruptly mid-run and its executions are recovered by the others.

// Test helpers outside #[test] functions unwrap too.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DurationRound, Timelike};
use common::TestDb;
use storewatch_core::model::{
    ExecutionFilter, ExecutionStatus, Frequency, ScheduleId, ScheduleSpec, Task, Trigger,
};
use storewatch_core::store::{ConfigStore, RunStore, Store};
use storewatch_core::testkit::scheduler::{
    RunBehaviour, RunningLoop, TestRunner, test_config, test_scheduler, wait_for,
};

const SCHEDULES: usize = 200;
const TEST: &str = "multi_instance";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn four_schedulers_run_each_slot_once_and_recover_a_lost_instance() {
    let db = TestDb::new().await;
    let admin = db.store_with(4).await;
    let now = admin.now().await.unwrap();
    let slot = now.duration_trunc(chrono::Duration::minutes(1)).unwrap();
    let mut ids = Vec::new();
    for i in 0..SCHEDULES {
        let mut spec = ScheduleSpec::new(
            format!("collect {i}"),
            Task::DataCollection,
            Frequency::Daily,
            slot.hour() as u8,
            slot.minute() as u8,
            "UTC",
        )
        .unwrap();
        spec.max_retries = 2;
        ids.push(admin.create_schedule(spec).await.unwrap().id);
    }
    // Created an hour ago, so this minute's slot is due now (and within the grace).
    sqlx::query("UPDATE schedules SET created_at = now() - interval '1 hour'")
        .execute(admin.pool())
        .await
        .unwrap();
    let watch: Arc<dyn Store> = Arc::new(admin.clone());

    // The first instance hangs on whatever it claims, then loses its database.
    let victim_pool = db.store_with(4).await;
    let victim_store: Arc<dyn Store> = Arc::new(victim_pool.clone());
    let victim_runner = Arc::new(TestRunner::always(RunBehaviour::Hang));
    let victim = test_scheduler(&victim_store, &victim_runner, test_config());
    let victim_loop = RunningLoop::start(&victim);
    wait_for(
        TEST,
        "the first instance to start runs",
        Duration::from_secs(30),
        || async { !victim_runner.started().is_empty() },
    )
    .await;

    let mut loops = Vec::new();
    let mut runners = Vec::new();
    let mut survivors = Vec::new();
    for _ in 0..3 {
        let store: Arc<dyn Store> = Arc::new(db.store_with(4).await);
        let runner = Arc::new(TestRunner::always(RunBehaviour::Sleep(
            Duration::from_millis(20),
        )));
        let s = test_scheduler(&store, &runner, test_config().with_concurrency(8));
        loops.push(RunningLoop::start(&s));
        runners.push(runner);
        survivors.push(s.instance_id().clone());
    }
    // Abruptly: every connection of the first instance goes away mid-run.
    victim_pool.close().await;
    let lost: HashSet<_> = victim_runner.started().iter().map(|e| e.id).collect();

    let done = |watch: Arc<dyn Store>| async move {
        let ok = watch
            .list_executions(&ExecutionFilter::all().with_statuses([ExecutionStatus::Success]))
            .await
            .unwrap();
        ok.iter()
            .filter_map(|e| e.schedule_id)
            .collect::<HashSet<_>>()
            .len()
            == SCHEDULES
    };
    wait_for(
        TEST,
        "every schedule to succeed once",
        Duration::from_secs(120),
        || done(watch.clone()),
    )
    .await;
    for l in loops {
        l.stop().await.unwrap();
    }
    victim_loop.handle.abort();
    let _ = victim_loop.handle.await;

    let all = admin
        .list_executions(&ExecutionFilter::all())
        .await
        .unwrap();
    let mut per_schedule: BTreeMap<ScheduleId, (usize, usize)> = BTreeMap::new();
    for e in &all {
        let entry = per_schedule.entry(e.schedule_id.unwrap()).or_default();
        if e.trigger == Trigger::Scheduled {
            entry.0 += 1;
        }
        if e.status == ExecutionStatus::Success {
            entry.1 += 1;
        }
    }
    assert_eq!(per_schedule.len(), SCHEDULES);
    for (id, (scheduled, succeeded)) in &per_schedule {
        assert_eq!(*scheduled, 1, "schedule {id}: one execution for its slot");
        assert_eq!(*succeeded, 1, "schedule {id}: exactly one successful run");
    }
    // What the lost instance held was reaped and retried by the others.
    assert!(!lost.is_empty());
    for id in &lost {
        let e = all.iter().find(|e| e.id == *id).unwrap();
        assert_eq!(e.status, ExecutionStatus::Failed, "{e:?}");
        assert!(e.error_log.contains("instance lost"), "{e:?}");
        let retry = all
            .iter()
            .find(|r| r.retry_of == Some(*id) && r.status == ExecutionStatus::Success)
            .unwrap_or_else(|| panic!("execution {id} has a successful retry"));
        assert!(survivors.contains(retry.claimed_by.as_ref().unwrap()));
    }
    // No run was started twice by the surviving instances.
    let mut started = HashSet::new();
    for r in &runners {
        for e in r.started() {
            assert!(started.insert(e.id), "execution {} started twice", e.id);
        }
    }
}
