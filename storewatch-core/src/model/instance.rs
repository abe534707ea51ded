//! Scheduler instances: the processes sharing one store.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::InstanceId;

/// A registered scheduler instance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InstanceInfo {
    /// Unique per process start.
    pub id: InstanceId,
    /// Host name.
    pub host: String,
    /// Process id.
    pub pid: u32,
    /// storewatch version.
    pub version: String,
    /// When it registered.
    pub started_at: DateTime<Utc>,
    /// Its last heartbeat.
    pub last_seen: DateTime<Utc>,
}
