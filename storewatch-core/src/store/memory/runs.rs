//! [`Runs`]: executions with their slot index, the pending queue and the leases.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::model::{
    Execution, ExecutionFilter, ExecutionId, ExecutionOutcome, ExecutionStatus, InstanceId,
    NewExecution, ScheduleId,
};
use crate::store::{Lease, RunCounts};
use crate::{Error, ErrorKind, Result};

/// What a reaped execution's error log says.
const INSTANCE_LOST: &str = "instance lost";

/// Every execution, plus the indexes that make slot checks, claims and reaping cheap.
#[derive(Debug, Default)]
pub(super) struct Runs {
    executions: BTreeMap<ExecutionId, Execution>,
    last_id: i64,
    /// Every (schedule, slot) pair ever inserted.
    slots: HashSet<(ScheduleId, DateTime<Utc>)>,
    /// Pending executions ordered by (run_after, id): the next claim is the first.
    pending: BTreeSet<(DateTime<Utc>, ExecutionId)>,
    /// Running executions, the only ones whose leases can expire.
    running: BTreeSet<ExecutionId>,
}

impl Runs {
    /// Executions per task and status, and each schedule's last success.
    pub(super) fn counts(&self) -> RunCounts {
        let mut counts = RunCounts::default();
        for e in self.executions.values() {
            *counts.executions.entry((e.task, e.status)).or_default() += 1;
            if let (ExecutionStatus::Success, Some(schedule), Some(done)) =
                (e.status, e.schedule_id, e.completed_at)
            {
                let last = counts.last_success.entry(schedule).or_insert(done);
                *last = (*last).max(done);
            }
        }
        counts
    }

    /// Inserts `new`, or returns `None` when its (schedule, slot) pair exists.
    pub(super) fn insert(
        &mut self,
        new: NewExecution,
        now: DateTime<Utc>,
    ) -> Result<Option<Execution>> {
        new.validate()?;
        if let (Some(schedule), Some(slot)) = (new.schedule_id, new.slot_at)
            && !self.slots.insert((schedule, slot))
        {
            return Ok(None);
        }
        self.last_id += 1;
        let id = ExecutionId(self.last_id);
        let skipped = new.status == ExecutionStatus::Skipped;
        let execution = Execution {
            id,
            schedule_id: new.schedule_id,
            trigger: new.trigger,
            status: new.status,
            task: new.task,
            app_id: new.app_id,
            target_date: new.target_date,
            slot_at: new.slot_at,
            run_after: new.run_after,
            retry_of: new.retry_of,
            attempt: new.attempt,
            max_retries: new.max_retries,
            timeout: new.timeout,
            skip_notifications: new.skip_notifications,
            claimed_by: None,
            lease_until: None,
            cancel_requested: false,
            created_at: now,
            started_at: None,
            completed_at: skipped.then_some(now),
            duration: None,
            success_count: 0,
            error_count: 0,
            alerts_generated: 0,
            notifications_sent: 0,
            output_log: String::new(),
            error_log: String::new(),
        };
        if !skipped {
            self.pending.insert((execution.run_after, id));
        }
        self.executions.insert(id, execution.clone());
        Ok(Some(execution))
    }

    /// One execution.
    pub(super) fn get(&self, id: ExecutionId) -> Result<&Execution> {
        self.executions
            .get(&id)
            .ok_or_else(|| Error::not_found("execution", id))
    }

    /// Executions passing `filter`, newest (highest id) first.
    pub(super) fn list(&self, filter: &ExecutionFilter) -> Vec<Execution> {
        self.executions
            .values()
            .rev()
            .filter(|e| filter.matches(e))
            .take(filter.limit.unwrap_or(usize::MAX))
            .cloned()
            .collect()
    }

    /// Hands the oldest due pending execution (or `only` that one) to `instance`.
    pub(super) fn claim(
        &mut self,
        only: Option<ExecutionId>,
        instance: &InstanceId,
        lease: Duration,
        now: DateTime<Utc>,
    ) -> Result<Option<Execution>> {
        let lease_until = add(now, lease)?;
        let next = match only {
            None => self.pending.first().copied(),
            Some(id) => {
                let e = self.get(id)?;
                (e.status == ExecutionStatus::Pending).then_some((e.run_after, id))
            }
        };
        let Some((run_after, id)) = next else {
            return Ok(None);
        };
        if run_after > now {
            return Ok(None);
        }
        self.pending.remove(&(run_after, id));
        self.running.insert(id);
        let e = self.get_mut(id)?;
        e.status = ExecutionStatus::Running;
        e.claimed_by = Some(instance.clone());
        e.lease_until = Some(lease_until);
        e.started_at = Some(now);
        Ok(Some(e.clone()))
    }

    /// Extends the lease `instance` holds.
    pub(super) fn renew(
        &mut self,
        id: ExecutionId,
        instance: &InstanceId,
        lease: Duration,
        now: DateTime<Utc>,
    ) -> Result<Lease> {
        let until = add(now, lease)?;
        let e = self.held_by(id, instance)?;
        e.lease_until = Some(until);
        Ok(Lease {
            until,
            cancel_requested: e.cancel_requested,
        })
    }

    /// Records the end of an execution `instance` holds.
    pub(super) fn finish(
        &mut self,
        id: ExecutionId,
        instance: &InstanceId,
        outcome: ExecutionOutcome,
        now: DateTime<Utc>,
    ) -> Result<Execution> {
        outcome.validate()?;
        let status = outcome.status.ok_or_else(|| {
            Error::invalid_field("status", "none", "success, failed, timeout or cancelled")
        })?;
        let e = self.held_by(id, instance)?;
        end(e, status, now);
        e.success_count = outcome.success_count;
        e.error_count = outcome.error_count;
        e.alerts_generated = outcome.alerts_generated;
        e.notifications_sent = outcome.notifications_sent;
        e.output_log = outcome.output_log;
        e.error_log = outcome.error_log;
        let done = e.clone();
        self.running.remove(&id);
        Ok(done)
    }

    /// Fails every running execution whose lease ended before `now`.
    pub(super) fn reap(&mut self, now: DateTime<Utc>) -> Vec<Execution> {
        let expired: Vec<ExecutionId> = self
            .running
            .iter()
            .filter(|id| {
                self.executions
                    .get(id)
                    .and_then(|e| e.lease_until)
                    .is_some_and(|until| until < now)
            })
            .copied()
            .collect();
        let mut reaped = Vec::with_capacity(expired.len());
        for id in expired {
            self.running.remove(&id);
            if let Some(e) = self.executions.get_mut(&id) {
                end(e, ExecutionStatus::Failed, now);
                if !e.error_log.is_empty() && !e.error_log.ends_with('\n') {
                    e.error_log.push('\n');
                }
                e.error_log.push_str(INSTANCE_LOST);
                reaped.push(e.clone());
            }
        }
        reaped
    }

    /// Cancels a pending execution, or flags a running one.
    pub(super) fn request_cancel(
        &mut self,
        id: ExecutionId,
        now: DateTime<Utc>,
    ) -> Result<Execution> {
        let e = self.get_mut(id)?;
        match e.status {
            ExecutionStatus::Pending => {
                end(e, ExecutionStatus::Cancelled, now);
                let key = (e.run_after, id);
                let done = e.clone();
                self.pending.remove(&key);
                Ok(done)
            }
            ExecutionStatus::Running => {
                e.cancel_requested = true;
                Ok(e.clone())
            }
            _ => Ok(e.clone()),
        }
    }

    fn get_mut(&mut self, id: ExecutionId) -> Result<&mut Execution> {
        self.executions
            .get_mut(&id)
            .ok_or_else(|| Error::not_found("execution", id))
    }

    /// The execution, if it is running under `instance`'s lease.
    fn held_by(&mut self, id: ExecutionId, instance: &InstanceId) -> Result<&mut Execution> {
        let e = self.get_mut(id)?;
        if e.status != ExecutionStatus::Running {
            return Err(Error::new(
                ErrorKind::Conflict,
                format!("execution {id} is {}, not running", e.status),
            ));
        }
        if e.claimed_by.as_ref() != Some(instance) {
            let holder = e
                .claimed_by
                .as_ref()
                .map_or_else(|| "nobody".to_owned(), ToString::to_string);
            return Err(Error::new(
                ErrorKind::Conflict,
                format!("execution {id} is held by {holder}, not {instance}"),
            ));
        }
        Ok(e)
    }
}

/// Moves `e` to the final `status` at `now`.
fn end(e: &mut Execution, status: ExecutionStatus, now: DateTime<Utc>) {
    e.status = status;
    e.completed_at = Some(now);
    e.duration = e
        .started_at
        .map(|started| (now - started).to_std().unwrap_or_default());
}

/// `now + d`, refusing a lease too long to represent.
fn add(now: DateTime<Utc>, d: Duration) -> Result<DateTime<Utc>> {
    chrono::Duration::from_std(d)
        .ok()
        .and_then(|d| now.checked_add_signed(d))
        .ok_or_else(|| Error::invalid_field("lease", d, "a lease of a sensible length"))
}
