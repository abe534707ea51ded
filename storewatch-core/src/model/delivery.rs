//! Delivery records: every message send, recorded before it is attempted.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{ChannelId, DeliveryId, ExecutionId};

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryStatus {
    /// Recorded; the send is in flight or was interrupted.
    Pending,
    /// The provider accepted it.
    Sent,
    /// The last attempt failed.
    Failed,
}

/// One message to one channel, keyed by (execution chain, channel, message key).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeliveryRecord {
    /// Store-assigned id.
    pub id: DeliveryId,
    /// The first execution of the chain (see [`Execution::chain_id`](super::Execution::chain_id)).
    pub execution_id: ExecutionId,
    /// The channel.
    pub channel_id: ChannelId,
    /// What the message is, e.g. `report:7:2026-03-01` or `alert:<fingerprint>:firing`.
    pub message_key: String,
    /// Where it stands.
    pub status: DeliveryStatus,
    /// Attempts made.
    pub attempts: u32,
    /// The last error, if the last attempt failed.
    pub error: Option<String>,
    /// When first recorded.
    pub created_at: DateTime<Utc>,
    /// When last changed.
    pub updated_at: DateTime<Utc>,
}
