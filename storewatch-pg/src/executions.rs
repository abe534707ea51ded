//! Executions: slot inserts, the claim queue, leases in database time, reaping and
//! cancelling.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::postgres::PgRow;
use storewatch_core::model::{
    AppId, Execution, ExecutionFilter, ExecutionId, ExecutionOutcome, ExecutionStatus, InstanceId,
    NewExecution, ScheduleId,
};
use storewatch_core::store::Lease;
use storewatch_core::{Error, ErrorKind, Result};

use crate::PostgresStore;
use crate::error::map_sqlx_error;
use crate::text::{from_text, to_text, to_u32};

fn decode(row: &PgRow) -> Result<Execution> {
    let get_err = map_sqlx_error;
    let started_at: Option<DateTime<Utc>> = row.try_get("started_at").map_err(get_err)?;
    let completed_at: Option<DateTime<Utc>> = row.try_get("completed_at").map_err(get_err)?;
    let duration = match (started_at, completed_at) {
        (Some(s), Some(c)) => (c - s).to_std().ok(),
        _ => None,
    };
    let timeout_ms: i64 = row.try_get("timeout_ms").map_err(get_err)?;
    Ok(Execution {
        id: ExecutionId(row.try_get("id").map_err(get_err)?),
        schedule_id: row
            .try_get::<Option<i64>, _>("schedule_id")
            .map_err(get_err)?
            .map(ScheduleId),
        trigger: from_text(
            "trigger",
            &row.try_get::<String, _>("trigger").map_err(get_err)?,
        )?,
        status: from_text(
            "status",
            &row.try_get::<String, _>("status").map_err(get_err)?,
        )?,
        task: from_text("task", &row.try_get::<String, _>("task").map_err(get_err)?)?,
        app_id: row
            .try_get::<Option<i64>, _>("app_id")
            .map_err(get_err)?
            .map(AppId),
        target_date: row.try_get("target_date").map_err(get_err)?,
        slot_at: row.try_get("slot_at").map_err(get_err)?,
        run_after: row.try_get("run_after").map_err(get_err)?,
        retry_of: row
            .try_get::<Option<i64>, _>("retry_of")
            .map_err(get_err)?
            .map(ExecutionId),
        attempt: to_u32("attempt", row.try_get("attempt").map_err(get_err)?)?,
        max_retries: to_u32("max_retries", row.try_get("max_retries").map_err(get_err)?)?,
        timeout: Duration::from_millis(u64::try_from(timeout_ms).unwrap_or_default()),
        skip_notifications: row.try_get("skip_notifications").map_err(get_err)?,
        claimed_by: row
            .try_get::<Option<String>, _>("claimed_by")
            .map_err(get_err)?
            .map(InstanceId),
        lease_until: row.try_get("lease_until").map_err(get_err)?,
        cancel_requested: row.try_get("cancel_requested").map_err(get_err)?,
        created_at: row.try_get("created_at").map_err(get_err)?,
        started_at,
        completed_at,
        duration,
        success_count: to_u32(
            "success_count",
            row.try_get("success_count").map_err(get_err)?,
        )?,
        error_count: to_u32("error_count", row.try_get("error_count").map_err(get_err)?)?,
        alerts_generated: to_u32(
            "alerts_generated",
            row.try_get("alerts_generated").map_err(get_err)?,
        )?,
        notifications_sent: to_u32(
            "notifications_sent",
            row.try_get("notifications_sent").map_err(get_err)?,
        )?,
        output_log: row.try_get("output_log").map_err(get_err)?,
        error_log: row.try_get("error_log").map_err(get_err)?,
    })
}

fn decode_all(rows: &[PgRow]) -> Result<Vec<Execution>> {
    rows.iter().map(decode).collect()
}

fn millis(what: &str, d: Duration) -> Result<i64> {
    i64::try_from(d.as_millis())
        .map_err(|_| Error::invalid_field(what, d.as_secs(), "a duration below 292 million years"))
}

impl PostgresStore {
    pub(crate) async fn db_now(&self) -> Result<DateTime<Utc>> {
        sqlx::query_scalar("SELECT now()")
            .fetch_one(&self.pool)
            .await
            .map_err(map_sqlx_error)
    }

    pub(crate) async fn insert_execution_row(
        &self,
        new: NewExecution,
    ) -> Result<Option<Execution>> {
        new.validate()?;
        // A skipped slot is over the moment it is recorded.
        let row = sqlx::query(
            "INSERT INTO executions (schedule_id, trigger, status, task, app_id, target_date,
                 slot_at, run_after, retry_of, attempt, max_retries, timeout_ms,
                 skip_notifications, completed_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13,
                 CASE WHEN $3 = 'skipped' THEN now() END)
             ON CONFLICT (schedule_id, slot_at) DO NOTHING
             RETURNING *",
        )
        .bind(new.schedule_id.map(|s| s.0))
        .bind(to_text(&new.trigger))
        .bind(new.status.as_str())
        .bind(to_text(&new.task))
        .bind(new.app_id.map(|a| a.0))
        .bind(new.target_date)
        .bind(new.slot_at)
        .bind(new.run_after)
        .bind(new.retry_of.map(|r| r.0))
        .bind(i64::from(new.attempt))
        .bind(i64::from(new.max_retries))
        .bind(millis("timeout", new.timeout)?)
        .bind(new.skip_notifications)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_sqlx_error)?;
        row.as_ref().map(decode).transpose()
    }

    pub(crate) async fn get_execution_row(&self, id: ExecutionId) -> Result<Execution> {
        let row = sqlx::query("SELECT * FROM executions WHERE id = $1")
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(map_sqlx_error)?;
        match row {
            Some(row) => decode(&row),
            None => Err(Error::not_found("execution", id)),
        }
    }

    pub(crate) async fn list_execution_rows(
        &self,
        filter: &ExecutionFilter,
    ) -> Result<Vec<Execution>> {
        let statuses: Vec<&str> = filter.statuses.iter().map(|s| s.as_str()).collect();
        let limit = filter.limit.map(|n| i64::try_from(n).unwrap_or(i64::MAX));
        let rows = sqlx::query(
            "SELECT * FROM executions
             WHERE (cardinality($1::text[]) = 0 OR status = ANY($1))
               AND ($2::int8 IS NULL OR schedule_id = $2)
             ORDER BY id DESC
             LIMIT $3",
        )
        .bind(&statuses)
        .bind(filter.schedule_id.map(|s| s.0))
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .map_err(map_sqlx_error)?;
        decode_all(&rows)
    }

    pub(crate) async fn claim_execution_row(
        &self,
        only: Option<ExecutionId>,
        instance: &InstanceId,
        lease: Duration,
    ) -> Result<Option<Execution>> {
        // SKIP LOCKED: a row another claimer is taking is passed over, never waited
        // for, so concurrent claimers each get a different execution.
        let row = sqlx::query(
            "UPDATE executions
             SET status = 'running', claimed_by = $1, started_at = now(),
                 lease_until = now() + make_interval(secs => $2)
             WHERE id = (
                 SELECT id FROM executions
                 WHERE status = 'pending' AND run_after <= now()
                   AND ($3::bigint IS NULL OR id = $3)
                 ORDER BY run_after, id
                 LIMIT 1
                 FOR UPDATE SKIP LOCKED)
             RETURNING *",
        )
        .bind(&instance.0)
        .bind(lease.as_secs_f64())
        .bind(only.map(|id| id.0))
        .fetch_optional(&self.pool)
        .await
        .map_err(map_sqlx_error)?;
        row.as_ref().map(decode).transpose()
    }

    /// Why a lease-holder's call on `id` matched no row: missing, or not (any more)
    /// running under `instance`.
    async fn not_held(&self, id: ExecutionId, instance: &InstanceId, doing: &str) -> Error {
        match self.get_execution_row(id).await {
            Err(e) => e,
            Ok(e) if e.status != ExecutionStatus::Running => Error::new(
                ErrorKind::Conflict,
                format!(
                    "cannot {doing} execution {id}: it is {}, no longer running",
                    e.status
                ),
            ),
            Ok(e) => Error::new(
                ErrorKind::Conflict,
                format!(
                    "cannot {doing} execution {id} for instance {instance}: it is held by {}",
                    e.claimed_by.map(|c| c.0).unwrap_or_else(|| "nobody".into())
                ),
            ),
        }
    }

    pub(crate) async fn renew_lease_row(
        &self,
        id: ExecutionId,
        instance: &InstanceId,
        lease: Duration,
    ) -> Result<Lease> {
        let row: Option<(DateTime<Utc>, bool)> = sqlx::query_as(
            "UPDATE executions SET lease_until = now() + make_interval(secs => $3)
             WHERE id = $1 AND status = 'running' AND claimed_by = $2
             RETURNING lease_until, cancel_requested",
        )
        .bind(id.0)
        .bind(&instance.0)
        .bind(lease.as_secs_f64())
        .fetch_optional(&self.pool)
        .await
        .map_err(map_sqlx_error)?;
        match row {
            Some((until, cancel_requested)) => Ok(Lease {
                until,
                cancel_requested,
            }),
            None => Err(self.not_held(id, instance, "renew the lease of").await),
        }
    }

    pub(crate) async fn finish_execution_row(
        &self,
        id: ExecutionId,
        instance: &InstanceId,
        outcome: ExecutionOutcome,
    ) -> Result<Execution> {
        outcome.validate()?;
        let status = outcome.status;
        // Without a status, the counts and a pending cancel decide it.
        let row = sqlx::query(
            "UPDATE executions SET
                 status = COALESCE($3, CASE WHEN cancel_requested THEN 'cancelled'
                                            WHEN $5 > 0 THEN 'failed'
                                            ELSE 'success' END),
                 completed_at = now(), lease_until = NULL,
                 success_count = $4, error_count = $5, alerts_generated = $6,
                 notifications_sent = $7, output_log = $8, error_log = $9
             WHERE id = $1 AND status = 'running' AND claimed_by = $2
             RETURNING *",
        )
        .bind(id.0)
        .bind(&instance.0)
        .bind(status.map(|s| s.as_str()))
        .bind(i64::from(outcome.success_count))
        .bind(i64::from(outcome.error_count))
        .bind(i64::from(outcome.alerts_generated))
        .bind(i64::from(outcome.notifications_sent))
        .bind(&outcome.output_log)
        .bind(&outcome.error_log)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_sqlx_error)?;
        match row {
            Some(row) => decode(&row),
            None => Err(self.not_held(id, instance, "finish").await),
        }
    }

    pub(crate) async fn reap_expired_rows(&self) -> Result<Vec<Execution>> {
        // SKIP LOCKED again: two reapers never both return the same execution.
        let rows = sqlx::query(
            "UPDATE executions SET
                 status = 'failed', completed_at = now(),
                 error_log = error_log
                     || CASE WHEN error_log = '' THEN '' ELSE E'\\n' END
                     || 'instance lost: ' || COALESCE(claimed_by, 'unknown instance')
                     || ' stopped renewing its lease, which expired at '
                     || to_char(lease_until AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')
             WHERE id IN (
                 SELECT id FROM executions
                 WHERE status = 'running' AND lease_until < now()
                 FOR UPDATE SKIP LOCKED)
             RETURNING *",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(map_sqlx_error)?;
        let mut reaped = decode_all(&rows)?;
        reaped.sort_by_key(|e| e.id);
        Ok(reaped)
    }

    pub(crate) async fn request_cancel_row(&self, id: ExecutionId) -> Result<Execution> {
        let row = sqlx::query(
            "UPDATE executions SET
                 status = CASE WHEN status = 'pending' THEN 'cancelled' ELSE status END,
                 completed_at = CASE WHEN status = 'pending' THEN now() ELSE completed_at END,
                 cancel_requested = (status = 'running') OR cancel_requested
             WHERE id = $1 AND status IN ('pending', 'running')
             RETURNING *",
        )
        .bind(id.0)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_sqlx_error)?;
        match row {
            Some(row) => decode(&row),
            None => self.get_execution_row(id).await,
        }
    }
}
