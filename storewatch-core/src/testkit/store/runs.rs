//! Checks of the execution half of [`RunStore`](crate::store::RunStore): slots,
//! claiming, leases, finishing, reaping and cancelling.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::{fails, march, ok, whole_seconds};
use crate::ErrorKind;
use crate::model::{
    Execution, ExecutionFilter, ExecutionId, ExecutionOutcome, ExecutionStatus, InstanceId,
    NewExecution, Task, Trigger,
};
use crate::store::Store;
use crate::testkit::{sample_app_spec, sample_schedule_spec};

/// The lease the checks claim with, unless they test expiry.
const LEASE: Duration = Duration::from_secs(60);

/// The store's time, at whole seconds.
async fn store_now<S: Store>(check: &str, store: &S) -> DateTime<Utc> {
    whole_seconds(ok(check, "now", store.now().await))
}

/// `t` moved by `secs` seconds.
fn at(t: DateTime<Utc>, secs: i64) -> DateTime<Utc> {
    t + chrono::Duration::seconds(secs)
}

/// A pending manual data collection runnable from `run_after`.
fn manual(run_after: DateTime<Utc>) -> NewExecution {
    NewExecution::manual(Task::DataCollection, march(1), run_after)
}

/// Inserts an execution that has no slot, so it must be inserted.
async fn insert<S: Store>(check: &str, store: &S, new: NewExecution) -> Execution {
    ok(check, "insert_execution", store.insert_execution(new).await)
        .unwrap_or_else(|| panic!("{check}: insert_execution of a new execution gave None"))
}

/// Claims, expecting an execution.
async fn claim<S: Store>(
    check: &str,
    store: &S,
    instance: &InstanceId,
    lease: Duration,
) -> Execution {
    ok(
        check,
        "claim_execution",
        store.claim_execution(instance, lease).await,
    )
    .unwrap_or_else(|| panic!("{check}: claim_execution found nothing to claim"))
}

/// Claims, expecting nothing claimable.
async fn claim_nothing<S: Store>(check: &str, store: &S, why: &str) {
    let claimed = ok(
        check,
        "claim_execution",
        store.claim_execution(&"nobody".into(), LEASE).await,
    );
    if let Some(e) = claimed {
        panic!(
            "{check}: claimed execution {} ({}) although {why}",
            e.id, e.status
        );
    }
}

/// A (schedule, slot) pair is inserted once: a second insert of it returns `None`,
/// however many race for it; other slots, other schedules and executions without a
/// slot are all inserted.
pub async fn slot_is_inserted_once<S: Store + 'static>(store: S) {
    const CHECK: &str = "slot_is_inserted_once";
    let schedule = ok(
        CHECK,
        "create_schedule",
        store.create_schedule(sample_schedule_spec(1)).await,
    );
    let other = ok(
        CHECK,
        "create_schedule",
        store.create_schedule(sample_schedule_spec(2)).await,
    );
    let now = store_now(CHECK, &store).await;
    let slot = at(now, -3600);
    let first = ok(
        CHECK,
        "insert_execution of a slot",
        store
            .insert_execution(NewExecution::scheduled(&schedule, slot, march(1)))
            .await,
    );
    ensure!(
        CHECK,
        first.is_some(),
        "the first insert of a slot gave None"
    );
    let second = ok(
        CHECK,
        "insert_execution of the same slot again",
        store
            .insert_execution(NewExecution::scheduled(&schedule, slot, march(1)))
            .await,
    );
    if let Some(e) = second {
        panic!(
            "{CHECK}: the same (schedule, slot) was inserted twice, as executions {:?} and {}",
            first.map(|f| f.id),
            e.id
        );
    }
    insert(
        CHECK,
        &store,
        NewExecution::scheduled(&schedule, at(slot, 86_400), march(2)),
    )
    .await;
    insert(
        CHECK,
        &store,
        NewExecution::scheduled(&other, slot, march(1)),
    )
    .await;
    let m1 = insert(CHECK, &store, manual(now)).await;
    let m2 = insert(CHECK, &store, manual(now)).await;
    ensure!(
        CHECK,
        m1.id != m2.id,
        "two manual executions share id {}",
        m1.id
    );

    // Eight schedulers fire the same slot at once: exactly one insert wins.
    let store = Arc::new(store);
    let race_slot = at(slot, 2 * 86_400);
    let racers: Vec<_> = (0..8)
        .map(|_| {
            let store = Arc::clone(&store);
            let new = NewExecution::scheduled(&schedule, race_slot, march(3));
            tokio::spawn(async move { store.insert_execution(new).await })
        })
        .collect();
    let mut inserted = 0;
    for racer in racers {
        match racer.await {
            Ok(Ok(Some(_))) => inserted += 1,
            Ok(Ok(None)) => {}
            Ok(Err(e)) => panic!("{CHECK}: a racing insert of one slot failed: {e}"),
            Err(e) => panic!("{CHECK}: a racing insert panicked: {e}"),
        }
    }
    ensure_eq!(
        CHECK,
        inserted,
        1,
        "racing inserts of one slot that returned an execution"
    );
    let of_schedule = ok(
        CHECK,
        "list_executions of the schedule",
        store
            .list_executions(&ExecutionFilter::all().with_schedule(schedule.id))
            .await,
    );
    ensure_eq!(
        CHECK,
        of_schedule.len(),
        3,
        "executions stored for the schedule's three slots"
    );
}

/// A missed slot recorded as `Skipped` is stored, is never claimed, is not cancelled,
/// and still takes its slot.
pub async fn skipped_slot_is_never_claimed<S: Store + 'static>(store: S) {
    const CHECK: &str = "skipped_slot_is_never_claimed";
    let schedule = ok(
        CHECK,
        "create_schedule",
        store.create_schedule(sample_schedule_spec(1)).await,
    );
    let slot = at(store_now(CHECK, &store).await, -7200);
    let skipped = insert(
        CHECK,
        &store,
        NewExecution::scheduled(&schedule, slot, march(1)).skipped(),
    )
    .await;
    ensure_eq!(
        CHECK,
        skipped.status,
        ExecutionStatus::Skipped,
        "status of a skipped slot"
    );
    claim_nothing(CHECK, &store, "the only execution is a skipped slot").await;
    let after = ok(
        CHECK,
        "request_cancel",
        store.request_cancel(skipped.id).await,
    );
    ensure_eq!(
        CHECK,
        after.status,
        ExecutionStatus::Skipped,
        "a skipped slot after a cancel request"
    );
    let again = ok(
        CHECK,
        "insert_execution of the skipped slot as pending",
        store
            .insert_execution(NewExecution::scheduled(&schedule, slot, march(1)))
            .await,
    );
    ensure!(
        CHECK,
        again.is_none(),
        "a skipped slot was inserted again as pending"
    );
}

/// An inserted execution is stored field for field (pending, unclaimed, nothing
/// counted), retries keep the chain's first id; `list_executions` is newest first and
/// honours statuses, schedule and limit.
pub async fn executions_round_trip_newest_first<S: Store + 'static>(store: S) {
    const CHECK: &str = "executions_round_trip_newest_first";
    let app = ok(
        CHECK,
        "create_app",
        store.create_app(sample_app_spec(1)).await,
    );
    let schedule = ok(
        CHECK,
        "create_schedule",
        store.create_schedule(sample_schedule_spec(1)).await,
    );
    let now = store_now(CHECK, &store).await;

    let new = manual(at(now, -600))
        .with_app(Some(app.id))
        .with_max_retries(2)
        .with_skip_notifications(true);
    let first = insert(CHECK, &store, new.clone()).await;
    let expected = Execution {
        id: first.id,
        schedule_id: None,
        trigger: Trigger::Manual,
        status: ExecutionStatus::Pending,
        task: Task::DataCollection,
        app_id: Some(app.id),
        target_date: march(1),
        slot_at: None,
        run_after: new.run_after,
        retry_of: None,
        attempt: 1,
        max_retries: 2,
        timeout: new.timeout,
        skip_notifications: true,
        claimed_by: None,
        lease_until: None,
        cancel_requested: false,
        created_at: first.created_at,
        started_at: None,
        completed_at: None,
        duration: None,
        success_count: 0,
        error_count: 0,
        alerts_generated: 0,
        notifications_sent: 0,
        output_log: String::new(),
        error_log: String::new(),
    };
    ensure_eq!(
        CHECK,
        first,
        expected,
        "the execution insert_execution returned"
    );
    ensure_eq!(
        CHECK,
        ok(CHECK, "get_execution", store.get_execution(first.id).await),
        first,
        "get_execution returns what insert_execution returned"
    );

    let slot = at(now, -1200);
    let scheduled = insert(
        CHECK,
        &store,
        NewExecution::scheduled(&schedule, slot, march(2)),
    )
    .await;
    ensure!(
        CHECK,
        scheduled.schedule_id == Some(schedule.id)
            && scheduled.slot_at == Some(slot)
            && scheduled.trigger == Trigger::Scheduled
            && scheduled.timeout == schedule.timeout
            && scheduled.max_retries == schedule.max_retries,
        "a scheduled execution lost its schedule, slot, trigger or policy: {scheduled:?}"
    );
    let retry = insert(CHECK, &store, NewExecution::retry(&first, at(now, 60))).await;
    let retry2 = insert(CHECK, &store, NewExecution::retry(&retry, at(now, 120))).await;
    for (e, attempt) in [(&retry, 2), (&retry2, 3)] {
        ensure!(
            CHECK,
            e.retry_of == Some(first.id) && e.attempt == attempt && e.trigger == Trigger::Retry,
            "a retry should keep the chain's first id {} and count attempt {attempt}: {e:?}",
            first.id
        );
    }

    let ids = |list: Vec<Execution>| list.into_iter().map(|e| e.id).collect::<Vec<_>>();
    let all = ok(
        CHECK,
        "list_executions",
        store.list_executions(&ExecutionFilter::all()).await,
    );
    ensure_eq!(
        CHECK,
        ids(all),
        vec![retry2.id, retry.id, scheduled.id, first.id],
        "every execution, newest first"
    );
    let limited = ok(
        CHECK,
        "list_executions with a limit",
        store
            .list_executions(&ExecutionFilter::all().with_limit(2))
            .await,
    );
    ensure_eq!(
        CHECK,
        ids(limited),
        vec![retry2.id, retry.id],
        "the two newest executions"
    );
    let of_schedule = ok(
        CHECK,
        "list_executions of a schedule",
        store
            .list_executions(&ExecutionFilter::all().with_schedule(schedule.id))
            .await,
    );
    ensure_eq!(
        CHECK,
        ids(of_schedule),
        vec![scheduled.id],
        "the schedule's executions"
    );

    // The slot 20 minutes ago is the oldest due execution.
    let running = claim(CHECK, &store, &"runner".into(), LEASE).await;
    ensure_eq!(CHECK, running.id, scheduled.id, "the claimed execution");
    let by_status = ok(
        CHECK,
        "list_executions by status",
        store
            .list_executions(&ExecutionFilter::all().with_statuses([ExecutionStatus::Running]))
            .await,
    );
    ensure_eq!(
        CHECK,
        ids(by_status),
        vec![scheduled.id],
        "the running executions"
    );
    let pending = ok(
        CHECK,
        "list_executions by status",
        store
            .list_executions(&ExecutionFilter::all().with_statuses([ExecutionStatus::Pending]))
            .await,
    );
    ensure_eq!(
        CHECK,
        ids(pending),
        vec![retry2.id, retry.id, first.id],
        "the pending executions"
    );
}

/// A claim takes the pending execution with the oldest `run_after` that has come, makes
/// it `Running`, held by the claimer until `now + lease`, with `started_at` set; one
/// whose `run_after` is in the future is left alone.
pub async fn claim_takes_oldest_due_first<S: Store + 'static>(store: S) {
    const CHECK: &str = "claim_takes_oldest_due_first";
    let now = store_now(CHECK, &store).await;
    let oldest = insert(CHECK, &store, manual(at(now, -180))).await;
    let newest = insert(CHECK, &store, manual(at(now, -60))).await;
    let middle = insert(CHECK, &store, manual(at(now, -120))).await;
    let future = insert(CHECK, &store, manual(at(now, 3600))).await;
    let instance = InstanceId::from("claimer-1");
    let mut order = Vec::new();
    for _ in 0..3 {
        let e = claim(CHECK, &store, &instance, LEASE).await;
        ensure_eq!(
            CHECK,
            e.status,
            ExecutionStatus::Running,
            "status of a claimed execution"
        );
        ensure_eq!(
            CHECK,
            e.claimed_by,
            Some(instance.clone()),
            "holder of a claimed execution"
        );
        let started = e
            .started_at
            .unwrap_or_else(|| panic!("{CHECK}: claimed execution {} has no started_at", e.id));
        let until = e
            .lease_until
            .unwrap_or_else(|| panic!("{CHECK}: claimed execution {} has no lease", e.id));
        let lease = until - started;
        ensure!(
            CHECK,
            (lease - chrono::Duration::seconds(60))
                .num_milliseconds()
                .abs()
                <= 1000,
            "a 60 s lease claimed at {started} ends at {until}"
        );
        ensure_eq!(
            CHECK,
            ok(CHECK, "get_execution", store.get_execution(e.id).await),
            e,
            "get_execution returns what claim_execution returned"
        );
        order.push(e.id);
    }
    ensure_eq!(
        CHECK,
        order,
        vec![oldest.id, middle.id, newest.id],
        "claim order (oldest run_after first)"
    );
    claim_nothing(
        CHECK,
        &store,
        "the only pending execution's run_after is an hour away",
    )
    .await;
    let future = ok(CHECK, "get_execution", store.get_execution(future.id).await);
    ensure_eq!(
        CHECK,
        future.status,
        ExecutionStatus::Pending,
        "status of a future execution"
    );
}

/// Claiming by id takes that execution even when older ones are due, and leaves the
/// others pending; an execution that is running, ended or not yet due is not claimed
/// again, and an unknown id is `NotFound`.
pub async fn claim_by_id_takes_only_that_execution<S: Store + 'static>(store: S) {
    const CHECK: &str = "claim_by_id_takes_only_that_execution";
    let now = store_now(CHECK, &store).await;
    let older = insert(CHECK, &store, manual(at(now, -120))).await;
    let mine = insert(CHECK, &store, manual(at(now, -60))).await;
    let future = insert(CHECK, &store, manual(at(now, 3600))).await;
    let instance = InstanceId::from("cli-run");
    let claimed = ok(
        CHECK,
        "claim_execution_id",
        store.claim_execution_id(mine.id, &instance, LEASE).await,
    )
    .unwrap_or_else(|| {
        panic!(
            "{CHECK}: the pending, due execution {} was not claimed",
            mine.id
        )
    });
    ensure_eq!(CHECK, claimed.id, mine.id, "the execution claimed by id");
    ensure_eq!(
        CHECK,
        claimed.status,
        ExecutionStatus::Running,
        "its status"
    );
    ensure_eq!(
        CHECK,
        claimed.claimed_by,
        Some(instance.clone()),
        "its holder"
    );
    let again = ok(
        CHECK,
        "claim_execution_id",
        store
            .claim_execution_id(mine.id, &"other".into(), LEASE)
            .await,
    );
    ensure!(
        CHECK,
        again.is_none(),
        "a running execution was claimed again: {again:?}"
    );
    let not_due = ok(
        CHECK,
        "claim_execution_id",
        store.claim_execution_id(future.id, &instance, LEASE).await,
    );
    ensure!(
        CHECK,
        not_due.is_none(),
        "an execution an hour away was claimed: {not_due:?}"
    );
    let older = ok(CHECK, "get_execution", store.get_execution(older.id).await);
    ensure_eq!(
        CHECK,
        older.status,
        ExecutionStatus::Pending,
        "the older execution's status"
    );
    let missing = store
        .claim_execution_id(ExecutionId(i64::MAX - 7), &instance, LEASE)
        .await;
    ensure!(
        CHECK,
        matches!(&missing, Err(e) if e.kind() == crate::ErrorKind::NotFound),
        "claiming an unknown id gave {missing:?}, expected NotFound"
    );
}

/// Eight instances claiming at once from 24 pending executions get each of them
/// exactly once, and each execution is held by the instance that got it.
pub async fn claim_hands_each_execution_to_one_claimer<S: Store + 'static>(store: S) {
    const CHECK: &str = "claim_hands_each_execution_to_one_claimer";
    let now = store_now(CHECK, &store).await;
    let mut inserted = BTreeSet::new();
    for i in 0..24 {
        inserted.insert(insert(CHECK, &store, manual(at(now, -60 - i))).await.id);
    }
    let store = Arc::new(store);
    let claimers: Vec<_> = (0..8)
        .map(|i| {
            let store = Arc::clone(&store);
            let instance = InstanceId(format!("claimer-{i}"));
            tokio::spawn(async move {
                let mut got = Vec::new();
                loop {
                    match store.claim_execution(&instance, LEASE).await {
                        Ok(Some(e)) => got.push((e.id, instance.clone())),
                        Ok(None) => return Ok(got),
                        Err(e) => return Err(e),
                    }
                }
            })
        })
        .collect();
    let mut holders: BTreeMap<ExecutionId, InstanceId> = BTreeMap::new();
    for claimer in claimers {
        let got = match claimer.await {
            Ok(Ok(got)) => got,
            Ok(Err(e)) => panic!("{CHECK}: a concurrent claim failed: {e}"),
            Err(e) => panic!("{CHECK}: a claimer panicked: {e}"),
        };
        for (id, instance) in got {
            if let Some(earlier) = holders.insert(id, instance.clone()) {
                panic!("{CHECK}: execution {id} was handed to both {earlier} and {instance}");
            }
        }
    }
    let claimed: BTreeSet<ExecutionId> = holders.keys().copied().collect();
    ensure_eq!(CHECK, claimed, inserted, "the executions claimed");
    for (id, instance) in holders {
        let e = ok(CHECK, "get_execution", store.get_execution(id).await);
        ensure!(
            CHECK,
            e.status == ExecutionStatus::Running && e.claimed_by.as_ref() == Some(&instance),
            "execution {id} was handed to {instance} but is {} held by {:?}",
            e.status,
            e.claimed_by
        );
    }
    claim_nothing(CHECK, &*store, "every execution was claimed").await;
}

/// Only the holder renews a running execution's lease (`Conflict` for another
/// instance, for a pending and for an ended execution); a renewal moves `lease_until`
/// to `now + lease`.
pub async fn lease_renewed_only_by_holder<S: Store + 'static>(store: S) {
    const CHECK: &str = "lease_renewed_only_by_holder";
    let now = store_now(CHECK, &store).await;
    insert(CHECK, &store, manual(at(now, -60))).await;
    let (holder, other) = (InstanceId::from("holder"), InstanceId::from("other"));
    let e = claim(CHECK, &store, &holder, LEASE).await;
    fails(
        CHECK,
        "renew_lease by another instance",
        store.renew_lease(e.id, &other, LEASE).await,
        ErrorKind::Conflict,
    );
    let lease = ok(
        CHECK,
        "renew_lease by the holder",
        store
            .renew_lease(e.id, &holder, Duration::from_secs(600))
            .await,
    );
    ensure!(
        CHECK,
        Some(lease.until) > e.lease_until,
        "renewing for 600 s did not extend a 60 s lease ending at {:?}: now until {}",
        e.lease_until,
        lease.until
    );
    ensure!(
        CHECK,
        !lease.cancel_requested,
        "a renewal reports a cancel nobody asked for"
    );
    let stored = ok(CHECK, "get_execution", store.get_execution(e.id).await);
    ensure_eq!(
        CHECK,
        stored.lease_until,
        Some(lease.until),
        "lease_until after a renewal"
    );
    ensure_eq!(
        CHECK,
        stored.claimed_by,
        Some(holder.clone()),
        "holder after a renewal"
    );

    let pending = insert(CHECK, &store, manual(at(now, 3600))).await;
    fails(
        CHECK,
        "renew_lease of a pending execution",
        store.renew_lease(pending.id, &holder, LEASE).await,
        ErrorKind::Conflict,
    );
    ok(
        CHECK,
        "finish_execution",
        store
            .finish_execution(
                e.id,
                &holder,
                ExecutionOutcome::with_status(ExecutionStatus::Success),
            )
            .await,
    );
    fails(
        CHECK,
        "renew_lease of an ended execution",
        store.renew_lease(e.id, &holder, LEASE).await,
        ErrorKind::Conflict,
    );
}

/// Only the holder finishes a running execution (`Conflict` for another instance, for
/// a pending and for an already ended one); finishing records the status, counts, logs,
/// `completed_at` and `duration`.
pub async fn finish_only_by_holder<S: Store + 'static>(store: S) {
    const CHECK: &str = "finish_only_by_holder";
    let now = store_now(CHECK, &store).await;
    insert(CHECK, &store, manual(at(now, -60))).await;
    let (holder, other) = (InstanceId::from("holder"), InstanceId::from("other"));
    let e = claim(CHECK, &store, &holder, LEASE).await;
    let mut outcome = ExecutionOutcome::with_status(ExecutionStatus::Failed);
    outcome.success_count = 3;
    outcome.error_count = 1;
    outcome.alerts_generated = 2;
    outcome.notifications_sent = 4;
    outcome.output_log = "collected 3 apps\n".to_owned();
    outcome.error_log = "app 7: provider timed out\n".to_owned();

    fails(
        CHECK,
        "finish_execution by another instance",
        store.finish_execution(e.id, &other, outcome.clone()).await,
        ErrorKind::Conflict,
    );
    let still = ok(CHECK, "get_execution", store.get_execution(e.id).await);
    ensure_eq!(
        CHECK,
        still.status,
        ExecutionStatus::Running,
        "status after a refused finish"
    );

    let done = ok(
        CHECK,
        "finish_execution by the holder",
        store.finish_execution(e.id, &holder, outcome.clone()).await,
    );
    ensure!(
        CHECK,
        done.status == ExecutionStatus::Failed
            && done.success_count == 3
            && done.error_count == 1
            && done.alerts_generated == 2
            && done.notifications_sent == 4
            && done.output_log == outcome.output_log
            && done.error_log == outcome.error_log,
        "the finished execution does not hold the outcome {outcome:?}: {done:?}"
    );
    let (Some(started), Some(completed)) = (done.started_at, done.completed_at) else {
        panic!("{CHECK}: a finished execution lacks started_at or completed_at: {done:?}");
    };
    ensure!(
        CHECK,
        completed >= started,
        "completed_at {completed} is before started_at {started}"
    );
    ensure!(
        CHECK,
        done.duration.is_some(),
        "a finished execution has no duration"
    );
    ensure_eq!(
        CHECK,
        ok(CHECK, "get_execution", store.get_execution(e.id).await),
        done,
        "get_execution returns what finish_execution returned"
    );
    fails(
        CHECK,
        "finish_execution twice",
        store
            .finish_execution(
                e.id,
                &holder,
                ExecutionOutcome::with_status(ExecutionStatus::Success),
            )
            .await,
        ErrorKind::Conflict,
    );
    let pending = insert(CHECK, &store, manual(at(now, 3600))).await;
    fails(
        CHECK,
        "finish_execution of a pending execution",
        store
            .finish_execution(
                pending.id,
                &holder,
                ExecutionOutcome::with_status(ExecutionStatus::Success),
            )
            .await,
        ErrorKind::Conflict,
    );
}

/// A running execution whose lease ran out is reaped: `Failed` with "instance lost" in
/// its error log and `completed_at` set, returned once; a live lease is left alone;
/// the lost holder can no longer renew or finish.
pub async fn expired_lease_is_reaped<S: Store + 'static>(store: S) {
    const CHECK: &str = "expired_lease_is_reaped";
    let now = store_now(CHECK, &store).await;
    let (lost, alive) = (InstanceId::from("lost"), InstanceId::from("alive"));
    insert(CHECK, &store, manual(at(now, -60))).await;
    let short = claim(CHECK, &store, &lost, Duration::from_secs(1)).await;
    insert(CHECK, &store, manual(at(now, -60))).await;
    let long = claim(CHECK, &store, &alive, Duration::from_secs(600)).await;

    // Real time: the store's clock may be a database's.
    tokio::time::sleep(Duration::from_millis(1600)).await;
    let reaped = ok(CHECK, "reap_expired", store.reap_expired().await);
    let ids: Vec<ExecutionId> = reaped.iter().map(|e| e.id).collect();
    ensure_eq!(
        CHECK,
        ids,
        vec![short.id],
        "executions reaped after the 1 s lease ran out"
    );
    let e = &reaped[0];
    ensure!(
        CHECK,
        e.status == ExecutionStatus::Failed
            && e.error_log.contains("instance lost")
            && e.completed_at.is_some(),
        "a reaped execution should be failed, \"instance lost\", completed: {e:?}"
    );
    ensure_eq!(
        CHECK,
        ok(CHECK, "get_execution", store.get_execution(short.id).await),
        e.clone(),
        "get_execution returns what reap_expired returned"
    );
    let long = ok(CHECK, "get_execution", store.get_execution(long.id).await);
    ensure_eq!(
        CHECK,
        long.status,
        ExecutionStatus::Running,
        "status of an execution with a live lease"
    );
    ensure!(
        CHECK,
        ok(CHECK, "reap_expired again", store.reap_expired().await).is_empty(),
        "an execution was reaped twice"
    );
    fails(
        CHECK,
        "renew_lease by the lost holder",
        store.renew_lease(short.id, &lost, LEASE).await,
        ErrorKind::Conflict,
    );
    fails(
        CHECK,
        "finish_execution by the lost holder",
        store
            .finish_execution(
                short.id,
                &lost,
                ExecutionOutcome::with_status(ExecutionStatus::Success),
            )
            .await,
        ErrorKind::Conflict,
    );
}

/// A cancel request ends a pending execution at once (`Cancelled`, never claimed),
/// flags a running one (`cancel_requested`, reported by the next renewal) and leaves an
/// ended one unchanged.
pub async fn cancel_pending_and_running<S: Store + 'static>(store: S) {
    const CHECK: &str = "cancel_pending_and_running";
    let now = store_now(CHECK, &store).await;
    let pending = insert(CHECK, &store, manual(at(now, -60))).await;
    let cancelled = ok(
        CHECK,
        "request_cancel of a pending execution",
        store.request_cancel(pending.id).await,
    );
    ensure_eq!(
        CHECK,
        cancelled.status,
        ExecutionStatus::Cancelled,
        "a pending execution after a cancel request"
    );
    claim_nothing(CHECK, &store, "the only execution was cancelled").await;

    let holder = InstanceId::from("holder");
    insert(CHECK, &store, manual(at(now, -60))).await;
    let running = claim(CHECK, &store, &holder, LEASE).await;
    let flagged = ok(
        CHECK,
        "request_cancel of a running execution",
        store.request_cancel(running.id).await,
    );
    ensure!(
        CHECK,
        flagged.status == ExecutionStatus::Running && flagged.cancel_requested,
        "a running execution after a cancel request should still run, asked to stop: {flagged:?}"
    );
    let lease = ok(
        CHECK,
        "renew_lease",
        store.renew_lease(running.id, &holder, LEASE).await,
    );
    ensure!(
        CHECK,
        lease.cancel_requested,
        "the renewal after a cancel request does not report it"
    );
    let ended = ok(
        CHECK,
        "finish_execution as cancelled",
        store
            .finish_execution(
                running.id,
                &holder,
                ExecutionOutcome::with_status(ExecutionStatus::Cancelled),
            )
            .await,
    );
    ensure_eq!(
        CHECK,
        ended.status,
        ExecutionStatus::Cancelled,
        "status of a stopped execution"
    );

    insert(CHECK, &store, manual(at(now, -60))).await;
    let succeeded = claim(CHECK, &store, &holder, LEASE).await;
    let succeeded = ok(
        CHECK,
        "finish_execution",
        store
            .finish_execution(
                succeeded.id,
                &holder,
                ExecutionOutcome::with_status(ExecutionStatus::Success),
            )
            .await,
    );
    for done in [ended, cancelled, succeeded] {
        let after = ok(
            CHECK,
            "request_cancel of an ended execution",
            store.request_cancel(done.id).await,
        );
        ensure_eq!(
            CHECK,
            after,
            done,
            "an ended execution after a cancel request"
        );
    }
}
