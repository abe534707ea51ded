//! Several `StoreScheduler`s, each with its own `SqliteStore` pool, on one file: every
//! execution runs once, and one instance whose pool is closed abruptly mid-run is
//! recovered by the others.

#![allow(clippy::unwrap_used)] // test code: a failed step should panic

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use common::TestDb;
use storewatch_core::model::{
    ExecutionFilter, ExecutionStatus, Frequency, ScheduleId, ScheduleSpec, Task,
};
use storewatch_core::schedule::{Scheduler, StoreScheduler, TriggerRequest};
use storewatch_core::store::{ConfigStore, Store};
use storewatch_core::testkit::scheduler::{
    RunBehaviour, RunningLoop, TestRunner, test_config, test_scheduler, wait_for,
};

const INSTANCES: usize = 4;
const SCHEDULES: usize = 40;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schedulers_on_separate_pools_run_each_execution_once_and_recover_a_lost_one() {
    let db = TestDb::new();
    let mut stores = Vec::new();
    for _ in 0..INSTANCES {
        stores.push(db.open().await);
    }
    let mut schedule_ids: Vec<ScheduleId> = Vec::new();
    for i in 0..SCHEDULES {
        let spec = ScheduleSpec::new(
            format!("s{i}"),
            Task::DataCollection,
            Frequency::Daily,
            4,
            0,
            "UTC",
        )
        .unwrap();
        schedule_ids.push(stores[0].create_schedule(spec).await.unwrap().id);
    }
    let runner = Arc::new(TestRunner::always(RunBehaviour::Sleep(
        Duration::from_millis(300),
    )));
    let dyn_stores: Vec<Arc<dyn Store>> = stores
        .iter()
        .map(|s| Arc::new(s.clone()) as Arc<dyn Store>)
        .collect();
    let schedulers: Vec<StoreScheduler> = dyn_stores
        .iter()
        .map(|s| test_scheduler(s, &runner, test_config()))
        .collect();
    for (i, id) in schedule_ids.iter().enumerate() {
        schedulers[i % INSTANCES]
            .trigger(TriggerRequest::Schedule(*id))
            .await
            .unwrap();
    }
    let mut loops: Vec<Option<RunningLoop>> = schedulers
        .iter()
        .map(|s| Some(RunningLoop::start(s)))
        .collect();

    // The first instance dies abruptly while it holds executions.
    wait_for(
        "lost instance",
        "instance 0 to run something",
        Duration::from_secs(20),
        || {
            let busy = !schedulers[0].running_here().is_empty();
            async move { busy }
        },
    )
    .await;
    let lost = schedulers[0].running_here();
    stores[0].close().await;
    loops[0].take().unwrap().handle.abort();

    let watcher = dyn_stores[1].clone();
    wait_for(
        "recovery",
        "every schedule to have one success",
        Duration::from_secs(60),
        || {
            let store = watcher.clone();
            async move {
                let done = store
                    .list_executions(
                        &ExecutionFilter::all().with_statuses([ExecutionStatus::Success]),
                    )
                    .await
                    .unwrap();
                done.len() >= SCHEDULES
            }
        },
    )
    .await;
    for l in loops.into_iter().flatten() {
        l.stop().await.unwrap();
    }

    let all = watcher
        .list_executions(&ExecutionFilter::all())
        .await
        .unwrap();
    let mut successes: BTreeMap<ScheduleId, usize> = BTreeMap::new();
    for e in &all {
        assert!(
            runner.starts_of(e.id) <= 1,
            "execution {} was started {} times",
            e.id,
            runner.starts_of(e.id)
        );
        if e.status == ExecutionStatus::Success {
            *successes.entry(e.schedule_id.unwrap()).or_default() += 1;
        }
    }
    assert_eq!(successes.len(), SCHEDULES, "every schedule ran");
    assert!(
        successes.values().all(|n| *n == 1),
        "a schedule's run succeeded more than once: {successes:?}"
    );
    for id in &lost {
        let e = watcher.get_execution(*id).await.unwrap();
        assert_eq!(e.status, ExecutionStatus::Failed, "{e:?}");
        assert!(e.error_log.contains("instance lost"), "{}", e.error_log);
        let retried = all
            .iter()
            .any(|r| r.retry_of == Some(*id) && r.status == ExecutionStatus::Success);
        assert!(retried, "lost execution {id} was not retried to success");
    }
    assert!(!lost.is_empty());
}
