//! Checks of triggers, status and the execution record.

use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDate;

use super::{
    RunBehaviour, RunningLoop, TestRunner, WAIT, create, execution, manual, now, retries_of, spec,
    status_is, test_config, test_scheduler, wait_for,
};
use crate::ErrorKind;
use crate::model::{ExecutionId, ExecutionStatus, Frequency, NewExecution, Task, Trigger};
use crate::schedule::{Scheduler, TriggerRequest, next_fire, target_date};
use crate::store::Store;

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
