//! Checks of a run's life: lost instances, timeouts, cancels, panics and shutdown.

use std::sync::Arc;
use std::time::Duration;

use super::{
    RunBehaviour, RunningLoop, TestRunner, WAIT, create, execution, manual, retries_of, spec,
    status_is, test_config, test_scheduler, wait_for,
};
use crate::model::{ExecutionStatus, Task, Trigger};
use crate::schedule::{Scheduler, TriggerRequest};
use crate::store::Store;

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

/// A runner that panics leaves the scheduler running; the run is recorded `Failed`.
pub async fn panicking_runner_is_recorded_failed<S: Store + 'static>(store: S) {
    const CHECK: &str = "panicking_runner_is_recorded_failed";
    let store: Arc<dyn Store> = Arc::new(store);
    let runner = Arc::new(TestRunner::new(|e| match e.task {
        Task::AlertCheck => RunBehaviour::Panic,
        _ => RunBehaviour::Succeed,
    }));
    // A long lease: printing the panic's backtrace can take longer than the 1 s test
    // lease on a loaded machine, and this check is about the panic, not lease expiry.
    let sched = test_scheduler(
        &store,
        &runner,
        test_config().with_lease(Duration::from_secs(10)),
    );
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
