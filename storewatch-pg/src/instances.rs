//! Registered scheduler instances and their heartbeats (in database time).

use chrono::{DateTime, Utc};
use storewatch_core::model::{InstanceId, InstanceInfo};
use storewatch_core::{Error, Result};

use crate::PostgresStore;
use crate::error::map_sqlx_error;

type InstanceRow = (String, String, i64, String, DateTime<Utc>, DateTime<Utc>);

impl PostgresStore {
    pub(crate) async fn register_instance_row(&self, info: InstanceInfo) -> Result<()> {
        if info.id.0.trim().is_empty() {
            return Err(Error::invalid_field(
                "instance id",
                &info.id.0,
                "a non-blank id",
            ));
        }
        sqlx::query(
            "INSERT INTO instances (id, host, pid, version, started_at, last_seen)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (id) DO UPDATE SET host = EXCLUDED.host, pid = EXCLUDED.pid,
                 version = EXCLUDED.version, started_at = EXCLUDED.started_at,
                 last_seen = EXCLUDED.last_seen",
        )
        .bind(&info.id.0)
        .bind(&info.host)
        .bind(i64::from(info.pid))
        .bind(&info.version)
        .bind(info.started_at)
        .bind(info.last_seen)
        .execute(&self.pool)
        .await
        .map_err(map_sqlx_error)?;
        Ok(())
    }

    pub(crate) async fn heartbeat_instance_row(&self, id: &InstanceId) -> Result<()> {
        let updated = sqlx::query("UPDATE instances SET last_seen = now() WHERE id = $1")
            .bind(&id.0)
            .execute(&self.pool)
            .await
            .map_err(map_sqlx_error)?
            .rows_affected();
        if updated == 0 {
            return Err(Error::not_found("instance", id));
        }
        Ok(())
    }

    pub(crate) async fn list_instance_rows(&self) -> Result<Vec<InstanceInfo>> {
        let rows: Vec<InstanceRow> = sqlx::query_as(
            "SELECT id, host, pid, version, started_at, last_seen FROM instances
             ORDER BY started_at, id",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(map_sqlx_error)?;
        rows.into_iter()
            .map(|(id, host, pid, version, started_at, last_seen)| {
                Ok(InstanceInfo {
                    pid: crate::text::to_u32("pid", pid)?,
                    id: InstanceId(id),
                    host,
                    version,
                    started_at,
                    last_seen,
                })
            })
            .collect()
    }

    pub(crate) async fn forget_instance_rows(
        &self,
        unseen_since: DateTime<Utc>,
    ) -> Result<Vec<InstanceId>> {
        let ids: Vec<String> =
            sqlx::query_scalar("DELETE FROM instances WHERE last_seen < $1 RETURNING id")
                .bind(unseen_since)
                .fetch_all(&self.pool)
                .await
                .map_err(map_sqlx_error)?;
        Ok(ids.into_iter().map(InstanceId).collect())
    }

    pub(crate) async fn deregister_instance_row(&self, id: &InstanceId) -> Result<()> {
        sqlx::query("DELETE FROM instances WHERE id = $1")
            .bind(&id.0)
            .execute(&self.pool)
            .await
            .map_err(map_sqlx_error)?;
        Ok(())
    }
}
