//! [`SqliteConfig`]: how a [`SqliteStore`](crate::SqliteStore) opens its file.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use storewatch_core::{Error, Result};

/// How a [`SqliteStore`](crate::SqliteStore) opens and uses its file.
///
/// ```
/// use std::time::Duration;
/// use storewatch_sqlite::SqliteConfig;
///
/// let config = SqliteConfig {
///     busy_timeout: Duration::from_secs(10),
///     ..SqliteConfig::default()
/// };
/// assert!(config.validate().is_ok());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SqliteConfig {
    /// Connections in the pool (default 8). Readers run in parallel under WAL; writers
    /// queue on SQLite's single write lock.
    pub max_connections: u32,
    /// How long a statement waits for another connection's or process's write lock
    /// before failing with `Unavailable` (default 5 s).
    #[serde(with = "storewatch_core::model::durations")]
    pub busy_timeout: Duration,
    /// How long to wait for a free pooled connection (default 30 s).
    #[serde(with = "storewatch_core::model::durations")]
    pub acquire_timeout: Duration,
    /// Create the file when it does not exist (default true).
    pub create_if_missing: bool,
    /// Apply pending migrations when opening (default true); with `false`, call
    /// [`SqliteStore::migrate`](crate::SqliteStore::migrate) yourself.
    pub migrate: bool,
}

impl Default for SqliteConfig {
    fn default() -> Self {
        SqliteConfig {
            max_connections: 8,
            busy_timeout: Duration::from_secs(5),
            acquire_timeout: Duration::from_secs(30),
            create_if_missing: true,
            migrate: true,
        }
    }
}

impl SqliteConfig {
    /// Checks every field; the error names the field and the value.
    pub fn validate(&self) -> Result<()> {
        if self.max_connections == 0 {
            return Err(Error::invalid_field(
                "max_connections",
                self.max_connections,
                "at least 1 connection",
            ));
        }
        if self.acquire_timeout.is_zero() {
            return Err(Error::invalid_field(
                "acquire_timeout",
                self.acquire_timeout,
                "a positive duration",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_connections_is_refused_by_name() {
        let config = SqliteConfig {
            max_connections: 0,
            ..SqliteConfig::default()
        };
        let err = config.validate().unwrap_err();
        assert!(err.message().contains("max_connections"), "{err}");
        let parsed: SqliteConfig =
            serde_json::from_value(serde_json::json!({"busy_timeout": 10})).unwrap();
        assert_eq!(parsed.busy_timeout, Duration::from_secs(10));
        assert!(serde_json::from_value::<SqliteConfig>(serde_json::json!({"busy": 1})).is_err());
    }
}
