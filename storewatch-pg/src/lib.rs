#![doc = include_str!("../README.md")]

mod alert_states;
mod config;
mod config_store;
mod deliveries;
mod error;
mod executions;
mod instances;
mod metrics;
mod run_store;
#[cfg(feature = "testkit")]
pub mod testkit;
mod text;

pub use config::PgConfig;
pub use error::map_sqlx_error;

use std::any::Any;
use std::fmt;
use std::sync::Arc;

use sqlx::PgPool;
use sqlx::migrate::Migrator;
use sqlx::postgres::PgPoolOptions;
use storewatch_core::{Error, ErrorKind, Result};

/// The embedded migrations (`storewatch-pg/migrations/`), forward-only.
pub static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// A [`Store`](storewatch_core::store::Store) on PostgreSQL: configuration, metric
/// history and the coordination of any number of scheduler instances sharing one
/// database (slot uniqueness by a unique index, claims with `FOR UPDATE SKIP LOCKED`,
/// leases in database time).
///
/// Cloning is cheap and shares the pool.
#[derive(Clone)]
pub struct PostgresStore {
    pool: PgPool,
    guard: Option<Arc<dyn Any + Send + Sync>>,
}

impl fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresStore")
            .field("pool", &self.pool)
            .finish_non_exhaustive()
    }
}

impl PostgresStore {
    /// Connects a pool to `url` (`postgres://user@host:port/db`) with `config`'s limits.
    ///
    /// Connections are opened lazily: an unreachable server shows up as `Unavailable`
    /// on the first call (e.g. [`migrate`](Self::migrate)), not here. A malformed URL
    /// is a `Config` error.
    pub fn connect(url: &str, config: &PgConfig) -> Result<Self> {
        config.validate()?;
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err(Error::new(
                ErrorKind::Config,
                format!(
                    "invalid PostgreSQL URL scheme in {:?}: expected postgres://user@host:port/database",
                    url.split("://").next().unwrap_or_default()
                ),
            ));
        }
        let mut options: sqlx::postgres::PgConnectOptions = url.parse().map_err(|e| {
            Error::new(
                ErrorKind::Config,
                format!("invalid PostgreSQL URL: {e}: expected postgres://user@host:port/database"),
            )
        })?;
        options = options.application_name(&config.application_name);
        if let Some(timeout) = config.statement_timeout {
            options =
                options.options([("statement_timeout", format!("{}ms", timeout.as_millis()))]);
        }
        let pool = PgPoolOptions::new()
            .max_connections(config.max_connections)
            .min_connections(config.min_connections)
            .acquire_timeout(config.acquire_timeout)
            .idle_timeout(config.idle_timeout)
            .connect_lazy_with(options);
        Ok(PostgresStore::from_pool(pool))
    }

    /// A store on an existing pool (its settings are the caller's).
    pub fn from_pool(pool: PgPool) -> Self {
        PostgresStore { pool, guard: None }
    }

    /// Keeps `guard` alive as long as this store or any clone of it, and drops it with
    /// the last one: a scratch database that must outlive the store, an embedded
    /// server, a lock file.
    #[must_use]
    pub fn with_guard(mut self, guard: impl Any + Send + Sync) -> Self {
        self.guard = Some(Arc::new(guard));
        self
    }

    /// The pool, for callers that share it or close it.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Applies the embedded migrations that are not applied yet. Safe to run from
    /// several instances at once (sqlx takes an advisory lock).
    pub async fn migrate(&self) -> Result<()> {
        MIGRATOR.run(&self.pool).await.map_err(|e| match e {
            sqlx::migrate::MigrateError::Execute(inner) => {
                map_sqlx_error(inner).context("applying storewatch-pg migrations")
            }
            other => Error::new(
                ErrorKind::Storage,
                format!("applying storewatch-pg migrations failed: {other}"),
            ),
        })
    }

    /// The versions of the embedded migrations not applied to the database yet (empty
    /// when its schema is current). Readiness probes use it.
    pub async fn pending_migrations(&self) -> Result<Vec<i64>> {
        let applied: Vec<i64> = sqlx::query_scalar(
            "SELECT version FROM _sqlx_migrations WHERE success ORDER BY version",
        )
        .fetch_all(&self.pool)
        .await
        .or_else(|e| match &e {
            // No migration table yet: nothing is applied.
            sqlx::Error::Database(d) if d.code().as_deref() == Some("42P01") => Ok(Vec::new()),
            _ => Err(map_sqlx_error(e)),
        })?;
        Ok(MIGRATOR
            .iter()
            .map(|m| m.version)
            .filter(|v| !applied.contains(v))
            .collect())
    }

    /// Closes every connection of the pool; later calls fail with `Unavailable`.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}
