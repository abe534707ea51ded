//! [`SqliteStore`]: opening the file, migrations, the time source and transactions.

use std::fmt;
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Sqlite, Transaction};
use storewatch_core::clock::{Clock, SystemClock};
use storewatch_core::{Error, ErrorKind, Result};

use crate::SqliteConfig;
use crate::error::map_sqlx;

/// The embedded migrations, applied by [`SqliteStore::migrate`].
pub(crate) static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// A [`Store`](storewatch_core::store::Store) in one SQLite file, in WAL mode.
///
/// Several `SqliteStore`s — in one process or in several processes — may share a file:
/// slots are unique by index, claims run in `BEGIN IMMEDIATE` transactions, and every
/// read-modify-write takes SQLite's write lock up front, so no two claimers ever get the
/// same execution.
///
/// **Time.** SQLite has no server clock, so [`RunStore::now`] (leases, `run_after`,
/// heartbeats, record timestamps) comes from the injected [`Clock`] (the system clock
/// by default, [`SqliteStore::with_clock`] in tests). Processes sharing one file must
/// therefore have synchronized clocks (NTP); a skew shortens or lengthens leases by as
/// much.
///
/// [`RunStore::now`]: storewatch_core::store::RunStore::now
#[derive(Clone)]
pub struct SqliteStore {
    pub(crate) pool: SqlitePool,
    pub(crate) clock: Arc<dyn Clock>,
    location: String,
}

impl fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteStore")
            .field("location", &self.location)
            .field("clock", &self.clock)
            .finish()
    }
}

impl SqliteStore {
    /// Opens (and by default creates and migrates) the store at `location`: a file path
    /// or a `sqlite://path` URL (URL parameters such as `?mode=ro` are honoured).
    ///
    /// The file is put in WAL mode with `synchronous = NORMAL`, foreign keys on and
    /// `config.busy_timeout` as the busy timeout of every connection.
    pub async fn open(location: &str, config: SqliteConfig) -> Result<SqliteStore> {
        config.validate()?;
        let options = if location.starts_with("sqlite:") {
            SqliteConnectOptions::from_str(location).map_err(|e| {
                Error::invalid_field(
                    "database url",
                    location,
                    format_args!("sqlite://<path> ({e})"),
                )
            })?
        } else {
            if location.is_empty() {
                return Err(Error::invalid_field(
                    "database path",
                    location,
                    "a file path or sqlite://<path>",
                ));
            }
            SqliteConnectOptions::new().filename(Path::new(location))
        };
        let options = options
            .create_if_missing(config.create_if_missing)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(config.busy_timeout);
        // Switching a new file to WAL takes an exclusive lock that SQLite may refuse at
        // once (no busy wait) while another process opens the same file: retry briefly.
        let mut attempt: u32 = 1;
        let pool = loop {
            let opened = SqlitePoolOptions::new()
                .max_connections(config.max_connections)
                .acquire_timeout(config.acquire_timeout)
                .connect_with(options.clone())
                .await
                .map_err(|e| map_sqlx(e, &format!("opening SQLite database {location}")));
            match opened {
                Err(e) if attempt < 8 && e.kind() == ErrorKind::Unavailable => {
                    tokio::time::sleep(Duration::from_millis(50 * u64::from(attempt))).await;
                    attempt += 1;
                }
                other => break other?,
            }
        };
        let store = SqliteStore {
            pool,
            clock: Arc::new(SystemClock),
            location: location.to_owned(),
        };
        if config.migrate {
            store.migrate().await?;
        }
        Ok(store)
    }

    /// The versions of the embedded migrations not applied to the file yet (empty when
    /// its schema is current). Readiness probes use it.
    pub async fn pending_migrations(&self) -> Result<Vec<i64>> {
        let table: Option<String> = sqlx::query_scalar(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
        )
        .fetch_optional(&self.pool)
        .await
        .map_err(|e| map_sqlx(e, "reading the migration table"))?;
        let applied: Vec<i64> = if table.is_some() {
            sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success")
                .fetch_all(&self.pool)
                .await
                .map_err(|e| map_sqlx(e, "reading the migration table"))?
        } else {
            Vec::new()
        };
        Ok(MIGRATOR
            .iter()
            .map(|m| m.version)
            .filter(|v| !applied.contains(v))
            .collect())
    }

    /// Applies the embedded migrations that the file does not have yet.
    ///
    /// Safe when several stores or processes open a new file at once: each migration
    /// runs in its own transaction, and one that loses the race to another migrator
    /// (its table already exists, its version is already recorded, the file is locked)
    /// is retried after a short pause, by which time the winner has committed it.
    pub async fn migrate(&self) -> Result<()> {
        const ATTEMPTS: u32 = 8;
        let mut attempt = 1;
        loop {
            match MIGRATOR.run(&self.pool).await {
                Ok(()) => return Ok(()),
                Err(e) if attempt < ATTEMPTS && lost_migration_race(&e) => {
                    tokio::time::sleep(Duration::from_millis(50 * u64::from(attempt))).await;
                    attempt += 1;
                }
                Err(e) => {
                    return Err(Error::new(
                        ErrorKind::Storage,
                        format!("migrating {} failed: {e}", self.location),
                    )
                    .with_source(e));
                }
            }
        }
    }

    /// The same store reading time from `clock` (tests drive time with a
    /// [`ManualClock`](storewatch_core::clock::ManualClock)).
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> SqliteStore {
        self.clock = clock;
        self
    }

    /// Closes every pooled connection; later calls fail with `Unavailable`.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Where the store lives, as given to [`open`](SqliteStore::open).
    pub fn location(&self) -> &str {
        &self.location
    }

    /// The store's current time.
    pub(crate) fn clock_now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Starts a transaction that holds SQLite's write lock from its first statement.
    ///
    /// Every read-then-write goes through here: a deferred transaction that read first
    /// would fail with `SQLITE_BUSY_SNAPSHOT` (which the busy timeout does not cover)
    /// when another connection or process wrote in between.
    pub(crate) async fn write_tx(&self, what: &str) -> Result<Transaction<'static, Sqlite>> {
        self.pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(|e| map_sqlx(e, what))
    }

    /// A transaction for consistent multi-statement reads.
    pub(crate) async fn read_tx(&self, what: &str) -> Result<Transaction<'static, Sqlite>> {
        self.pool.begin().await.map_err(|e| map_sqlx(e, what))
    }
}

/// Whether a migration failed because another migrator applied it concurrently.
fn lost_migration_race(err: &sqlx::migrate::MigrateError) -> bool {
    let text = err.to_string();
    [
        "already exists",
        "UNIQUE constraint failed",
        "database is locked",
        "busy",
    ]
    .iter()
    .any(|s| text.contains(s))
}

/// Commits `tx`, naming the operation on failure.
pub(crate) async fn commit(tx: Transaction<'static, Sqlite>, what: &str) -> Result<()> {
    tx.commit().await.map_err(|e| map_sqlx(e, what))
}
