//! [`PgConfig`]: the pool settings of a [`PostgresStore`](crate::PostgresStore).

use std::time::Duration;

use serde::{Deserialize, Serialize};
use storewatch_core::{Error, Result};

/// Pool settings, usually read from the binary's config file.
///
/// ```
/// let config: storewatch_pg::PgConfig = serde_json::from_str(r#"{"max_connections": 20}"#).unwrap();
/// assert_eq!(config.max_connections, 20);
/// assert_eq!(config.acquire_timeout.as_secs(), 10);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct PgConfig {
    /// Most connections held open at once.
    pub max_connections: u32,
    /// Connections kept open even when idle.
    pub min_connections: u32,
    /// How long a call waits for a connection before failing with `Unavailable`
    /// (whole seconds in config).
    #[serde(with = "storewatch_core::model::durations")]
    pub acquire_timeout: Duration,
    /// Idle connections are closed after this long (whole seconds in config).
    #[serde(with = "optional_secs")]
    pub idle_timeout: Option<Duration>,
    /// A statement running longer is cancelled by the server and fails with `Timeout`
    /// (whole seconds in config; none by default).
    #[serde(with = "optional_secs")]
    pub statement_timeout: Option<Duration>,
    /// Shown in `pg_stat_activity`, so operators see which sessions are storewatch's.
    pub application_name: String,
}

impl Default for PgConfig {
    fn default() -> Self {
        PgConfig {
            max_connections: 10,
            min_connections: 0,
            acquire_timeout: Duration::from_secs(10),
            idle_timeout: Some(Duration::from_secs(600)),
            statement_timeout: None,
            application_name: "storewatch".to_owned(),
        }
    }
}

impl PgConfig {
    /// Sets the largest number of connections.
    #[must_use]
    pub fn with_max_connections(mut self, n: u32) -> Self {
        self.max_connections = n;
        self
    }

    /// Sets how long a call waits for a connection.
    #[must_use]
    pub fn with_acquire_timeout(mut self, timeout: Duration) -> Self {
        self.acquire_timeout = timeout;
        self
    }

    /// Checks the limits; the error names the field and the value.
    pub fn validate(&self) -> Result<()> {
        if self.max_connections == 0 {
            return Err(Error::invalid_field(
                "max_connections",
                self.max_connections,
                "at least 1 connection",
            ));
        }
        if self.min_connections > self.max_connections {
            return Err(Error::invalid_field(
                "min_connections",
                self.min_connections,
                format_args!("at most max_connections ({})", self.max_connections),
            ));
        }
        if self.statement_timeout.is_some_and(|t| t.is_zero()) {
            return Err(Error::invalid_field(
                "statement_timeout",
                0,
                "at least 1 second, or none",
            ));
        }
        if self.acquire_timeout.is_zero() {
            return Err(Error::invalid_field(
                "acquire_timeout",
                self.acquire_timeout.as_secs(),
                "at least 1 second",
            ));
        }
        Ok(())
    }
}

mod optional_secs {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_some(&d.as_secs()),
            None => s.serialize_none(),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Duration>, D::Error> {
        Ok(Option::<u64>::deserialize(d)?.map(Duration::from_secs))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_limits_name_the_field() {
        let err = PgConfig::default()
            .with_max_connections(0)
            .validate()
            .unwrap_err();
        assert!(err.message().contains("max_connections"), "{err}");
        let err = PgConfig::default()
            .with_acquire_timeout(Duration::ZERO)
            .validate()
            .unwrap_err();
        assert!(err.message().contains("acquire_timeout"), "{err}");
        let c = PgConfig {
            min_connections: 11,
            ..PgConfig::default()
        };
        assert!(
            c.validate()
                .unwrap_err()
                .message()
                .contains("min_connections")
        );
        assert!(serde_json::from_str::<PgConfig>(r#"{"max_conns": 3}"#).is_err());
    }
}
