//! [`Execution`]: one run of a task, from its slot or trigger to its outcome.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::{AppId, ExecutionId, InstanceId, ScheduleId, Task};
use crate::{Error, Result};

/// Why an execution exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Trigger {
    /// A schedule's slot came.
    Scheduled,
    /// Someone asked for it.
    Manual,
    /// An earlier attempt failed and this retries it.
    Retry,
}

impl fmt::Display for Trigger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Trigger::Scheduled => "scheduled",
            Trigger::Manual => "manual",
            Trigger::Retry => "retry",
        })
    }
}

/// Where an execution stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum ExecutionStatus {
    /// Waiting for `run_after` and a claimer.
    Pending,
    /// Claimed by an instance holding a lease.
    Running,
    /// Finished; every app and delivery went through (or was not yet available).
    Success,
    /// Finished with errors, or its instance was lost.
    Failed,
    /// Ran past its schedule's timeout.
    Timeout,
    /// Cancelled on request.
    Cancelled,
    /// A slot missed by more than the misfire grace: recorded, never run.
    Skipped,
}

impl ExecutionStatus {
    /// Every status, in lifecycle order.
    pub const ALL: [ExecutionStatus; 7] = [
        ExecutionStatus::Pending,
        ExecutionStatus::Running,
        ExecutionStatus::Success,
        ExecutionStatus::Failed,
        ExecutionStatus::Timeout,
        ExecutionStatus::Cancelled,
        ExecutionStatus::Skipped,
    ];

    /// Lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            ExecutionStatus::Pending => "pending",
            ExecutionStatus::Running => "running",
            ExecutionStatus::Success => "success",
            ExecutionStatus::Failed => "failed",
            ExecutionStatus::Timeout => "timeout",
            ExecutionStatus::Cancelled => "cancelled",
            ExecutionStatus::Skipped => "skipped",
        }
    }

    /// Whether the execution has ended and will never change status again.
    pub fn is_final(self) -> bool {
        !matches!(self, ExecutionStatus::Pending | ExecutionStatus::Running)
    }
}

impl fmt::Display for ExecutionStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ExecutionStatus {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        ExecutionStatus::ALL
            .into_iter()
            .find(|st| st.as_str() == s.trim().to_ascii_lowercase())
            .ok_or_else(|| {
                Error::invalid_field(
                    "status",
                    s,
                    "one of pending, running, success, failed, timeout, cancelled, skipped",
                )
            })
    }
}

/// One run of a task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Execution {
    /// Store-assigned id.
    pub id: ExecutionId,
    /// The schedule whose slot this is; `None` for manual runs.
    pub schedule_id: Option<ScheduleId>,
    /// Why it exists.
    pub trigger: Trigger,
    /// Where it stands.
    pub status: ExecutionStatus,
    /// What it does.
    pub task: Task,
    /// One app, or `None` for every active app.
    pub app_id: Option<AppId>,
    /// The reporting day it works on.
    pub target_date: NaiveDate,
    /// The schedule slot; unique per schedule.
    pub slot_at: Option<DateTime<Utc>>,
    /// Not claimed before this time (backoff for retries).
    pub run_after: DateTime<Utc>,
    /// The first execution of the retry chain this one belongs to (deliveries are
    /// scoped to the chain, so a retry skips what an earlier attempt delivered).
    pub retry_of: Option<ExecutionId>,
    /// 1 for the first attempt, then 2, 3, …
    pub attempt: u32,
    /// Retries still allowed after this attempt is `max_retries + 1 − attempt`.
    pub max_retries: u32,
    /// Cancelled and marked `Timeout` after running this long.
    pub timeout: Duration,
    /// Send no message.
    pub skip_notifications: bool,
    /// The instance holding the lease.
    pub claimed_by: Option<InstanceId>,
    /// The lease ends at this time unless renewed.
    pub lease_until: Option<DateTime<Utc>>,
    /// A cancel was asked for while running.
    pub cancel_requested: bool,
    /// When the record was inserted.
    pub created_at: DateTime<Utc>,
    /// When it was claimed.
    pub started_at: Option<DateTime<Utc>>,
    /// When it ended.
    pub completed_at: Option<DateTime<Utc>>,
    /// `completed_at − started_at`.
    pub duration: Option<Duration>,
    /// Apps (and deliveries) that went through.
    pub success_count: u32,
    /// Apps (and deliveries) that failed.
    pub error_count: u32,
    /// Alert events produced.
    pub alerts_generated: u32,
    /// Messages sent.
    pub notifications_sent: u32,
    /// What happened, capped (see [`LogBuffer`]).
    pub output_log: String,
    /// What went wrong, capped.
    pub error_log: String,
}

impl Execution {
    /// The id deliveries of this execution are recorded under: the first attempt's.
    pub fn chain_id(&self) -> ExecutionId {
        self.retry_of.unwrap_or(self.id)
    }

    /// Whether another attempt may follow this one.
    pub fn can_retry(&self) -> bool {
        self.attempt <= self.max_retries
    }
}

/// What a store needs to insert an execution.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct NewExecution {
    /// The schedule, if any.
    pub schedule_id: Option<ScheduleId>,
    /// Why.
    pub trigger: Trigger,
    /// `Pending`, or `Skipped` to record a missed slot.
    pub status: ExecutionStatus,
    /// What.
    pub task: Task,
    /// One app or all.
    pub app_id: Option<AppId>,
    /// The reporting day.
    pub target_date: NaiveDate,
    /// The slot; (schedule, slot) can be inserted once.
    pub slot_at: Option<DateTime<Utc>>,
    /// Not claimed before this time.
    pub run_after: DateTime<Utc>,
    /// First execution of the chain, for retries.
    pub retry_of: Option<ExecutionId>,
    /// Attempt number, from 1.
    pub attempt: u32,
    /// Retries allowed.
    pub max_retries: u32,
    /// Run time limit.
    pub timeout: Duration,
    /// Send no message.
    pub skip_notifications: bool,
}

impl NewExecution {
    /// Checks what every store requires before inserting: status `Pending` (or
    /// `Skipped` for a missed slot) and an attempt number from 1.
    pub fn validate(&self) -> Result<()> {
        if !matches!(
            self.status,
            ExecutionStatus::Pending | ExecutionStatus::Skipped
        ) {
            return Err(Error::invalid_field(
                "status",
                self.status.as_str(),
                "pending, or skipped for a missed slot",
            ));
        }
        if self.attempt == 0 {
            return Err(Error::invalid_field(
                "attempt",
                0,
                "an attempt number from 1",
            ));
        }
        Ok(())
    }

    /// A pending manual execution of `task` for `target_date`, runnable from `now`,
    /// with no retries and a 30 minute timeout.
    pub fn manual(task: Task, target_date: NaiveDate, now: DateTime<Utc>) -> Self {
        NewExecution {
            schedule_id: None,
            trigger: Trigger::Manual,
            status: ExecutionStatus::Pending,
            task,
            app_id: None,
            target_date,
            slot_at: None,
            run_after: now,
            retry_of: None,
            attempt: 1,
            max_retries: 0,
            timeout: Duration::from_secs(30 * 60),
            skip_notifications: false,
        }
    }

    /// The pending execution of `schedule`'s slot at `slot_at` for `target_date`.
    pub fn scheduled(
        schedule: &super::Schedule,
        slot_at: DateTime<Utc>,
        target_date: NaiveDate,
    ) -> Self {
        NewExecution {
            schedule_id: Some(schedule.id),
            trigger: Trigger::Scheduled,
            status: ExecutionStatus::Pending,
            task: schedule.task,
            app_id: schedule.app_id,
            target_date,
            slot_at: Some(slot_at),
            run_after: slot_at,
            retry_of: None,
            attempt: 1,
            max_retries: schedule.max_retries,
            timeout: schedule.timeout,
            skip_notifications: schedule.skip_notifications,
        }
    }

    /// The retry of `failed`, runnable from `run_after`.
    pub fn retry(failed: &Execution, run_after: DateTime<Utc>) -> Self {
        NewExecution {
            schedule_id: failed.schedule_id,
            trigger: Trigger::Retry,
            status: ExecutionStatus::Pending,
            task: failed.task,
            app_id: failed.app_id,
            target_date: failed.target_date,
            slot_at: None,
            run_after,
            retry_of: Some(failed.chain_id()),
            attempt: failed.attempt + 1,
            max_retries: failed.max_retries,
            timeout: failed.timeout,
            skip_notifications: failed.skip_notifications,
        }
    }

    /// Sets the app.
    #[must_use]
    pub fn with_app(mut self, app_id: Option<AppId>) -> Self {
        self.app_id = app_id;
        self
    }

    /// Sets the status to `Skipped` (a missed slot).
    #[must_use]
    pub fn skipped(mut self) -> Self {
        self.status = ExecutionStatus::Skipped;
        self
    }

    /// Sets the retry budget.
    #[must_use]
    pub fn with_max_retries(mut self, max_retries: u32) -> Self {
        self.max_retries = max_retries;
        self
    }

    /// Sets whether messages are sent.
    #[must_use]
    pub fn with_skip_notifications(mut self, skip: bool) -> Self {
        self.skip_notifications = skip;
        self
    }
}

/// How an execution ended, as recorded by its lease holder.
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct ExecutionOutcome {
    /// The final status (`Success`, `Failed`, `Timeout`, `Cancelled`).
    pub status: Option<ExecutionStatus>,
    /// Apps and deliveries that went through.
    pub success_count: u32,
    /// Apps and deliveries that failed.
    pub error_count: u32,
    /// Alert events produced.
    pub alerts_generated: u32,
    /// Messages sent.
    pub notifications_sent: u32,
    /// Capped output log.
    pub output_log: String,
    /// Capped error log.
    pub error_log: String,
}

impl ExecutionOutcome {
    /// Refuses a status an execution cannot end with (`Pending`, `Running`,
    /// `Skipped`); `None` is left to the store, which derives it.
    pub fn validate(&self) -> Result<()> {
        match self.status {
            Some(s) if !s.is_final() || s == ExecutionStatus::Skipped => Err(Error::invalid_field(
                "status",
                s.as_str(),
                "success, failed, timeout or cancelled",
            )),
            _ => Ok(()),
        }
    }

    /// An outcome with `status` and nothing counted.
    pub fn with_status(status: ExecutionStatus) -> Self {
        ExecutionOutcome {
            status: Some(status),
            ..Default::default()
        }
    }
}

/// Which executions to list, newest first.
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct ExecutionFilter {
    /// Only these statuses (empty = any).
    pub statuses: Vec<ExecutionStatus>,
    /// Only this schedule's.
    pub schedule_id: Option<ScheduleId>,
    /// At most this many (None = all).
    pub limit: Option<usize>,
}

impl ExecutionFilter {
    /// Every execution.
    pub fn all() -> Self {
        Self::default()
    }

    /// Only these statuses.
    #[must_use]
    pub fn with_statuses(mut self, statuses: impl IntoIterator<Item = ExecutionStatus>) -> Self {
        self.statuses = statuses.into_iter().collect();
        self
    }

    /// Only this schedule's.
    #[must_use]
    pub fn with_schedule(mut self, id: ScheduleId) -> Self {
        self.schedule_id = Some(id);
        self
    }

    /// At most `n`.
    #[must_use]
    pub fn with_limit(mut self, n: usize) -> Self {
        self.limit = Some(n);
        self
    }

    /// Whether `e` passes the filter (limit aside).
    pub fn matches(&self, e: &Execution) -> bool {
        (self.statuses.is_empty() || self.statuses.contains(&e.status))
            && self.schedule_id.is_none_or(|s| e.schedule_id == Some(s))
    }
}

/// A text log capped at a byte budget; past it, lines are dropped and one marker says
/// how many.
#[derive(Debug, Clone, Default)]
pub struct LogBuffer {
    text: String,
    cap: usize,
    dropped: usize,
}

impl LogBuffer {
    /// Default cap of an execution log: 64 KiB.
    pub const DEFAULT_CAP: usize = 64 * 1024;

    /// An empty log capped at `cap` bytes.
    pub fn new(cap: usize) -> Self {
        LogBuffer {
            text: String::new(),
            cap,
            dropped: 0,
        }
    }

    /// Appends one line, or counts it as dropped when the cap is reached.
    pub fn line(&mut self, line: impl AsRef<str>) {
        let line = line.as_ref();
        if self.dropped == 0 && self.text.len() + line.len() < self.cap {
            self.text.push_str(line);
            self.text.push('\n');
        } else {
            self.dropped += 1;
        }
    }

    /// Whether nothing was logged.
    pub fn is_empty(&self) -> bool {
        self.text.is_empty() && self.dropped == 0
    }

    /// The log, with `… [N more lines truncated]` when lines were dropped.
    pub fn finish(&self) -> String {
        if self.dropped == 0 {
            self.text.clone()
        } else {
            format!("{}… [{} more lines truncated]\n", self.text, self.dropped)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_buffer_marks_truncation() {
        let mut log = LogBuffer::new(20);
        log.line("0123456789");
        log.line("0123456789");
        log.line("x");
        assert_eq!(log.finish(), "0123456789\n… [2 more lines truncated]\n");
        let mut small = LogBuffer::new(100);
        small.line("ok");
        assert_eq!(small.finish(), "ok\n");
    }

    #[test]
    fn statuses_parse() {
        for s in ExecutionStatus::ALL {
            assert_eq!(s.as_str().parse::<ExecutionStatus>().unwrap(), s);
        }
        assert!(ExecutionStatus::Failed.is_final());
        assert!(!ExecutionStatus::Running.is_final());
        assert!(
            "done"
                .parse::<ExecutionStatus>()
                .unwrap_err()
                .message()
                .contains("status")
        );
    }
}
