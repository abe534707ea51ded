//! The checks of the scheduler conformance suite, one per guarantee of DESIGN §7.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, DurationRound, NaiveDate, Utc};

use super::{
    RunBehaviour, RunningLoop, TestRunner, execution, retries_of, test_config, test_scheduler,
    wait_for,
};
use crate::ErrorKind;
use crate::model::{
    ExecutionFilter, ExecutionId, ExecutionOutcome, ExecutionStatus, Frequency, InstanceId,
    NewExecution, Schedule, ScheduleSpec, Task, Trigger,
};
use crate::schedule::{
    Scheduler, StoreScheduler, TriggerRequest, latest_slot_at_or_before, next_fire, target_date,
};
use crate::store::Store;

/// How long a check waits for something that takes a lease or a timeout (about 1 s).
const WAIT: Duration = Duration::from_secs(20);

fn spec(name: &str, task: Task, hour: u32, minute: u32, tz: &str) -> ScheduleSpec {
    let hour = u8::try_from(hour).expect("hour fits");
    let minute = u8::try_from(minute).expect("minute fits");
    ScheduleSpec::new(name, task, Frequency::Daily, hour, minute, tz)
        .expect("the check's schedule spec is valid")
}

async fn create(store: &Arc<dyn Store>, spec: ScheduleSpec) -> Schedule {
    store
        .create_schedule(spec)
        .await
        .expect("the check's schedule can be created")
}

async fn now(store: &Arc<dyn Store>) -> DateTime<Utc> {
    store.now().await.expect("the store tells the time")
}

async fn status_is(store: &Arc<dyn Store>, id: ExecutionId, status: ExecutionStatus) -> bool {
    execution(store, id).await.status == status
}

fn manual(task: Task) -> TriggerRequest {
    TriggerRequest::Manual {
        task,
        app_id: None,
        target_date: NaiveDate::from_ymd_opt(2026, 1, 5).expect("valid date"),
    }
}

/// Three instances walk 25 simulated days concurrently over 20 daily schedules (500
/// slots): every slot is inserted exactly once, as a pending scheduled execution of
/// that slot, and nothing is skipped. Then the three run loops share 60 manual
/// executions: each runs exactly once.
pub async fn one_run_per_slot_across_instances<S: Store + 'static>(store: S) {
    const CHECK: &str = "one_run_per_slot_across_instances";
    let store: Arc<dyn Store> = Arc::new(store);
    // Zones without DST: a daily slot every 24 h, so 25 days hold 25 slots each.
    let zones = ["UTC", "Asia/Tokyo", "Asia/Kolkata", "America/Phoenix"];
    let mut schedules = Vec::new();
    for n in 0..20u32 {
        let s = spec(
            &format!("{CHECK} {n}"),
            Task::DataCollection,
            n * 5 % 24,
            n * 7 % 60,
            zones[n as usize % zones.len()],
        );
        schedules.push(create(&store, s).await);
    }
    let runner = Arc::new(TestRunner::always(RunBehaviour::Succeed));
    let instances: Vec<StoreScheduler> = (0..3)
        .map(|_| test_scheduler(&store, &runner, test_config()))
        .collect();

    let start = now(&store).await;
    let end = start + chrono::Duration::days(25);
    let mut walkers = Vec::new();
    for (i, s) in instances.iter().enumerate() {
        let s = s.clone();
        walkers.push(tokio::spawn(async move {
            let (mut inserted, mut skipped) = (0, 0);
            let mut t = start + chrono::Duration::minutes(3 * i as i64);
            loop {
                let at = t.min(end);
                let r = s
                    .fire_due_at(at)
                    .await
                    .unwrap_or_else(|e| panic!("{CHECK}: fire_due_at({at}) failed: {e}"));
                inserted += r.inserted;
                skipped += r.skipped;
                if at == end {
                    break (inserted, skipped);
                }
                t += chrono::Duration::minutes(10);
                tokio::task::yield_now().await;
            }
        }));
    }
    let (mut inserted, mut skipped) = (0, 0);
    for w in walkers {
        let (i, s) = w.await.expect("a walker does not panic");
        inserted += i;
        skipped += s;
    }

    let mut expected_total = 0;
    for s in &schedules {
        let mut expected = BTreeSet::new();
        let mut t = next_fire(s, s.created_at);
        while t <= end {
            expected.insert(t);
            t = next_fire(s, t);
        }
        expected_total += expected.len();
        let execs = store
            .list_executions(&ExecutionFilter::all().with_schedule(s.id))
            .await
            .expect("executions can be listed");
        let mut slots = BTreeMap::new();
        for e in &execs {
            let slot = e
                .slot_at
                .unwrap_or_else(|| panic!("{CHECK}: execution without a slot: {e:?}"));
            assert!(
                e.status == ExecutionStatus::Pending
                    && e.trigger == Trigger::Scheduled
                    && e.run_after == slot
                    && e.target_date == target_date(s, slot)
                    && e.attempt == 1,
                "{CHECK}: a slot's execution should be pending, scheduled, runnable from its slot, \
                 for the slot's target day: {e:?}"
            );
            *slots.entry(slot).or_insert(0) += 1;
        }
        let twice: Vec<_> = slots.iter().filter(|(_, n)| **n > 1).collect();
        assert!(
            twice.is_empty(),
            "{CHECK}: schedule {} has slots inserted more than once: {twice:?}",
            s.id
        );
        let got: BTreeSet<_> = slots.into_keys().collect();
        assert_eq!(
            got, expected,
            "{CHECK}: schedule {} ({} in {}) should have exactly one execution per slot",
            s.id, s.hour, s.timezone
        );
    }
    assert!(
        expected_total >= 500,
        "{CHECK}: the setup should hold at least 500 slots, has {expected_total}"
    );
    assert_eq!(
        (inserted, skipped),
        (expected_total, 0),
        "{CHECK}: the instances together should insert each slot once and skip none"
    );

    let loops: Vec<_> = instances.iter().map(RunningLoop::start).collect();
    let mut manual_ids = Vec::new();
    for i in 0..60 {
        let s = &instances[i % instances.len()];
        manual_ids.push(
            s.trigger(manual(Task::AlertCheck))
                .await
                .expect("a manual run can be triggered"),
        );
    }
    wait_for(CHECK, "60 manual executions to succeed", WAIT, || async {
        let done = store
            .list_executions(&ExecutionFilter::all().with_statuses([ExecutionStatus::Success]))
            .await
            .expect("executions can be listed");
        done.len() >= manual_ids.len()
    })
    .await;
    for l in loops {
        l.stop().await.expect("a loop shuts down cleanly");
    }
    for id in &manual_ids {
        assert_eq!(
            runner.starts_of(*id),
            1,
            "{CHECK}: execution {id} should run exactly once across three instances"
        );
    }
    assert!(
        runner.started().iter().all(|e| e.schedule_id.is_none()),
        "{CHECK}: slots in the future must not run"
    );
}

/// An instance dropped while running an execution records nothing; when the lease
/// expires another instance marks the execution `Failed` ("instance lost") and runs
/// its retry.
pub async fn lost_instance_is_reaped_and_retried<S: Store + 'static>(store: S) {
    const CHECK: &str = "lost_instance_is_reaped_and_retried";
    let store: Arc<dyn Store> = Arc::new(store);
    let mut s = spec(CHECK, Task::DataCollection, 6, 0, "Europe/Berlin");
    s.max_retries = 1;
    let schedule = create(&store, s).await;

    let runner_a = Arc::new(TestRunner::always(RunBehaviour::Hang));
    let a = test_scheduler(&store, &runner_a, test_config());
    let a_id = a.instance_id().clone();
    let id = a
        .trigger(TriggerRequest::Schedule(schedule.id))
        .await
        .expect("a schedule can be triggered");
    let loop_a = RunningLoop::start(&a);
    wait_for(
        CHECK,
        "the first instance to start the run",
        WAIT,
        || async {
            let e = execution(&store, id).await;
            e.status == ExecutionStatus::Running && runner_a.starts_of(id) == 1
        },
    )
    .await;

    // The instance dies: its loop and its executions stop, with nothing recorded.
    loop_a.handle.abort();
    let _ = loop_a.handle.await;
    drop(a);

    let runner_b = Arc::new(TestRunner::always(RunBehaviour::Succeed));
    let b = test_scheduler(&store, &runner_b, test_config());
    let loop_b = RunningLoop::start(&b);
    wait_for(
        CHECK,
        "the lost run to be reaped and its retry to succeed",
        WAIT,
        || async {
            retries_of(&store, id)
                .await
                .iter()
                .any(|r| r.status == ExecutionStatus::Success)
        },
    )
    .await;
    loop_b.stop().await.expect("a loop shuts down cleanly");

    let lost = execution(&store, id).await;
    assert!(
        lost.status == ExecutionStatus::Failed
            && lost.error_log.contains("instance lost")
            && lost.completed_at.is_some()
            && lost.claimed_by.as_ref().is_none_or(|c| *c == a_id),
        "{CHECK}: the lost run should be failed, \"instance lost\": {lost:?}"
    );
    assert!(
        runner_a.finished().is_empty(),
        "{CHECK}: the dropped instance's runner should have been stopped mid-run"
    );
    let retries = retries_of(&store, id).await;
    assert_eq!(
        retries.len(),
        1,
        "{CHECK}: exactly one retry should be queued: {retries:?}"
    );
    let retry = &retries[0];
    assert!(
        retry.trigger == Trigger::Retry
            && retry.attempt == 2
            && retry.schedule_id == Some(schedule.id)
            && retry.claimed_by.as_ref() == Some(b.instance_id())
            && retry
                .started_at
                .is_some_and(|t| t >= lost.completed_at.unwrap_or(t)),
        "{CHECK}: the retry should be attempt 2 of the chain, run by the surviving instance: {retry:?}"
    );
    assert_eq!(
        runner_b.starts_of(id),
        0,
        "{CHECK}: the lost attempt itself must not run again"
    );
}

/// A run past its schedule's timeout is cancelled and recorded `Timeout`, and its
/// retry runs.
pub async fn timeout_is_recorded_and_retried<S: Store + 'static>(store: S) {
    const CHECK: &str = "timeout_is_recorded_and_retried";
    let store: Arc<dyn Store> = Arc::new(store);
    let mut s = spec(CHECK, Task::DataCollection, 6, 0, "UTC");
    s.timeout = Duration::from_secs(1);
    s.max_retries = 1;
    let schedule = create(&store, s).await;
    let runner = Arc::new(TestRunner::new(|e| {
        if e.attempt == 1 {
            RunBehaviour::Hang
        } else {
            RunBehaviour::Succeed
        }
    }));
    let sched = test_scheduler(&store, &runner, test_config());
    let l = RunningLoop::start(&sched);
    let id = sched
        .trigger(TriggerRequest::Schedule(schedule.id))
        .await
        .expect("a schedule can be triggered");
    wait_for(
        CHECK,
        "the retry of the timed-out run to succeed",
        WAIT,
        || async {
            retries_of(&store, id)
                .await
                .iter()
                .any(|r| r.status == ExecutionStatus::Success)
        },
    )
    .await;
    l.stop().await.expect("a loop shuts down cleanly");

    let e = execution(&store, id).await;
    assert!(
        e.status == ExecutionStatus::Timeout
            && e.error_log.contains("timed out")
            && e.started_at.is_some()
            && e.completed_at.is_some()
            && e.duration.is_some(),
        "{CHECK}: the run should be recorded as timed out: {e:?}"
    );
    let retries = retries_of(&store, id).await;
    assert!(
        retries.len() == 1 && retries[0].attempt == 2 && retries[0].trigger == Trigger::Retry,
        "{CHECK}: one retry, attempt 2: {retries:?}"
    );
    assert_eq!(
        runner.finished(),
        vec![
            (id, ExecutionStatus::Cancelled),
            (retries[0].id, ExecutionStatus::Success)
        ],
        "{CHECK}: the runner should have been cancelled, then the retry run"
    );
}

/// A pending execution is cancelled at once and never runs; a running one stops when
/// cancelled, whether through the instance running it or through another; cancelled
/// runs are not retried.
pub async fn cancel_pending_and_running<S: Store + 'static>(store: S) {
    const CHECK: &str = "cancel_pending_and_running";
    let store: Arc<dyn Store> = Arc::new(store);
    let mut s = spec(CHECK, Task::AlertCheck, 6, 0, "UTC");
    s.max_retries = 3;
    let hanging = create(&store, s).await;
    let runner = Arc::new(TestRunner::new(|e| match e.task {
        Task::AlertCheck => RunBehaviour::Hang,
        _ => RunBehaviour::Succeed,
    }));
    let a = test_scheduler(&store, &runner, test_config());
    let other = test_scheduler(&store, &runner, test_config());

    let pending = a
        .trigger(manual(Task::DataCollection))
        .await
        .expect("a manual run can be triggered");
    a.cancel(pending)
        .await
        .expect("a pending run can be cancelled");
    let e = execution(&store, pending).await;
    assert!(
        e.status == ExecutionStatus::Cancelled && e.completed_at.is_some(),
        "{CHECK}: a pending execution should be cancelled at once: {e:?}"
    );

    let l = RunningLoop::start(&a);
    let remote = a
        .trigger(TriggerRequest::Schedule(hanging.id))
        .await
        .expect("a schedule can be triggered");
    let local = a
        .trigger(TriggerRequest::Schedule(hanging.id))
        .await
        .expect("a schedule can be triggered");
    wait_for(CHECK, "both hanging runs to start", WAIT, || async {
        runner.starts_of(remote) == 1 && runner.starts_of(local) == 1
    })
    .await;
    // Asked through another instance: seen at the next lease renewal.
    other
        .cancel(remote)
        .await
        .expect("a running run can be cancelled");
    wait_for(
        CHECK,
        "the run cancelled through another instance to end",
        WAIT,
        || status_is(&store, remote, ExecutionStatus::Cancelled),
    )
    .await;
    a.cancel(local)
        .await
        .expect("a running run can be cancelled");
    wait_for(
        CHECK,
        "the run cancelled through its own instance to end",
        WAIT,
        || status_is(&store, local, ExecutionStatus::Cancelled),
    )
    .await;
    let sentinel = a
        .trigger(manual(Task::DataCollection))
        .await
        .expect("a manual run can be triggered");
    wait_for(CHECK, "a later run to succeed", WAIT, || {
        status_is(&store, sentinel, ExecutionStatus::Success)
    })
    .await;
    l.stop().await.expect("a loop shuts down cleanly");

    assert_eq!(
        runner.starts_of(pending),
        0,
        "{CHECK}: a cancelled pending execution must never run"
    );
    for id in [remote, local] {
        let e = execution(&store, id).await;
        assert!(
            e.error_log.contains("cancel") && e.completed_at.is_some(),
            "{CHECK}: a cancelled run should say so: {e:?}"
        );
        assert!(
            retries_of(&store, id).await.is_empty(),
            "{CHECK}: a cancelled run must not be retried"
        );
    }
}

/// An instance that comes back after three days runs only the latest slot, which is
/// within the misfire grace; the slot before it is recorded `Skipped`, older ones
/// coalesce into it, and none of them runs.
pub async fn misfire_runs_latest_slot_and_skips_older<S: Store + 'static>(store: S) {
    const CHECK: &str = "misfire_runs_latest_slot_and_skips_older";
    let store: Arc<dyn Store> = Arc::new(store);
    let t = now(&store).await;
    // A slot ten minutes ago (within the 1 h grace), at a whole minute.
    let slot = (t - chrono::Duration::minutes(10))
        .duration_trunc(chrono::Duration::minutes(1))
        .expect("a time truncates to the minute");
    let s = spec(
        CHECK,
        Task::FullAnalysis,
        chrono::Timelike::hour(&slot),
        chrono::Timelike::minute(&slot),
        "UTC",
    );
    let schedule = create(&store, s).await;
    assert_eq!(latest_slot_at_or_before(&schedule, t), Some(slot));

    // What an instance recorded before everything went down: the slot three days ago ran.
    let day = chrono::Duration::days(1);
    let before = slot - day * 3;
    let old = store
        .insert_execution(NewExecution::scheduled(
            &schedule,
            before,
            target_date(&schedule, before),
        ))
        .await
        .expect("an execution can be inserted")
        .expect("the old slot is new");
    let gone = InstanceId::from("instance-before-the-outage");
    let claimed = store
        .claim_execution(&gone, Duration::from_secs(60))
        .await
        .expect("an execution can be claimed")
        .expect("the old slot is claimable");
    assert_eq!(claimed.id, old.id);
    store
        .finish_execution(
            old.id,
            &gone,
            ExecutionOutcome::with_status(ExecutionStatus::Success),
        )
        .await
        .expect("an execution can be finished");

    let runner = Arc::new(TestRunner::always(RunBehaviour::Succeed));
    let sched = test_scheduler(&store, &runner, test_config());
    let l = RunningLoop::start(&sched);
    wait_for(CHECK, "the latest slot to run", WAIT, || async {
        store
            .list_executions(&ExecutionFilter::all().with_schedule(schedule.id))
            .await
            .expect("executions can be listed")
            .iter()
            .any(|e| e.slot_at == Some(slot) && e.status == ExecutionStatus::Success)
    })
    .await;
    // A few more ticks must not add anything.
    tokio::time::sleep(sched.config().tick * 4).await;
    l.stop().await.expect("a loop shuts down cleanly");

    let by_slot: BTreeMap<_, _> = store
        .list_executions(&ExecutionFilter::all().with_schedule(schedule.id))
        .await
        .expect("executions can be listed")
        .into_iter()
        .map(|e| (e.slot_at, e.status))
        .collect();
    let expected: BTreeMap<_, _> = [
        (Some(before), ExecutionStatus::Success),
        (Some(slot - day), ExecutionStatus::Skipped),
        (Some(slot), ExecutionStatus::Success),
    ]
    .into_iter()
    .collect();
    assert_eq!(
        by_slot, expected,
        "{CHECK}: the latest slot runs, the one before is skipped, older ones coalesce"
    );
    let ran: Vec<_> = runner.started().iter().map(|e| e.slot_at).collect();
    assert_eq!(ran, vec![Some(slot)], "{CHECK}: only the latest slot runs");
}

/// A runner that panics leaves the scheduler running; the run is recorded `Failed`.
pub async fn panicking_runner_is_recorded_failed<S: Store + 'static>(store: S) {
    const CHECK: &str = "panicking_runner_is_recorded_failed";
    let store: Arc<dyn Store> = Arc::new(store);
    let runner = Arc::new(TestRunner::new(|e| match e.task {
        Task::AlertCheck => RunBehaviour::Panic,
        _ => RunBehaviour::Succeed,
    }));
    let sched = test_scheduler(&store, &runner, test_config());
    let l = RunningLoop::start(&sched);
    let boom = sched
        .trigger(manual(Task::AlertCheck))
        .await
        .expect("a manual run can be triggered");
    wait_for(CHECK, "the panicking run to be recorded", WAIT, || {
        status_is(&store, boom, ExecutionStatus::Failed)
    })
    .await;
    let fine = sched
        .trigger(manual(Task::DataCollection))
        .await
        .expect("a manual run can be triggered");
    wait_for(CHECK, "a later run to succeed", WAIT, || {
        status_is(&store, fine, ExecutionStatus::Success)
    })
    .await;
    l.stop().await.expect("a loop shuts down cleanly");
    let e = execution(&store, boom).await;
    assert!(
        e.error_log.contains("panicked") && e.completed_at.is_some(),
        "{CHECK}: the panic should be in the error log: {e:?}"
    );
}

/// Manual, schedule and retry triggers create the right executions; a finished run's
/// record has every field filled; `status` shows the instance, next fire times, and
/// what runs and waits.
pub async fn triggers_status_and_records<S: Store + 'static>(store: S) {
    const CHECK: &str = "triggers_status_and_records";
    let store: Arc<dyn Store> = Arc::new(store);
    let mut s = spec(CHECK, Task::DataCollection, 7, 15, "Europe/Berlin");
    s.frequency = Frequency::weekly(3).expect("valid weekday");
    s.target_offset_days = 2;
    s.max_retries = 2;
    s.skip_notifications = true;
    s.timeout = Duration::from_secs(600);
    let schedule = create(&store, s).await;
    let runner = Arc::new(TestRunner::new(|e| match e.task {
        Task::AlertCheck => RunBehaviour::Fail,
        Task::FullAnalysis => RunBehaviour::Hang,
        Task::DataCollection => RunBehaviour::Succeed,
    }));
    let sched = test_scheduler(&store, &runner, test_config());
    let l = RunningLoop::start(&sched);

    let from_schedule = sched
        .trigger(TriggerRequest::Schedule(schedule.id))
        .await
        .expect("a schedule can be triggered");
    wait_for(CHECK, "the schedule's run to succeed", WAIT, || {
        status_is(&store, from_schedule, ExecutionStatus::Success)
    })
    .await;
    let e = execution(&store, from_schedule).await;
    assert!(
        e.schedule_id == Some(schedule.id)
            && e.trigger == Trigger::Manual
            && e.task == Task::DataCollection
            && e.slot_at.is_none()
            && e.target_date == target_date(&schedule, e.created_at)
            && e.max_retries == 2
            && e.skip_notifications
            && e.timeout == Duration::from_secs(600),
        "{CHECK}: a schedule trigger runs the schedule's task for its target day: {e:?}"
    );
    assert!(
        e.claimed_by.as_ref() == Some(sched.instance_id())
            && e.started_at.is_some()
            && e.completed_at.is_some()
            && e.duration.is_some_and(|d| {
                e.completed_at.zip(e.started_at).is_some_and(|(c, s)| {
                    (c - s)
                        .to_std()
                        .is_ok_and(|x| x.abs_diff(d) < Duration::from_millis(2))
                })
            })
            && e.success_count == 1
            && e.alerts_generated == 2
            && e.notifications_sent == 1
            && e.output_log.contains("attempt 1"),
        "{CHECK}: a finished record has its timestamps, duration, counts and log: {e:?}"
    );

    let failed = sched
        .trigger(manual(Task::AlertCheck))
        .await
        .expect("a manual run can be triggered");
    wait_for(CHECK, "the manual run to fail", WAIT, || {
        status_is(&store, failed, ExecutionStatus::Failed)
    })
    .await;
    let f = execution(&store, failed).await;
    assert!(
        f.schedule_id.is_none()
            && f.trigger == Trigger::Manual
            && f.max_retries == 0
            && f.error_count == 1
            && f.target_date == NaiveDate::from_ymd_opt(2026, 1, 5).expect("valid date"),
        "{CHECK}: a manual run has no schedule and no automatic retry: {f:?}"
    );
    assert!(
        retries_of(&store, failed).await.is_empty(),
        "{CHECK}: no retry after a manual run fails"
    );
    let retry = sched
        .trigger(TriggerRequest::Retry(failed))
        .await
        .expect("a failed run can be retried");
    let r = execution(&store, retry).await;
    assert!(
        r.trigger == Trigger::Retry
            && r.retry_of == Some(failed)
            && r.attempt == 2
            && r.task == Task::AlertCheck,
        "{CHECK}: a retry trigger continues the chain: {r:?}"
    );
    let err = sched
        .trigger(TriggerRequest::Retry(from_schedule))
        .await
        .expect_err("a successful run cannot be retried");
    assert_eq!(err.kind(), ErrorKind::Conflict, "{CHECK}: {err}");
    let err = sched
        .trigger(TriggerRequest::Retry(ExecutionId(i64::MAX)))
        .await
        .expect_err("a missing run cannot be retried");
    assert_eq!(err.kind(), ErrorKind::NotFound, "{CHECK}: {err}");

    let hanging = sched
        .trigger(manual(Task::FullAnalysis))
        .await
        .expect("a manual run can be triggered");
    wait_for(CHECK, "the hanging run to start", WAIT, || async {
        runner.starts_of(hanging) == 1
    })
    .await;
    let later = now(&store).await + chrono::Duration::hours(1);
    let queued = store
        .insert_execution(NewExecution::manual(
            Task::DataCollection,
            later.date_naive(),
            later,
        ))
        .await
        .expect("an execution can be inserted")
        .expect("a manual execution is new");
    let before = now(&store).await;
    let st = sched.status().await.expect("status can be read");
    let after = now(&store).await;
    assert!(
        st.instances.iter().any(|i| i.id == *sched.instance_id()
            && i.pid == std::process::id()
            && !i.host.is_empty()),
        "{CHECK}: status lists this instance: {:?}",
        st.instances
    );
    let ss = st
        .schedules
        .iter()
        .find(|x| x.schedule_id == schedule.id)
        .unwrap_or_else(|| panic!("{CHECK}: status lists the schedule"));
    assert!(
        ss.is_active
            && ss.name == schedule.name
            && ss.next_fire.is_some_and(
                |n| n == next_fire(&schedule, before) || n == next_fire(&schedule, after)
            )
            && ss.last_success.is_some(),
        "{CHECK}: the schedule's next fire time and last success: {ss:?}"
    );
    assert!(
        st.running.iter().any(|e| e.id == hanging),
        "{CHECK}: status lists the running execution"
    );
    assert!(
        st.queued.iter().any(|e| e.id == queued.id),
        "{CHECK}: status lists the queued execution"
    );
    sched.cancel(hanging).await.expect("a run can be cancelled");
    l.stop().await.expect("a loop shuts down cleanly");
}

/// On shutdown an instance stops claiming, lets a run that ends within the grace
/// finish, cancels the others (also one whose runner ignores the cancel), records
/// them `Cancelled`, and deregisters.
pub async fn shutdown_finishes_then_cancels<S: Store + 'static>(store: S) {
    const CHECK: &str = "shutdown_finishes_then_cancels";
    let store: Arc<dyn Store> = Arc::new(store);
    let runner = Arc::new(TestRunner::new(|e| match e.task {
        Task::DataCollection => RunBehaviour::Sleep(Duration::from_millis(300)),
        Task::AlertCheck => RunBehaviour::Hang,
        Task::FullAnalysis => RunBehaviour::HangIgnoringCancel,
    }));
    let config = test_config()
        .with_shutdown_grace(Duration::from_secs(1))
        .with_stop_grace(Duration::from_millis(300));
    let sched = test_scheduler(&store, &runner, config);
    let l = RunningLoop::start(&sched);
    let mut ids = Vec::new();
    for task in [Task::DataCollection, Task::AlertCheck, Task::FullAnalysis] {
        ids.push(
            sched
                .trigger(manual(task))
                .await
                .expect("a manual run can be triggered"),
        );
    }
    wait_for(CHECK, "the three runs to start", WAIT, || async {
        ids.iter().all(|id| runner.starts_of(*id) == 1)
    })
    .await;
    l.stop().await.expect("shutdown succeeds");
    // Triggered after shutdown: nobody claims it.
    let late = sched
        .trigger(manual(Task::DataCollection))
        .await
        .expect("a manual run can be triggered");

    let [quick, polite, stubborn] = [ids[0], ids[1], ids[2]];
    let q = execution(&store, quick).await;
    assert_eq!(
        q.status,
        ExecutionStatus::Success,
        "{CHECK}: a run ending within the grace finishes: {q:?}"
    );
    for id in [polite, stubborn] {
        let e = execution(&store, id).await;
        assert!(
            e.status == ExecutionStatus::Cancelled
                && e.error_log.contains("shut down")
                && e.completed_at.is_some(),
            "{CHECK}: a run still going after the grace is cancelled: {e:?}"
        );
    }
    assert!(
        execution(&store, stubborn)
            .await
            .error_log
            .contains("abandoned"),
        "{CHECK}: a runner ignoring the cancel is abandoned"
    );
    assert_eq!(
        execution(&store, late).await.status,
        ExecutionStatus::Pending,
        "{CHECK}: nothing is claimed after shutdown"
    );
    let instances = store
        .list_instances()
        .await
        .expect("instances can be listed");
    assert!(
        instances.iter().all(|i| i.id != *sched.instance_id()),
        "{CHECK}: the instance deregisters: {instances:?}"
    );
}
