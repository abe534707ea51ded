//! Delivery records, keyed by (execution chain, channel, message key), so a retry
//! never sends again what an earlier attempt of the chain delivered.

use sqlx::Row;
use sqlx::postgres::PgRow;
use storewatch_core::model::{ChannelId, DeliveryId, DeliveryRecord, DeliveryStatus, ExecutionId};
use storewatch_core::{Error, Result};

use crate::PostgresStore;
use crate::error::map_sqlx_error;
use crate::text::{from_text, to_text, to_u32};

fn decode(row: &PgRow) -> Result<DeliveryRecord> {
    let e = map_sqlx_error;
    Ok(DeliveryRecord {
        id: DeliveryId(row.try_get("id").map_err(e)?),
        execution_id: ExecutionId(row.try_get("execution_id").map_err(e)?),
        channel_id: ChannelId(row.try_get("channel_id").map_err(e)?),
        message_key: row.try_get("message_key").map_err(e)?,
        status: from_text(
            "delivery status",
            &row.try_get::<String, _>("status").map_err(e)?,
        )?,
        attempts: to_u32("attempts", row.try_get("attempts").map_err(e)?)?,
        error: row.try_get("error").map_err(e)?,
        created_at: row.try_get("created_at").map_err(e)?,
        updated_at: row.try_get("updated_at").map_err(e)?,
    })
}

impl PostgresStore {
    /// The chain an execution belongs to: its `retry_of`, or itself (also when the
    /// execution is not stored, so a caller may key deliveries by any id).
    async fn chain_of(&self, execution: ExecutionId) -> Result<i64> {
        let chain: Option<i64> =
            sqlx::query_scalar("SELECT COALESCE(retry_of, id) FROM executions WHERE id = $1")
                .bind(execution.0)
                .fetch_optional(&self.pool)
                .await
                .map_err(map_sqlx_error)?;
        Ok(chain.unwrap_or(execution.0))
    }

    pub(crate) async fn start_delivery_row(
        &self,
        execution: ExecutionId,
        channel: ChannelId,
        message_key: &str,
    ) -> Result<DeliveryRecord> {
        if message_key.trim().is_empty() {
            return Err(Error::invalid_field(
                "message_key",
                message_key,
                "a non-blank key such as report:7:2026-03-01",
            ));
        }
        let chain = self.chain_of(execution).await?;
        // A sent delivery is left alone (the WHERE fails and nothing is returned);
        // anything else goes back to pending with one more attempt.
        let row = sqlx::query(
            "INSERT INTO deliveries (execution_id, channel_id, message_key, status)
             VALUES ($1, $2, $3, 'pending')
             ON CONFLICT (execution_id, channel_id, message_key) DO UPDATE SET
                 status = 'pending', attempts = deliveries.attempts + 1, error = NULL,
                 updated_at = now()
             WHERE deliveries.status <> 'sent'
             RETURNING *",
        )
        .bind(chain)
        .bind(channel.0)
        .bind(message_key)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_sqlx_error)?;
        let row = match row {
            Some(row) => row,
            None => sqlx::query(
                "SELECT * FROM deliveries
                 WHERE execution_id = $1 AND channel_id = $2 AND message_key = $3",
            )
            .bind(chain)
            .bind(channel.0)
            .bind(message_key)
            .fetch_one(&self.pool)
            .await
            .map_err(map_sqlx_error)?,
        };
        decode(&row)
    }

    pub(crate) async fn finish_delivery_row(
        &self,
        id: DeliveryId,
        status: DeliveryStatus,
        error: Option<String>,
    ) -> Result<DeliveryRecord> {
        if status == DeliveryStatus::Pending {
            return Err(Error::invalid_field("status", "pending", "sent or failed"));
        }
        let row = sqlx::query(
            "UPDATE deliveries SET status = $2, error = $3, updated_at = now()
             WHERE id = $1 RETURNING *",
        )
        .bind(id.0)
        .bind(to_text(&status))
        .bind(error)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_sqlx_error)?;
        match row {
            Some(row) => decode(&row),
            None => Err(Error::not_found("delivery", id)),
        }
    }

    pub(crate) async fn list_delivery_rows(
        &self,
        execution: ExecutionId,
    ) -> Result<Vec<DeliveryRecord>> {
        let chain = self.chain_of(execution).await?;
        let rows = sqlx::query("SELECT * FROM deliveries WHERE execution_id = $1 ORDER BY id")
            .bind(chain)
            .fetch_all(&self.pool)
            .await
            .map_err(map_sqlx_error)?;
        rows.iter().map(decode).collect()
    }
}
