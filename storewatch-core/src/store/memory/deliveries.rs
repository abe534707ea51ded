//! [`Deliveries`]: delivery records keyed by (execution chain, channel, message key).

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};

use crate::model::{ChannelId, DeliveryId, DeliveryRecord, DeliveryStatus, ExecutionId};
use crate::{Error, Result};

/// Every delivery record, by id and by key.
#[derive(Debug, Default)]
pub(super) struct Deliveries {
    records: BTreeMap<DeliveryId, DeliveryRecord>,
    by_key: HashMap<(ExecutionId, ChannelId, String), DeliveryId>,
    last_id: i64,
}

impl Deliveries {
    /// Records an attempt of the message `key` to `channel` in `chain`; a record already
    /// `Sent` is returned as it is.
    pub(super) fn start(
        &mut self,
        chain: ExecutionId,
        channel: ChannelId,
        key: &str,
        now: DateTime<Utc>,
    ) -> Result<DeliveryRecord> {
        if key.is_empty() {
            return Err(Error::invalid_field(
                "message_key",
                key,
                "a non-empty key such as \"report:7:2026-03-01\"",
            ));
        }
        let index = (chain, channel, key.to_owned());
        if let Some(record) = self
            .by_key
            .get(&index)
            .and_then(|id| self.records.get_mut(id))
        {
            if record.status != DeliveryStatus::Sent {
                record.status = DeliveryStatus::Pending;
                record.attempts += 1;
                record.updated_at = now;
            }
            return Ok(record.clone());
        }
        self.last_id += 1;
        let id = DeliveryId(self.last_id);
        let record = DeliveryRecord {
            id,
            execution_id: chain,
            channel_id: channel,
            message_key: key.to_owned(),
            status: DeliveryStatus::Pending,
            attempts: 1,
            error: None,
            created_at: now,
            updated_at: now,
        };
        self.by_key.insert(index, id);
        self.records.insert(id, record.clone());
        Ok(record)
    }

    /// Marks a delivery `Sent` or `Failed`.
    pub(super) fn finish(
        &mut self,
        id: DeliveryId,
        status: DeliveryStatus,
        error: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<DeliveryRecord> {
        if status == DeliveryStatus::Pending {
            return Err(Error::invalid_field("status", "pending", "sent or failed"));
        }
        let record = self
            .records
            .get_mut(&id)
            .ok_or_else(|| Error::not_found("delivery", id))?;
        record.status = status;
        // A sent message has no error, whatever the caller passed.
        record.error = if status == DeliveryStatus::Sent {
            None
        } else {
            error
        };
        record.updated_at = now;
        Ok(record.clone())
    }

    /// The number of records per channel and status.
    pub(super) fn counts(&self) -> HashMap<(ChannelId, DeliveryStatus), u64> {
        let mut counts = HashMap::new();
        for r in self.records.values() {
            *counts.entry((r.channel_id, r.status)).or_default() += 1;
        }
        counts
    }

    /// The records of `chain`, by id.
    pub(super) fn list(&self, chain: ExecutionId) -> Vec<DeliveryRecord> {
        self.records
            .values()
            .filter(|r| r.execution_id == chain)
            .cloned()
            .collect()
    }
}
