//! Several pools and several processes on one file: slots inserted once, executions
//! claimed once, leases, reaping and cancellation.

#![allow(clippy::unwrap_used)] // test code: a failed step should panic

mod common;

use std::collections::BTreeSet;
use std::process::Stdio;
use std::time::Duration;

use chrono::NaiveDate;
use common::{TestDb, t0};
use storewatch_core::ErrorKind;
use storewatch_core::clock::ManualClock;
use storewatch_core::model::{
    ExecutionFilter, ExecutionId, ExecutionOutcome, ExecutionStatus, Frequency, InstanceId,
    NewExecution, Schedule, ScheduleSpec, Task,
};
use storewatch_core::store::{ConfigStore, RunStore};
use storewatch_sqlite::SqliteStore;
use tokio::io::{AsyncBufReadExt, BufReader};

const LEASE: Duration = Duration::from_secs(60);

fn target() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 2, 28).unwrap()
}

async fn schedules(store: &SqliteStore, n: usize) -> Vec<Schedule> {
    let mut out = Vec::new();
    for i in 0..n {
        let spec = ScheduleSpec::new(
            format!("schedule {i}"),
            Task::FullAnalysis,
            Frequency::Daily,
            4,
            0,
            "UTC",
        )
        .unwrap();
        out.push(store.create_schedule(spec).await.unwrap());
    }
    out
}

/// Queues `n` pending manual executions runnable now.
async fn queue(store: &SqliteStore, n: usize) -> BTreeSet<ExecutionId> {
    let now = store.now().await.unwrap();
    let mut ids = BTreeSet::new();
    for _ in 0..n {
        let new = NewExecution::manual(Task::DataCollection, target(), now);
        ids.insert(store.insert_execution(new).await.unwrap().unwrap().id);
    }
    ids
}

/// Claims until the queue is empty, finishing each claim; returns what it claimed.
async fn drain(store: SqliteStore, instance: InstanceId) -> Vec<ExecutionId> {
    let mut claimed = Vec::new();
    while let Some(exec) = store.claim_execution(&instance, LEASE).await.unwrap() {
        assert_eq!(exec.status, ExecutionStatus::Running);
        assert_eq!(exec.claimed_by.as_ref(), Some(&instance));
        claimed.push(exec.id);
        store
            .finish_execution(
                exec.id,
                &instance,
                ExecutionOutcome::with_status(ExecutionStatus::Success),
            )
            .await
            .unwrap();
    }
    claimed
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_slot_is_inserted_once_across_pools() {
    let db = TestDb::new();
    let stores = [db.open().await, db.open().await, db.open().await];
    let schedules = schedules(&stores[0], 20).await;
    let slot = t0();
    let mut tasks = Vec::new();
    for store in &stores {
        for schedule in &schedules {
            for _ in 0..2 {
                let store = store.clone();
                let new = NewExecution::scheduled(schedule, slot, target());
                tasks.push(tokio::spawn(
                    async move { store.insert_execution(new).await },
                ));
            }
        }
    }
    let mut won = Vec::new();
    for task in tasks {
        if let Some(exec) = task.await.unwrap().unwrap() {
            won.push(exec);
        }
    }
    assert_eq!(
        won.len(),
        schedules.len(),
        "exactly one insert per slot wins"
    );
    let won_schedules: BTreeSet<_> = won.iter().map(|e| e.schedule_id.unwrap()).collect();
    assert_eq!(won_schedules.len(), schedules.len());
    let stored = stores[1]
        .list_executions(&ExecutionFilter::all())
        .await
        .unwrap();
    assert_eq!(stored.len(), schedules.len());
    // Another slot of the same schedule is a new execution.
    let next = NewExecution::scheduled(&schedules[0], slot + chrono::Days::new(1), target());
    assert!(stores[2].insert_execution(next).await.unwrap().is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_claims_from_several_pools_never_hand_out_an_execution_twice() {
    let db = TestDb::new();
    let first = db.open().await;
    let queued = queue(&first, 200).await;
    let mut tasks = Vec::new();
    for pool in 0..4 {
        let store = db.open().await;
        for worker in 0..3 {
            let instance = InstanceId(format!("pool{pool}-worker{worker}"));
            tasks.push(tokio::spawn(drain(store.clone(), instance)));
        }
    }
    let mut claimed = Vec::new();
    for task in tasks {
        claimed.extend(task.await.unwrap());
    }
    let unique: BTreeSet<_> = claimed.iter().copied().collect();
    assert_eq!(
        unique.len(),
        claimed.len(),
        "an execution was claimed twice"
    );
    assert_eq!(unique, queued);
    let done = first
        .list_executions(&ExecutionFilter::all().with_statuses([ExecutionStatus::Success]))
        .await
        .unwrap();
    assert_eq!(done.len(), 200);
}

/// Env var that turns [`child_claimer`] into a claimer on the named file.
const CHILD_DB: &str = "STOREWATCH_SQLITE_TEST_CHILD_DB";

/// Run by [`claims_from_another_process_never_overlap`] in a child process: opens
/// the file, says READY, waits for GO on stdin, drains the queue and prints each
/// claimed id.
#[tokio::test]
#[ignore = "run as a child process by claims_from_another_process_never_overlap"]
async fn child_claimer() {
    let Ok(path) = std::env::var(CHILD_DB) else {
        return;
    };
    let store = SqliteStore::open(&path, Default::default()).await.unwrap();
    println!("READY");
    let mut line = String::new();
    BufReader::new(tokio::io::stdin())
        .read_line(&mut line)
        .await
        .unwrap();
    assert_eq!(line.trim(), "GO");
    let instance = InstanceId(format!("child-{}", std::process::id()));
    for id in drain(store, instance).await {
        println!("CLAIMED {id}");
    }
    println!("DONE");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claims_from_another_process_never_overlap() {
    use tokio::io::AsyncWriteExt;

    let db = TestDb::new();
    let store = db.open().await;
    let queued = queue(&store, 300).await;

    let mut children = Vec::new();
    for _ in 0..2 {
        let mut child = tokio::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--ignored",
                "--exact",
                "child_claimer",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_DB, &db.path)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        loop {
            let line = lines
                .next_line()
                .await
                .unwrap()
                .expect("child exited early");
            // libtest prints the test name on the same line first.
            if line.ends_with("READY") {
                break;
            }
        }
        children.push((child, lines));
    }
    for (child, _) in &mut children {
        child
            .stdin
            .as_mut()
            .unwrap()
            .write_all(b"GO\n")
            .await
            .unwrap();
    }
    let mine = drain(store.clone(), InstanceId::from("parent")).await;

    let mut claimed = mine.clone();
    let mut by_children = 0;
    for (mut child, mut lines) in children {
        let mut done = false;
        while let Some(line) = lines.next_line().await.unwrap() {
            if let Some((_, id)) = line.split_once("CLAIMED ") {
                claimed.push(ExecutionId(id.parse().unwrap()));
                by_children += 1;
            } else if line.ends_with("DONE") {
                done = true;
            }
        }
        assert!(done, "a child did not finish");
        assert!(child.wait().await.unwrap().success());
    }
    let unique: BTreeSet<_> = claimed.iter().copied().collect();
    assert_eq!(
        unique.len(),
        claimed.len(),
        "an execution was claimed twice"
    );
    assert_eq!(unique, queued, "every execution was claimed");
    // Both sides really competed for the same queue.
    assert!(by_children > 0, "the children claimed nothing");
    let finished = store
        .list_executions(&ExecutionFilter::all().with_statuses([ExecutionStatus::Success]))
        .await
        .unwrap();
    assert_eq!(finished.len(), queued.len());
}

#[tokio::test]
async fn claims_follow_run_after_and_leases_expire_into_failures() {
    let db = TestDb::new();
    let clock = ManualClock::new(t0());
    let store = db.open_with(&clock).await;
    let now = t0();
    let later = NewExecution::manual(
        Task::AlertCheck,
        target(),
        now + chrono::Duration::minutes(5),
    );
    let later = store.insert_execution(later).await.unwrap().unwrap();
    let sooner = NewExecution::manual(Task::AlertCheck, target(), now);
    let sooner = store.insert_execution(sooner).await.unwrap().unwrap();
    let a = InstanceId::from("a");
    let b = InstanceId::from("b");

    let claimed = store.claim_execution(&a, LEASE).await.unwrap().unwrap();
    assert_eq!(claimed.id, sooner.id, "the one runnable now");
    assert_eq!(claimed.started_at, Some(now));
    assert_eq!(
        claimed.lease_until,
        Some(now + chrono::Duration::seconds(60))
    );
    assert!(store.claim_execution(&b, LEASE).await.unwrap().is_none());

    // Only the holder renews.
    let err = store.renew_lease(sooner.id, &b, LEASE).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict);
    clock.advance(Duration::from_secs(50));
    let lease = store.renew_lease(sooner.id, &a, LEASE).await.unwrap();
    assert_eq!(lease.until, now + chrono::Duration::seconds(110));
    assert!(!lease.cancel_requested);

    clock.advance(Duration::from_secs(59));
    assert!(store.reap_expired().await.unwrap().is_empty());
    clock.advance(Duration::from_secs(2));
    let reaped = store.reap_expired().await.unwrap();
    assert_eq!(reaped.len(), 1);
    assert_eq!(reaped[0].id, sooner.id);
    assert_eq!(reaped[0].status, ExecutionStatus::Failed);
    assert!(
        reaped[0].error_log.contains("instance lost"),
        "{}",
        reaped[0].error_log
    );
    assert_eq!(reaped[0].duration, Some(Duration::from_secs(111)));
    // The lost holder can no longer record an outcome.
    let err = store
        .finish_execution(
            sooner.id,
            &a,
            ExecutionOutcome::with_status(ExecutionStatus::Success),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict);

    // The later one becomes runnable at its run_after.
    assert!(store.claim_execution(&b, LEASE).await.unwrap().is_none());
    clock.advance(Duration::from_secs(189));
    let claimed = store.claim_execution(&b, LEASE).await.unwrap().unwrap();
    assert_eq!(claimed.id, later.id);
    assert_eq!(
        store
            .get_execution(ExecutionId(9999))
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::NotFound
    );
}

#[tokio::test]
async fn cancelling_pending_running_and_ended_executions() {
    let db = TestDb::new();
    let clock = ManualClock::new(t0());
    let store = db.open_with(&clock).await;
    let a = InstanceId::from("a");
    let ids: Vec<ExecutionId> = queue(&store, 3).await.into_iter().collect();

    let running = store.claim_execution(&a, LEASE).await.unwrap().unwrap();
    assert_eq!(running.id, ids[0]);
    let asked = store.request_cancel(running.id).await.unwrap();
    assert_eq!(asked.status, ExecutionStatus::Running);
    assert!(asked.cancel_requested);
    assert!(
        store
            .renew_lease(running.id, &a, LEASE)
            .await
            .unwrap()
            .cancel_requested
    );
    let ended = store
        .finish_execution(
            running.id,
            &a,
            ExecutionOutcome::with_status(ExecutionStatus::Cancelled),
        )
        .await
        .unwrap();
    assert_eq!(ended.status, ExecutionStatus::Cancelled);
    assert_eq!(store.request_cancel(running.id).await.unwrap(), ended);

    let pending = store.request_cancel(ids[1]).await.unwrap();
    assert_eq!(pending.status, ExecutionStatus::Cancelled);
    assert_eq!(pending.completed_at, Some(t0()));
    // A cancelled execution is never claimed.
    let next = store.claim_execution(&a, LEASE).await.unwrap().unwrap();
    assert_eq!(next.id, ids[2]);
    assert_eq!(
        store
            .request_cancel(ExecutionId(777))
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::NotFound
    );
}
