//! [`RunStore`] for [`SqliteStore`]: executions (see `executions.rs`), alert states,
//! deliveries and scheduler instances.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sqlx::Row;
use sqlx::sqlite::SqliteRow;
use storewatch_core::model::{
    AlertState, AlertStates, AppId, ChannelId, DeliveryId, DeliveryRecord, DeliveryStatus,
    Execution, ExecutionFilter, ExecutionId, ExecutionOutcome, Fingerprint, InstanceId,
    InstanceInfo, Metric, NewExecution, RuleId, ScheduleId,
};
use storewatch_core::store::{Lease, RunCounts, RunStore};
use storewatch_core::{Error, Result};

use crate::SqliteStore;
use crate::codec;
use crate::error::map_sqlx;
use crate::store::commit;

/// A serde unit enum (alert status, severity, delivery status) as its text.
fn enum_text<T: Serialize>(value: &T) -> Result<String> {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => Ok(s),
        _ => Err(Error::internal("expected an enum that serializes as text")),
    }
}

/// Stored enum text back.
fn parse_enum<T: DeserializeOwned>(s: &str, column: &str) -> Result<T> {
    serde_json::from_value(serde_json::Value::String(s.to_owned()))
        .map_err(|e| codec::corrupt(column, s, &e.to_string()))
}

const STATE_COLUMNS: &str = "rule_id, app_id, metric, segment, status, breach_days, last_day, \
    since, last_notified, last_severity";

fn decode_state(row: &SqliteRow) -> Result<AlertState> {
    let err = |e| map_sqlx(e, "reading alert states");
    let metric: &str = row.try_get(2).map_err(err)?;
    let last_day: Option<i64> = row.try_get(6).map_err(err)?;
    let severity: Option<&str> = row.try_get(9).map_err(err)?;
    Ok(AlertState {
        fingerprint: Fingerprint {
            rule_id: RuleId(row.try_get(0).map_err(err)?),
            app_id: AppId(row.try_get(1).map_err(err)?),
            metric: Metric::new(metric)?,
            segment: row.try_get(3).map_err(err)?,
        },
        status: parse_enum(row.try_get(4).map_err(err)?, "alert_states.status")?,
        breach_days: codec::count(row.try_get(5).map_err(err)?, "breach_days")?,
        last_day: last_day
            .map(|d| codec::parse_day(d, "last_day"))
            .transpose()?,
        since: codec::parse_time(row.try_get(7).map_err(err)?, "since")?,
        last_notified: codec::parse_opt_time(row.try_get(8).map_err(err)?, "last_notified")?,
        last_severity: severity
            .map(|s| parse_enum(s, "alert_states.last_severity"))
            .transpose()?,
    })
}

const DELIVERY_COLUMNS: &str =
    "id, execution_id, channel_id, message_key, status, attempts, error, created_at, updated_at";

fn decode_delivery(row: &SqliteRow) -> Result<DeliveryRecord> {
    let err = |e| map_sqlx(e, "reading deliveries");
    Ok(DeliveryRecord {
        id: DeliveryId(row.try_get(0).map_err(err)?),
        execution_id: ExecutionId(row.try_get(1).map_err(err)?),
        channel_id: ChannelId(row.try_get(2).map_err(err)?),
        message_key: row.try_get(3).map_err(err)?,
        status: parse_enum(row.try_get(4).map_err(err)?, "deliveries.status")?,
        attempts: codec::count(row.try_get(5).map_err(err)?, "attempts")?,
        error: row.try_get(6).map_err(err)?,
        created_at: codec::parse_time(row.try_get(7).map_err(err)?, "created_at")?,
        updated_at: codec::parse_time(row.try_get(8).map_err(err)?, "updated_at")?,
    })
}

fn decode_instance(row: &SqliteRow) -> Result<InstanceInfo> {
    let err = |e| map_sqlx(e, "reading instances");
    let pid: i64 = row.try_get(2).map_err(err)?;
    Ok(InstanceInfo {
        id: InstanceId(row.try_get(0).map_err(err)?),
        host: row.try_get(1).map_err(err)?,
        pid: u32::try_from(pid).map_err(|_| codec::corrupt("instances.pid", pid, "a pid"))?,
        version: row.try_get(3).map_err(err)?,
        started_at: codec::parse_time(row.try_get(4).map_err(err)?, "started_at")?,
        last_seen: codec::parse_time(row.try_get(5).map_err(err)?, "last_seen")?,
    })
}

impl SqliteStore {
    /// The chain an execution's deliveries are recorded under: its first attempt. An
    /// id the store does not know is taken as a chain id as it is.
    async fn chain_of(
        conn: &mut sqlx::SqliteConnection,
        execution: ExecutionId,
        what: &str,
    ) -> Result<ExecutionId> {
        let retry_of: Option<Option<i64>> =
            sqlx::query_scalar("SELECT retry_of FROM executions WHERE id = ?")
                .bind(execution.0)
                .fetch_optional(conn)
                .await
                .map_err(|e| map_sqlx(e, what))?;
        Ok(retry_of.flatten().map_or(execution, ExecutionId))
    }
}

#[async_trait]
impl RunStore for SqliteStore {
    async fn now(&self) -> Result<DateTime<Utc>> {
        Ok(self.clock_now())
    }

    async fn insert_execution(&self, new: NewExecution) -> Result<Option<Execution>> {
        self.insert_execution_row(new).await
    }
    async fn get_execution(&self, id: ExecutionId) -> Result<Execution> {
        self.get_execution_row(id).await
    }
    async fn list_executions(&self, filter: &ExecutionFilter) -> Result<Vec<Execution>> {
        self.list_execution_rows(filter).await
    }
    async fn claim_execution(
        &self,
        instance: &InstanceId,
        lease: Duration,
    ) -> Result<Option<Execution>> {
        self.claim_execution_row(None, instance, lease).await
    }
    async fn claim_execution_id(
        &self,
        id: ExecutionId,
        instance: &InstanceId,
        lease: Duration,
    ) -> Result<Option<Execution>> {
        let claimed = self.claim_execution_row(Some(id), instance, lease).await?;
        if claimed.is_none() {
            // Distinguish "not claimable now" from "no such execution".
            self.get_execution_row(id).await?;
        }
        Ok(claimed)
    }
    async fn renew_lease(
        &self,
        id: ExecutionId,
        instance: &InstanceId,
        lease: Duration,
    ) -> Result<Lease> {
        self.renew_lease_row(id, instance, lease).await
    }
    async fn finish_execution(
        &self,
        id: ExecutionId,
        instance: &InstanceId,
        outcome: ExecutionOutcome,
    ) -> Result<Execution> {
        self.finish_execution_row(id, instance, outcome).await
    }
    async fn reap_expired(&self) -> Result<Vec<Execution>> {
        self.reap_expired_rows().await
    }
    async fn request_cancel(&self, id: ExecutionId) -> Result<Execution> {
        self.request_cancel_row(id).await
    }

    async fn alert_states(&self) -> Result<AlertStates> {
        let rows = sqlx::query(&format!("SELECT {STATE_COLUMNS} FROM alert_states"))
            .fetch_all(&self.pool)
            .await
            .map_err(|e| map_sqlx(e, "reading alert states"))?;
        rows.iter()
            .map(|row| decode_state(row).map(|s| (s.fingerprint.clone(), s)))
            .collect()
    }

    async fn save_alert_states(&self, states: &[AlertState]) -> Result<()> {
        if states.is_empty() {
            return Ok(());
        }
        let what = format!("saving {} alert states", states.len());
        let sql = format!(
            "INSERT INTO alert_states ({STATE_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?) \
             ON CONFLICT (rule_id, app_id, metric, segment) DO UPDATE SET \
             status = excluded.status, breach_days = excluded.breach_days, \
             last_day = excluded.last_day, since = excluded.since, \
             last_notified = excluded.last_notified, last_severity = excluded.last_severity"
        );
        let mut tx = self.write_tx(&what).await?;
        for state in states {
            let fp = &state.fingerprint;
            sqlx::query(&sql)
                .bind(fp.rule_id.0)
                .bind(fp.app_id.0)
                .bind(fp.metric.as_str())
                .bind(fp.segment.as_str())
                .bind(enum_text(&state.status)?)
                .bind(i64::from(state.breach_days))
                .bind(state.last_day.map(codec::day))
                .bind(codec::time(state.since))
                .bind(state.last_notified.map(codec::time))
                .bind(state.last_severity.as_ref().map(enum_text).transpose()?)
                .execute(&mut *tx)
                .await
                .map_err(|e| map_sqlx(e, &what))?;
        }
        commit(tx, &what).await
    }

    async fn start_delivery(
        &self,
        execution: ExecutionId,
        channel: ChannelId,
        message_key: &str,
    ) -> Result<DeliveryRecord> {
        if message_key.is_empty() {
            return Err(Error::invalid_field(
                "message_key",
                message_key,
                "a non-empty key such as report:7:2026-03-01",
            ));
        }
        let what = format!("recording delivery {message_key}");
        let mut tx = self.write_tx(&what).await?;
        let chain = Self::chain_of(&mut tx, execution, &what).await?;
        let now = codec::time(self.clock_now());
        let existing = sqlx::query(&format!(
            "SELECT {DELIVERY_COLUMNS} FROM deliveries \
             WHERE execution_id = ? AND channel_id = ? AND message_key = ?"
        ))
        .bind(chain.0)
        .bind(channel.0)
        .bind(message_key)
        .fetch_optional(&mut *tx)
        .await
        .map_err(|e| map_sqlx(e, &what))?
        .map(|row| decode_delivery(&row))
        .transpose()?;
        let record = match existing {
            Some(sent) if sent.status == DeliveryStatus::Sent => sent,
            Some(again) => {
                let row = sqlx::query(&format!(
                    "UPDATE deliveries SET status = 'pending', attempts = attempts + 1, \
                     error = NULL, updated_at = ? WHERE id = ? RETURNING {DELIVERY_COLUMNS}"
                ))
                .bind(&now)
                .bind(again.id.0)
                .fetch_one(&mut *tx)
                .await
                .map_err(|e| map_sqlx(e, &what))?;
                decode_delivery(&row)?
            }
            None => {
                let row = sqlx::query(&format!(
                    "INSERT INTO deliveries (execution_id, channel_id, message_key, status, \
                     attempts, created_at, updated_at) VALUES (?, ?, ?, 'pending', 1, ?, ?) \
                     RETURNING {DELIVERY_COLUMNS}"
                ))
                .bind(chain.0)
                .bind(channel.0)
                .bind(message_key)
                .bind(&now)
                .bind(&now)
                .fetch_one(&mut *tx)
                .await
                .map_err(|e| map_sqlx(e, &what))?;
                decode_delivery(&row)?
            }
        };
        commit(tx, &what).await?;
        Ok(record)
    }

    async fn finish_delivery(
        &self,
        id: DeliveryId,
        status: DeliveryStatus,
        error: Option<String>,
    ) -> Result<DeliveryRecord> {
        if status == DeliveryStatus::Pending {
            return Err(Error::invalid_field("status", "pending", "sent or failed"));
        }
        let what = format!("finishing delivery {id}");
        let row = sqlx::query(&format!(
            "UPDATE deliveries SET status = ?, error = ?, updated_at = ? WHERE id = ? \
             RETURNING {DELIVERY_COLUMNS}"
        ))
        .bind(enum_text(&status)?)
        .bind(error)
        .bind(codec::time(self.clock_now()))
        .bind(id.0)
        .fetch_optional(&self.pool)
        .await
        .map_err(|e| map_sqlx(e, &what))?
        .ok_or_else(|| Error::not_found("delivery", id))?;
        decode_delivery(&row)
    }

    async fn list_deliveries(&self, execution: ExecutionId) -> Result<Vec<DeliveryRecord>> {
        let what = "listing deliveries";
        let mut tx = self.read_tx(what).await?;
        let chain = Self::chain_of(&mut tx, execution, what).await?;
        let rows = sqlx::query(&format!(
            "SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE execution_id = ? ORDER BY id"
        ))
        .bind(chain.0)
        .fetch_all(&mut *tx)
        .await
        .map_err(|e| map_sqlx(e, what))?;
        tx.rollback().await.map_err(|e| map_sqlx(e, what))?;
        rows.iter().map(decode_delivery).collect()
    }

    async fn register_instance(&self, info: InstanceInfo) -> Result<()> {
        sqlx::query(
            "INSERT INTO instances (id, host, pid, version, started_at, last_seen) \
             VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET host = excluded.host, \
             pid = excluded.pid, version = excluded.version, started_at = excluded.started_at, \
             last_seen = excluded.last_seen",
        )
        .bind(info.id.0.as_str())
        .bind(&info.host)
        .bind(i64::from(info.pid))
        .bind(&info.version)
        .bind(codec::time(info.started_at))
        .bind(codec::time(info.last_seen))
        .execute(&self.pool)
        .await
        .map_err(|e| map_sqlx(e, &format!("registering instance {}", info.id)))?;
        Ok(())
    }

    async fn heartbeat_instance(&self, id: &InstanceId) -> Result<()> {
        let done = sqlx::query("UPDATE instances SET last_seen = ? WHERE id = ?")
            .bind(codec::time(self.clock_now()))
            .bind(id.0.as_str())
            .execute(&self.pool)
            .await
            .map_err(|e| map_sqlx(e, &format!("heartbeat of instance {id}")))?;
        if done.rows_affected() == 0 {
            return Err(Error::not_found("instance", id));
        }
        Ok(())
    }

    async fn list_instances(&self) -> Result<Vec<InstanceInfo>> {
        let rows = sqlx::query(
            "SELECT id, host, pid, version, started_at, last_seen FROM instances ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(|e| map_sqlx(e, "listing instances"))?;
        rows.iter().map(decode_instance).collect()
    }

    async fn deregister_instance(&self, id: &InstanceId) -> Result<()> {
        sqlx::query("DELETE FROM instances WHERE id = ?")
            .bind(id.0.as_str())
            .execute(&self.pool)
            .await
            .map_err(|e| map_sqlx(e, &format!("deregistering instance {id}")))?;
        Ok(())
    }

    async fn forget_instances(&self, unseen_since: DateTime<Utc>) -> Result<Vec<InstanceId>> {
        let ids: Vec<String> =
            sqlx::query_scalar("DELETE FROM instances WHERE last_seen < ? RETURNING id")
                .bind(codec::time(unseen_since))
                .fetch_all(&self.pool)
                .await
                .map_err(|e| map_sqlx(e, "forgetting lost instances"))?;
        Ok(ids.into_iter().map(InstanceId).collect())
    }

    async fn run_counts(&self) -> Result<RunCounts> {
        let what = "counting executions and deliveries";
        let err = |e| map_sqlx(e, what);
        let mut counts = RunCounts::default();
        let rows: Vec<(String, String, i64)> =
            sqlx::query_as("SELECT task, status, COUNT(*) FROM executions GROUP BY task, status")
                .fetch_all(&self.pool)
                .await
                .map_err(err)?;
        for (task, status, n) in rows {
            let key = (
                task.parse()
                    .map_err(|_: Error| codec::corrupt("executions.task", &task, "a task"))?,
                status.parse().map_err(|_: Error| {
                    codec::corrupt("executions.status", &status, "an execution status")
                })?,
            );
            counts
                .executions
                .insert(key, u64::try_from(n).unwrap_or_default());
        }
        // Instants are fixed-width UTC text, so MAX picks the latest.
        let rows: Vec<(i64, String)> = sqlx::query_as(
            "SELECT schedule_id, MAX(completed_at) FROM executions \
             WHERE status = 'success' AND schedule_id IS NOT NULL AND completed_at IS NOT NULL \
             GROUP BY schedule_id",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(err)?;
        for (schedule, at) in rows {
            counts.last_success.insert(
                ScheduleId(schedule),
                codec::parse_time(&at, "executions.completed_at")?,
            );
        }
        let rows: Vec<(i64, String, i64)> = sqlx::query_as(
            "SELECT channel_id, status, COUNT(*) FROM deliveries GROUP BY channel_id, status",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(err)?;
        for (channel, status, n) in rows {
            counts.deliveries.insert(
                (
                    ChannelId(channel),
                    parse_enum(&status, "deliveries.status")?,
                ),
                u64::try_from(n).unwrap_or_default(),
            );
        }
        Ok(counts)
    }
}
