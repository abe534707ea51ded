//! Executions: slot-unique inserts, the claim queue, leases, outcomes, reaping and
//! cancellation.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;
use storewatch_core::model::{
    AppId, Execution, ExecutionFilter, ExecutionId, ExecutionOutcome, ExecutionStatus, InstanceId,
    NewExecution, ScheduleId, Trigger,
};
use storewatch_core::store::Lease;
use storewatch_core::{Error, ErrorKind, Result};

use crate::SqliteStore;
use crate::codec;
use crate::error::map_sqlx;
use crate::store::commit;

/// Every column of `executions`, in the order [`decode`] reads them.
const COLUMNS: &str = "id, schedule_id, trigger, status, task, app_id, target_date, slot_at, \
    run_after, retry_of, attempt, max_retries, timeout_ns, skip_notifications, claimed_by, \
    lease_until, cancel_requested, created_at, started_at, completed_at, duration_ns, \
    success_count, error_count, alerts_generated, notifications_sent, output_log, error_log";

fn trigger_text(t: Trigger) -> &'static str {
    match t {
        Trigger::Scheduled => "scheduled",
        Trigger::Manual => "manual",
        Trigger::Retry => "retry",
    }
}

fn parse_trigger(s: &str) -> Result<Trigger> {
    match s {
        "scheduled" => Ok(Trigger::Scheduled),
        "manual" => Ok(Trigger::Manual),
        "retry" => Ok(Trigger::Retry),
        _ => Err(codec::corrupt(
            "executions.trigger",
            s,
            "scheduled, manual or retry",
        )),
    }
}

/// A row of `executions` back.
fn decode(row: &SqliteRow) -> Result<Execution> {
    let get_err = |e| map_sqlx(e, "reading an execution");
    let id: i64 = row.try_get(0).map_err(get_err)?;
    let ctx = |e: Error| e.context(format!("execution {id}"));
    let text = |i: usize| -> Result<&str> { row.try_get::<&str, _>(i).map_err(get_err) };
    let opt_text = |i: usize| -> Result<Option<&str>> { row.try_get(i).map_err(get_err) };
    let int = |i: usize| -> Result<i64> { row.try_get(i).map_err(get_err) };
    let opt_int = |i: usize| -> Result<Option<i64>> { row.try_get(i).map_err(get_err) };
    (|| {
        Ok(Execution {
            id: ExecutionId(id),
            schedule_id: opt_int(1)?.map(ScheduleId),
            trigger: parse_trigger(text(2)?)?,
            status: text(3)?.parse()?,
            task: text(4)?.parse()?,
            app_id: opt_int(5)?.map(AppId),
            target_date: codec::parse_day(int(6)?, "target_date")?,
            slot_at: codec::parse_opt_time(opt_text(7)?, "slot_at")?,
            run_after: codec::parse_time(text(8)?, "run_after")?,
            retry_of: opt_int(9)?.map(ExecutionId),
            attempt: codec::count(int(10)?, "attempt")?,
            max_retries: codec::count(int(11)?, "max_retries")?,
            timeout: codec::parse_duration(int(12)?, "timeout_ns")?,
            skip_notifications: int(13)? != 0,
            claimed_by: opt_text(14)?.map(InstanceId::from),
            lease_until: codec::parse_opt_time(opt_text(15)?, "lease_until")?,
            cancel_requested: int(16)? != 0,
            created_at: codec::parse_time(text(17)?, "created_at")?,
            started_at: codec::parse_opt_time(opt_text(18)?, "started_at")?,
            completed_at: codec::parse_opt_time(opt_text(19)?, "completed_at")?,
            duration: opt_int(20)?
                .map(|n| codec::parse_duration(n, "duration_ns"))
                .transpose()?,
            success_count: codec::count(int(21)?, "success_count")?,
            error_count: codec::count(int(22)?, "error_count")?,
            alerts_generated: codec::count(int(23)?, "alerts_generated")?,
            notifications_sent: codec::count(int(24)?, "notifications_sent")?,
            output_log: text(25)?.to_owned(),
            error_log: text(26)?.to_owned(),
        })
    })()
    .map_err(ctx)
}

/// `end − start`, or zero when the clock went back.
fn elapsed(start: Option<DateTime<Utc>>, end: DateTime<Utc>) -> Option<Duration> {
    start.map(|s| (end - s).to_std().unwrap_or_default())
}

fn opt_duration(d: Option<Duration>) -> Result<Option<i64>> {
    d.map(|d| codec::duration(d, "duration")).transpose()
}

impl SqliteStore {
    pub(crate) async fn insert_execution_row(
        &self,
        new: NewExecution,
    ) -> Result<Option<Execution>> {
        new.validate()?;
        let what = "inserting an execution";
        let now = self.clock_now();
        // A skipped slot is over the moment it is recorded.
        let completed = (new.status == ExecutionStatus::Skipped).then(|| codec::time(now));
        let sql = format!(
            "INSERT INTO executions (schedule_id, trigger, status, task, app_id, target_date, \
             slot_at, run_after, retry_of, attempt, max_retries, timeout_ns, skip_notifications, \
             created_at, completed_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) \
             ON CONFLICT DO NOTHING RETURNING {COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(new.schedule_id.map(|s| s.0))
            .bind(trigger_text(new.trigger))
            .bind(new.status.as_str())
            .bind(new.task.as_str())
            .bind(new.app_id.map(|a| a.0))
            .bind(codec::day(new.target_date))
            .bind(new.slot_at.map(codec::time))
            .bind(codec::time(new.run_after))
            .bind(new.retry_of.map(|r| r.0))
            .bind(i64::from(new.attempt))
            .bind(i64::from(new.max_retries))
            .bind(codec::duration(new.timeout, "timeout")?)
            .bind(new.skip_notifications)
            .bind(codec::time(now))
            .bind(completed)
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| map_sqlx(e, what))?;
        row.as_ref().map(decode).transpose()
    }

    pub(crate) async fn get_execution_row(&self, id: ExecutionId) -> Result<Execution> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM executions WHERE id = ?"))
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| map_sqlx(e, "reading an execution"))?
            .ok_or_else(|| Error::not_found("execution", id))?;
        decode(&row)
    }

    pub(crate) async fn list_execution_rows(
        &self,
        filter: &ExecutionFilter,
    ) -> Result<Vec<Execution>> {
        let mut sql = format!("SELECT {COLUMNS} FROM executions WHERE 1 = 1");
        if !filter.statuses.is_empty() {
            sql.push_str(" AND status IN (SELECT value FROM json_each(?))");
        }
        if filter.schedule_id.is_some() {
            sql.push_str(" AND schedule_id = ?");
        }
        sql.push_str(" ORDER BY id DESC");
        if filter.limit.is_some() {
            sql.push_str(" LIMIT ?");
        }
        let mut query = sqlx::query(&sql);
        if !filter.statuses.is_empty() {
            let statuses: Vec<&str> = filter.statuses.iter().map(|s| s.as_str()).collect();
            query = query.bind(
                serde_json::to_string(&statuses)
                    .map_err(|e| Error::internal(format!("cannot encode statuses: {e}")))?,
            );
        }
        if let Some(schedule) = filter.schedule_id {
            query = query.bind(schedule.0);
        }
        if let Some(limit) = filter.limit {
            query = query.bind(i64::try_from(limit).unwrap_or(i64::MAX));
        }
        let rows = query
            .fetch_all(&self.pool)
            .await
            .map_err(|e| map_sqlx(e, "listing executions"))?;
        rows.iter().map(decode).collect()
    }

    /// Claims in a `BEGIN IMMEDIATE` transaction: the write lock is held from the
    /// select to the update, so no other connection or process can pick the same row.
    pub(crate) async fn claim_execution_row(
        &self,
        only: Option<ExecutionId>,
        instance: &InstanceId,
        lease: Duration,
    ) -> Result<Option<Execution>> {
        let what = "claiming an execution";
        let mut tx = self.write_tx(what).await?;
        let now = self.clock_now();
        let until = codec::add(now, lease, "lease")?;
        let next: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM executions WHERE status = 'pending' AND run_after <= ? \
             AND (? IS NULL OR id = ?) ORDER BY run_after, id LIMIT 1",
        )
        .bind(codec::time(now))
        .bind(only.map(|id| id.0))
        .bind(only.map(|id| id.0))
        .fetch_optional(&mut *tx)
        .await
        .map_err(|e| map_sqlx(e, what))?;
        let Some(id) = next else {
            return Ok(None);
        };
        let row = sqlx::query(&format!(
            "UPDATE executions SET status = 'running', claimed_by = ?, lease_until = ?, \
             started_at = ? WHERE id = ? RETURNING {COLUMNS}"
        ))
        .bind(instance.0.as_str())
        .bind(codec::time(until))
        .bind(codec::time(now))
        .bind(id)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| map_sqlx(e, what))?;
        let claimed = decode(&row)?;
        commit(tx, what).await?;
        Ok(Some(claimed))
    }

    /// The execution `id` if it is running and held by `instance`, else the error
    /// saying why not.
    async fn held(
        tx: &mut sqlx::SqliteConnection,
        id: ExecutionId,
        instance: &InstanceId,
        what: &str,
    ) -> Result<Execution> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM executions WHERE id = ?"))
            .bind(id.0)
            .fetch_optional(&mut *tx)
            .await
            .map_err(|e| map_sqlx(e, what))?
            .ok_or_else(|| Error::not_found("execution", id))?;
        let exec = decode(&row)?;
        if exec.status != ExecutionStatus::Running {
            return Err(Error::new(
                ErrorKind::Conflict,
                format!("execution {id} is {}, not running", exec.status),
            ));
        }
        if exec.claimed_by.as_ref() != Some(instance) {
            return Err(Error::new(
                ErrorKind::Conflict,
                format!(
                    "execution {id} is held by instance {}, not {instance}",
                    exec.claimed_by.as_ref().map_or("(none)", |i| i.0.as_str())
                ),
            ));
        }
        Ok(exec)
    }

    pub(crate) async fn renew_lease_row(
        &self,
        id: ExecutionId,
        instance: &InstanceId,
        lease: Duration,
    ) -> Result<Lease> {
        let what = "renewing a lease";
        let mut tx = self.write_tx(what).await?;
        let exec = Self::held(&mut tx, id, instance, what).await?;
        let until = codec::add(self.clock_now(), lease, "lease")?;
        sqlx::query("UPDATE executions SET lease_until = ? WHERE id = ?")
            .bind(codec::time(until))
            .bind(id.0)
            .execute(&mut *tx)
            .await
            .map_err(|e| map_sqlx(e, what))?;
        commit(tx, what).await?;
        Ok(Lease {
            until,
            cancel_requested: exec.cancel_requested,
        })
    }

    pub(crate) async fn finish_execution_row(
        &self,
        id: ExecutionId,
        instance: &InstanceId,
        outcome: ExecutionOutcome,
    ) -> Result<Execution> {
        outcome.validate()?;
        let status = outcome.status.unwrap_or(if outcome.error_count > 0 {
            ExecutionStatus::Failed
        } else {
            ExecutionStatus::Success
        });
        let what = "recording an execution's outcome";
        let mut tx = self.write_tx(what).await?;
        let exec = Self::held(&mut tx, id, instance, what).await?;
        let now = self.clock_now();
        let row = sqlx::query(&format!(
            "UPDATE executions SET status = ?, completed_at = ?, duration_ns = ?, \
             success_count = ?, error_count = ?, alerts_generated = ?, notifications_sent = ?, \
             output_log = ?, error_log = ? WHERE id = ? RETURNING {COLUMNS}"
        ))
        .bind(status.as_str())
        .bind(codec::time(now))
        .bind(opt_duration(elapsed(exec.started_at, now))?)
        .bind(i64::from(outcome.success_count))
        .bind(i64::from(outcome.error_count))
        .bind(i64::from(outcome.alerts_generated))
        .bind(i64::from(outcome.notifications_sent))
        .bind(&outcome.output_log)
        .bind(&outcome.error_log)
        .bind(id.0)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| map_sqlx(e, what))?;
        let finished = decode(&row)?;
        commit(tx, what).await?;
        Ok(finished)
    }

    pub(crate) async fn reap_expired_rows(&self) -> Result<Vec<Execution>> {
        let what = "reaping expired leases";
        let mut tx = self.write_tx(what).await?;
        let now = self.clock_now();
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM executions WHERE status = 'running' AND lease_until <= ? \
             ORDER BY id"
        ))
        .bind(codec::time(now))
        .fetch_all(&mut *tx)
        .await
        .map_err(|e| map_sqlx(e, what))?;
        let mut reaped = Vec::with_capacity(rows.len());
        for row in &rows {
            let exec = decode(row)?;
            let mut error_log = exec.error_log.clone();
            if !error_log.is_empty() && !error_log.ends_with('\n') {
                error_log.push('\n');
            }
            error_log.push_str(&format!(
                "instance lost: the lease of instance {} expired at {}\n",
                exec.claimed_by.as_ref().map_or("(none)", |i| i.0.as_str()),
                exec.lease_until.map(codec::time).unwrap_or_default(),
            ));
            let row = sqlx::query(&format!(
                "UPDATE executions SET status = 'failed', completed_at = ?, duration_ns = ?, \
                 error_log = ? WHERE id = ? RETURNING {COLUMNS}"
            ))
            .bind(codec::time(now))
            .bind(opt_duration(elapsed(exec.started_at, now))?)
            .bind(error_log)
            .bind(exec.id.0)
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| map_sqlx(e, what))?;
            reaped.push(decode(&row)?);
        }
        commit(tx, what).await?;
        Ok(reaped)
    }

    pub(crate) async fn request_cancel_row(&self, id: ExecutionId) -> Result<Execution> {
        let what = "cancelling an execution";
        let mut tx = self.write_tx(what).await?;
        let status: Option<String> =
            sqlx::query_scalar("SELECT status FROM executions WHERE id = ?")
                .bind(id.0)
                .fetch_optional(&mut *tx)
                .await
                .map_err(|e| map_sqlx(e, what))?;
        let status: ExecutionStatus = status
            .ok_or_else(|| Error::not_found("execution", id))?
            .parse()?;
        let change = match status {
            ExecutionStatus::Pending => Some(
                sqlx::query(
                    "UPDATE executions SET status = 'cancelled', completed_at = ? WHERE id = ?",
                )
                .bind(codec::time(self.clock_now())),
            ),
            ExecutionStatus::Running => Some(sqlx::query(
                "UPDATE executions SET cancel_requested = 1 WHERE id = ?",
            )),
            // An ended execution stays as it ended.
            _ => None,
        };
        if let Some(change) = change {
            change
                .bind(id.0)
                .execute(&mut *tx)
                .await
                .map_err(|e| map_sqlx(e, what))?;
        }
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM executions WHERE id = ?"))
            .bind(id.0)
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| map_sqlx(e, what))?;
        let exec = decode(&row)?;
        commit(tx, what).await?;
        Ok(exec)
    }
}
