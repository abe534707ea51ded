//! [`RunStore`] for [`PostgresStore`]: the trait, delegating to the modules that hold
//! each concept.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use storewatch_core::Result;
use storewatch_core::model::{
    AlertState, AlertStates, ChannelId, DeliveryId, DeliveryRecord, DeliveryStatus, Execution,
    ExecutionFilter, ExecutionId, ExecutionOutcome, InstanceId, InstanceInfo, NewExecution,
    ScheduleId,
};
use storewatch_core::store::{Lease, RunCounts, RunStore};

use crate::PostgresStore;
use crate::error::map_sqlx_error;
use crate::text::from_text;

#[async_trait]
impl RunStore for PostgresStore {
    async fn now(&self) -> Result<DateTime<Utc>> {
        self.db_now().await
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
        self.load_alert_states().await
    }
    async fn save_alert_states(&self, states: &[AlertState]) -> Result<()> {
        self.store_alert_states(states).await
    }

    async fn start_delivery(
        &self,
        execution: ExecutionId,
        channel: ChannelId,
        message_key: &str,
    ) -> Result<DeliveryRecord> {
        self.start_delivery_row(execution, channel, message_key)
            .await
    }
    async fn finish_delivery(
        &self,
        id: DeliveryId,
        status: DeliveryStatus,
        error: Option<String>,
    ) -> Result<DeliveryRecord> {
        self.finish_delivery_row(id, status, error).await
    }
    async fn list_deliveries(&self, execution: ExecutionId) -> Result<Vec<DeliveryRecord>> {
        self.list_delivery_rows(execution).await
    }

    async fn register_instance(&self, info: InstanceInfo) -> Result<()> {
        self.register_instance_row(info).await
    }
    async fn heartbeat_instance(&self, id: &InstanceId) -> Result<()> {
        self.heartbeat_instance_row(id).await
    }
    async fn list_instances(&self) -> Result<Vec<InstanceInfo>> {
        self.list_instance_rows().await
    }
    async fn deregister_instance(&self, id: &InstanceId) -> Result<()> {
        self.deregister_instance_row(id).await
    }
    async fn forget_instances(&self, unseen_since: DateTime<Utc>) -> Result<Vec<InstanceId>> {
        self.forget_instance_rows(unseen_since).await
    }

    async fn run_counts(&self) -> Result<RunCounts> {
        let mut counts = RunCounts::default();
        let rows: Vec<(String, String, i64)> =
            sqlx::query_as("SELECT task, status, count(*) FROM executions GROUP BY task, status")
                .fetch_all(&self.pool)
                .await
                .map_err(map_sqlx_error)?;
        for (task, status, n) in rows {
            counts.executions.insert(
                (
                    from_text("execution task", &task)?,
                    from_text("execution status", &status)?,
                ),
                u64::try_from(n).unwrap_or_default(),
            );
        }
        let rows: Vec<(i64, DateTime<Utc>)> = sqlx::query_as(
            "SELECT schedule_id, max(completed_at) FROM executions \
             WHERE status = 'success' AND schedule_id IS NOT NULL AND completed_at IS NOT NULL \
             GROUP BY schedule_id",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(map_sqlx_error)?;
        counts.last_success = rows
            .into_iter()
            .map(|(schedule, at)| (ScheduleId(schedule), at))
            .collect();
        let rows: Vec<(i64, String, i64)> = sqlx::query_as(
            "SELECT channel_id, status, count(*) FROM deliveries GROUP BY channel_id, status",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(map_sqlx_error)?;
        for (channel, status, n) in rows {
            counts.deliveries.insert(
                (ChannelId(channel), from_text("delivery status", &status)?),
                u64::try_from(n).unwrap_or_default(),
            );
        }
        Ok(counts)
    }
}
