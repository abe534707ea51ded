//! Running one claimed execution: the runner in its own task, the lease renewed every
//! third of its length, the timeout, cancellation, and the end recorded with its
//! retry (DESIGN §7). A runner that panics or ignores its cancel token cannot take the
//! scheduler down with it.

use std::any::Any;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::FutureExt;
use tokio::task::AbortHandle;
use tokio::time::{Instant, sleep};
use tokio_util::sync::CancellationToken;

use super::{ExecutionRunner, RetryPolicy, RunReport, complete_execution};
use crate::ErrorKind;
use crate::model::{Execution, ExecutionStatus, InstanceId, LogBuffer};
use crate::store::Store;

/// Why the scheduler asked a runner to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum StopReason {
    /// Someone asked for a cancel.
    Cancelled,
    /// The run went past its timeout.
    Timeout,
    /// This instance is shutting down and the grace period is over.
    Shutdown,
    /// The lease went to someone else (it expired and was reaped): the run is no longer
    /// ours to record.
    LeaseLost,
}

/// An execution running on this instance.
#[derive(Debug)]
pub(super) struct RunningExecution {
    /// The execution as claimed.
    pub(super) execution: Execution,
    token: CancellationToken,
    reason: Mutex<Option<StopReason>>,
    /// The supervising task, aborted when the scheduler is dropped.
    pub(super) task: OnceLock<AbortHandle>,
}

impl RunningExecution {
    pub(super) fn new(execution: Execution) -> Self {
        RunningExecution {
            execution,
            token: CancellationToken::new(),
            reason: Mutex::new(None),
            task: OnceLock::new(),
        }
    }

    /// Asks the runner to stop; the first reason given is the one recorded.
    pub(super) fn stop(&self, reason: StopReason) {
        self.reason
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get_or_insert(reason);
        self.token.cancel();
    }

    fn reason(&self) -> Option<StopReason> {
        *self.reason.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether the run has passed its timeout at store time `now`.
    pub(super) fn overdue_at(&self, now: DateTime<Utc>) -> bool {
        let Some(started) = self.execution.started_at else {
            return false;
        };
        chrono::Duration::from_std(self.execution.timeout).is_ok_and(|limit| now - started >= limit)
    }
}

/// What a supervisor needs from its scheduler.
#[derive(Debug, Clone)]
pub(super) struct ExecutorContext {
    pub(super) store: Arc<dyn Store>,
    pub(super) runner: Arc<dyn ExecutionRunner>,
    pub(super) instance: InstanceId,
    pub(super) lease: Duration,
    pub(super) stop_grace: Duration,
    pub(super) retry: RetryPolicy,
}

/// Runs `running`'s execution to its end and records it. Returns once the outcome is
/// recorded (or could not be: the lease then expires and another instance reaps it).
pub(super) async fn supervise(ctx: ExecutorContext, running: Arc<RunningExecution>) {
    let exec = &running.execution;
    // The runner is polled inside this task, so aborting the task (when the scheduler is
    // dropped) drops the run with it; a panic is caught and recorded as a failure.
    let run = AssertUnwindSafe(ctx.runner.run(exec, running.token.clone())).catch_unwind();
    tokio::pin!(run);

    let renew_every = (ctx.lease / 3).max(Duration::from_millis(10));
    let mut renew = tokio::time::interval_at(Instant::now() + renew_every, renew_every);
    renew.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let timeout = sleep(exec.timeout);
    tokio::pin!(timeout);
    let mut timed_out = false;
    // Armed when the runner is asked to stop: past it, the runner is abandoned.
    let hard_stop = sleep(Duration::MAX);
    tokio::pin!(hard_stop);
    let mut stopping = false;

    let ended = loop {
        tokio::select! {
            ended = &mut run => break Some(ended),
            _ = renew.tick() => renew_lease(&ctx, &running).await,
            () = &mut timeout, if !timed_out => {
                timed_out = true;
                tracing::info!(execution = %exec.id, timeout = ?exec.timeout, "execution timed out");
                running.stop(StopReason::Timeout);
            }
            () = running.token.cancelled(), if !stopping => {
                stopping = true;
                hard_stop.as_mut().reset(Instant::now() + ctx.stop_grace);
            }
            () = &mut hard_stop, if stopping => {
                tracing::warn!(execution = %exec.id, grace = ?ctx.stop_grace, "runner ignored its cancel token; abandoning it");
                break None;
            }
        }
    };

    let reason = running.reason();
    if reason == Some(StopReason::LeaseLost) {
        tracing::warn!(execution = %exec.id, "lease lost while running; the run is not recorded here");
        return;
    }
    let report = match ended {
        Some(Ok(report)) => report,
        Some(Err(panic)) => {
            let mut r = RunReport::new(ExecutionStatus::Failed);
            r.error_log = format!("runner panicked: {}", panic_message(panic));
            tracing::error!(execution = %exec.id, "{}", r.error_log);
            r
        }
        None => {
            let mut r = RunReport::new(ExecutionStatus::Cancelled);
            r.error_log = format!(
                "runner did not stop within {}s of being cancelled and was abandoned",
                ctx.stop_grace.as_secs_f64()
            );
            r
        }
    };
    let report = shape_report(report, reason, exec);
    match complete_execution(ctx.store.as_ref(), exec, &ctx.instance, &report, &ctx.retry).await {
        Ok((finished, retry)) => tracing::info!(
            execution = %finished.id,
            status = %finished.status,
            retry = ?retry.map(|r| r.id),
            "execution ended"
        ),
        Err(e) => tracing::warn!(
            execution = %exec.id,
            error = %e,
            "recording the end of an execution failed; its lease will expire"
        ),
    }
}

async fn renew_lease(ctx: &ExecutorContext, running: &RunningExecution) {
    let id = running.execution.id;
    match ctx.store.renew_lease(id, &ctx.instance, ctx.lease).await {
        Ok(lease) if lease.cancel_requested => {
            tracing::info!(execution = %id, "cancel requested");
            running.stop(StopReason::Cancelled);
        }
        Ok(_) => {}
        Err(e) if e.kind() == ErrorKind::Conflict => {
            tracing::warn!(execution = %id, error = %e, "lease lost");
            running.stop(StopReason::LeaseLost);
        }
        // A store hiccup: the lease still has two thirds of its length to recover in.
        Err(e) => tracing::warn!(execution = %id, error = %e, "renewing a lease failed"),
    }
}

/// The report to record: the stop reason decides the status of a run that did not
/// succeed, a status a runner may not return becomes `Failed`, and logs are capped.
fn shape_report(mut report: RunReport, reason: Option<StopReason>, exec: &Execution) -> RunReport {
    let mut notes = Vec::new();
    if !matches!(
        report.status,
        ExecutionStatus::Success
            | ExecutionStatus::Failed
            | ExecutionStatus::Cancelled
            | ExecutionStatus::Timeout
    ) {
        notes.push(format!(
            "runner returned status {}, which is not an end; recorded as failed",
            report.status
        ));
        report.status = ExecutionStatus::Failed;
    }
    if report.status != ExecutionStatus::Success {
        match reason {
            Some(StopReason::Timeout) => {
                report.status = ExecutionStatus::Timeout;
                notes.push(format!("timed out after {}s", exec.timeout.as_secs_f64()));
            }
            Some(StopReason::Cancelled) => {
                report.status = ExecutionStatus::Cancelled;
                notes.push("cancelled on request".to_owned());
            }
            Some(StopReason::Shutdown) => {
                report.status = ExecutionStatus::Cancelled;
                notes.push("cancelled: the scheduler instance shut down".to_owned());
            }
            Some(StopReason::LeaseLost) | None => {}
        }
    }
    let mut error_log = report.error_log;
    for note in notes {
        if !error_log.is_empty() && !error_log.ends_with('\n') {
            error_log.push('\n');
        }
        error_log.push_str(&note);
    }
    report.error_log = cap_log(&error_log);
    report.output_log = cap_log(&report.output_log);
    report
}

/// `text` within [`LogBuffer::DEFAULT_CAP`], with the truncation marker when cut.
fn cap_log(text: &str) -> String {
    if text.len() < LogBuffer::DEFAULT_CAP {
        return text.to_owned();
    }
    let mut log = LogBuffer::new(LogBuffer::DEFAULT_CAP);
    for line in text.lines() {
        log.line(line);
    }
    log.finish()
}

fn panic_message(payload: Box<dyn Any + Send>) -> String {
    match payload.downcast::<String>() {
        Ok(s) => *s,
        Err(payload) => match payload.downcast::<&'static str>() {
            Ok(s) => (*s).to_owned(),
            Err(_) => "(no message)".to_owned(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ExecutionId, Task, Trigger};

    fn exec() -> Execution {
        let now: DateTime<Utc> = "2026-06-01T00:00:00Z".parse().unwrap();
        Execution {
            id: ExecutionId(7),
            schedule_id: None,
            trigger: Trigger::Manual,
            status: ExecutionStatus::Running,
            task: Task::AlertCheck,
            app_id: None,
            target_date: now.date_naive(),
            slot_at: None,
            run_after: now,
            retry_of: None,
            attempt: 1,
            max_retries: 0,
            timeout: Duration::from_secs(90),
            skip_notifications: false,
            claimed_by: None,
            lease_until: None,
            cancel_requested: false,
            created_at: now,
            started_at: Some(now),
            completed_at: None,
            duration: None,
            success_count: 0,
            error_count: 0,
            alerts_generated: 0,
            notifications_sent: 0,
            output_log: String::new(),
            error_log: String::new(),
        }
    }

    #[test]
    fn stop_reason_decides_the_status_of_unsuccessful_runs() {
        let mut r = RunReport::new(ExecutionStatus::Cancelled);
        r.error_log = "app 3: stopped".into();
        r.success_count = 2;
        let shaped = shape_report(r.clone(), Some(StopReason::Timeout), &exec());
        assert_eq!(shaped.status, ExecutionStatus::Timeout);
        assert_eq!(shaped.success_count, 2);
        assert_eq!(shaped.error_log, "app 3: stopped\ntimed out after 90s");

        let shaped = shape_report(r.clone(), Some(StopReason::Shutdown), &exec());
        assert_eq!(shaped.status, ExecutionStatus::Cancelled);
        assert!(shaped.error_log.contains("shut down"));

        // A run that finished its work as the stop came stays a success.
        let ok = RunReport::new(ExecutionStatus::Success);
        let shaped = shape_report(ok, Some(StopReason::Timeout), &exec());
        assert_eq!(shaped.status, ExecutionStatus::Success);

        let odd = RunReport::new(ExecutionStatus::Pending);
        let shaped = shape_report(odd, None, &exec());
        assert_eq!(shaped.status, ExecutionStatus::Failed);
        assert!(shaped.error_log.contains("pending"), "{}", shaped.error_log);
    }

    #[test]
    fn long_logs_are_capped_with_a_marker() {
        let mut r = RunReport::new(ExecutionStatus::Success);
        r.output_log = format!("{}\n", "x".repeat(100)).repeat(1000);
        let shaped = shape_report(r, None, &exec());
        assert!(shaped.output_log.len() <= LogBuffer::DEFAULT_CAP + 64);
        assert!(
            shaped.output_log.ends_with("more lines truncated]\n"),
            "{}",
            &shaped.output_log[shaped.output_log.len() - 80..]
        );
    }

    #[test]
    fn overdue_uses_the_claim_time() {
        let r = RunningExecution::new(exec());
        let start = exec().started_at.unwrap();
        assert!(!r.overdue_at(start + chrono::Duration::seconds(89)));
        assert!(r.overdue_at(start + chrono::Duration::seconds(90)));
    }

    #[test]
    fn panic_messages_are_read_from_str_and_string_payloads() {
        assert_eq!(panic_message(Box::new("boom")), "boom");
        assert_eq!(panic_message(Box::new(String::from("bang"))), "bang");
        assert_eq!(panic_message(Box::new(3)), "(no message)");
    }
}
