//! Throwaway databases for tests and benchmarks (feature `testkit`): each test gets an
//! empty database of its own on one server, dropped when it ends.
//!
//! ```no_run
//! # async fn demo() -> storewatch_core::Result<()> {
//! use storewatch_pg::testkit::{ScratchDatabase, admin_url};
//!
//! let db = ScratchDatabase::create(&admin_url(), "mytest").await?;
//! let store = db.store(4).await?; // migrated, 4 connections
//! // … the test …
//! drop(store);
//! drop(db); // DROP DATABASE … WITH (FORCE)
//! # Ok(()) }
//! ```

use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection, PgConnection};
use storewatch_core::{Error, ErrorKind, Result};

use crate::{PgConfig, PostgresStore};

/// The server used when `DATABASE_URL` names none.
pub const DEFAULT_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// Scratch databases older than this are dropped by later runs (left by killed tests).
const STALE_AFTER: Duration = Duration::from_secs(3600);

/// `DATABASE_URL` when it is a PostgreSQL URL, else [`DEFAULT_ADMIN_URL`]: a user there
/// must be allowed to create databases.
pub fn admin_url() -> String {
    std::env::var("DATABASE_URL")
        .ok()
        .filter(|u| u.starts_with("postgres://") || u.starts_with("postgresql://"))
        .unwrap_or_else(|| DEFAULT_ADMIN_URL.to_owned())
}

/// A database named `{prefix}_{unix seconds}_{random}` on the server of an admin URL;
/// dropped (best effort, `WITH (FORCE)`) when this value is.
#[derive(Debug)]
pub struct ScratchDatabase {
    admin_url: String,
    name: String,
    url: String,
}

impl ScratchDatabase {
    /// Creates an empty database on `admin_url`'s server, first dropping this prefix's
    /// databases that are more than an hour old. An unreachable server is `Unavailable`,
    /// saying how to start one.
    pub async fn create(admin_url: &str, prefix: &str) -> Result<ScratchDatabase> {
        let mut admin = connect(admin_url).await?;
        drop_stale(&mut admin, prefix).await;
        let name = format!("{prefix}_{}_{:08x}", unix_secs(), rand::random::<u32>());
        sqlx::query(&format!("CREATE DATABASE \"{name}\""))
            .execute(&mut admin)
            .await
            .map_err(|e| {
                Error::new(
                    ErrorKind::Unavailable,
                    format!("cannot create database {name}"),
                )
                .with_source(e)
            })?;
        let _ = admin.close().await;
        let mut url = url::Url::parse(admin_url)
            .map_err(|_| Error::invalid_field("admin URL", admin_url, "a postgres:// URL"))?;
        url.set_path(&format!("/{name}"));
        Ok(ScratchDatabase {
            admin_url: admin_url.to_owned(),
            name,
            url: url.to_string(),
        })
    }

    /// The database's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A `postgres://` URL of the database.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// A migrated store on the database with a pool of `max_connections`.
    pub async fn store(&self, max_connections: u32) -> Result<PostgresStore> {
        let store = PostgresStore::connect(
            &self.url,
            &PgConfig::default()
                .with_max_connections(max_connections)
                .with_acquire_timeout(Duration::from_secs(30)),
        )?;
        store.migrate().await?;
        Ok(store)
    }
}

impl Drop for ScratchDatabase {
    fn drop(&mut self) {
        let (admin_url, name) = (self.admin_url.clone(), self.name.clone());
        // Drop may run inside a runtime: do the async cleanup on a thread of its own.
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async move {
                if let Ok(mut admin) = connect(&admin_url).await {
                    drop_database(&mut admin, &name).await;
                }
            });
        })
        .join();
    }
}

async fn connect(admin_url: &str) -> Result<PgConnection> {
    let options = PgConnectOptions::from_str(admin_url)
        .map_err(|_| Error::invalid_field("admin URL", admin_url, "a postgres:// URL"))?;
    let unreachable = |why: String| {
        Error::new(
            ErrorKind::Unavailable,
            format!(
                "cannot reach PostgreSQL at {admin_url}: {why}. Start a server (e.g. \
                 `pg_ctlcluster 15 main start`, or `docker run -d -p 5432:5432 -e \
                 POSTGRES_HOST_AUTH_METHOD=trust postgres:16`) or point DATABASE_URL at \
                 one where the user may create databases"
            ),
        )
    };
    match tokio::time::timeout(Duration::from_secs(10), options.connect()).await {
        Ok(Ok(conn)) => Ok(conn),
        Ok(Err(e)) => Err(unreachable(e.to_string())),
        Err(_) => Err(unreachable("timed out after 10 s".to_owned())),
    }
}

async fn drop_database(admin: &mut PgConnection, name: &str) {
    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
        .execute(admin)
        .await;
}

/// Drops `prefix`'s databases created more than [`STALE_AFTER`] ago.
async fn drop_stale(admin: &mut PgConnection, prefix: &str) {
    let names: Vec<String> =
        sqlx::query_scalar("SELECT datname FROM pg_database WHERE starts_with(datname, $1)")
            .bind(format!("{prefix}_"))
            .fetch_all(&mut *admin)
            .await
            .unwrap_or_default();
    let now = unix_secs();
    for name in names {
        let created = name[prefix.len() + 1..]
            .split('_')
            .next()
            .and_then(|s| s.parse::<u64>().ok())
            .unwrap_or(now);
        if now.saturating_sub(created) > STALE_AFTER.as_secs() {
            drop_database(admin, &name).await;
        }
    }
}

fn unix_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}
