//! Test support: a fresh PostgreSQL database per test on the server named by
//! `DATABASE_URL`, dropped (best-effort) when the test ends.

#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chrono::NaiveDate;
use rand::Rng;
use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection, PgConnection};
use storewatch_core::model::{App, AppSpec, Platform};
use storewatch_core::store::ConfigStore;
use storewatch_pg::{PgConfig, PostgresStore};

/// The server tests run against.
pub const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// Test databases older than this are dropped by later runs (left by killed tests).
const STALE_AFTER: Duration = Duration::from_secs(3600);

pub fn admin_url() -> String {
    std::env::var("DATABASE_URL").unwrap_or_else(|_| DEFAULT_URL.to_owned())
}

fn how_to_start(url: &str, err: &dyn std::fmt::Display) -> String {
    format!(
        "cannot reach PostgreSQL at {url}: {err}\n\
         The storewatch-pg tests need a PostgreSQL server (they never skip). Start one, e.g.\n  \
         pg_ctlcluster 15 main start            (Debian/Ubuntu package)\n  \
         docker run -d -p 5432:5432 -e POSTGRES_HOST_AUTH_METHOD=trust postgres:16\n\
         or point DATABASE_URL at a server where the user may create databases."
    )
}

/// Connects to the admin database, panicking with how to start a server.
pub async fn admin_connection() -> PgConnection {
    let url = admin_url();
    let options = PgConnectOptions::from_str(&url)
        .unwrap_or_else(|e| panic!("DATABASE_URL {url:?} is not a PostgreSQL URL: {e}"));
    match tokio::time::timeout(Duration::from_secs(10), options.connect()).await {
        Ok(Ok(conn)) => conn,
        Ok(Err(e)) => panic!("{}", how_to_start(&url, &e)),
        Err(_) => panic!("{}", how_to_start(&url, &"timed out after 10 s")),
    }
}

fn unix_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

/// A database that exists for one test.
#[derive(Debug)]
pub struct TestDb {
    pub name: String,
    pub url: String,
}

impl TestDb {
    /// Creates a fresh, empty database.
    pub async fn new() -> TestDb {
        let mut admin = admin_connection().await;
        drop_stale(&mut admin).await;
        let name = format!(
            "swtest_{}_{:08x}",
            unix_secs(),
            rand::thread_rng().r#gen::<u32>()
        );
        sqlx::query(&format!("CREATE DATABASE \"{name}\""))
            .execute(&mut admin)
            .await
            .unwrap_or_else(|e| panic!("cannot create test database {name}: {e}"));
        let _ = admin.close().await;
        let mut url = url::Url::parse(&admin_url()).expect("DATABASE_URL is a URL");
        url.set_path(&format!("/{name}"));
        TestDb {
            name,
            url: url.to_string(),
        }
    }

    /// A migrated store with its own pool of `max` connections.
    pub async fn store_with(&self, max: u32) -> PostgresStore {
        let store = PostgresStore::connect(
            &self.url,
            &PgConfig::default()
                .with_max_connections(max)
                .with_acquire_timeout(Duration::from_secs(10)),
        )
        .unwrap();
        store.migrate().await.unwrap();
        store
    }

    /// A migrated store that owns the database: it is dropped with the last clone.
    pub async fn into_store(self) -> PostgresStore {
        let store = self.store_with(5).await;
        store.with_guard(self)
    }

    /// A migrated store with a pool of 5.
    pub async fn store(&self) -> PostgresStore {
        self.store_with(5).await
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let name = self.name.clone();
        // Drop may run inside a runtime: do the async cleanup on a thread of its own.
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async move {
                let Ok(options) = PgConnectOptions::from_str(&admin_url()) else {
                    return;
                };
                if let Ok(mut admin) = options.connect().await {
                    let _ =
                        sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                            .execute(&mut admin)
                            .await;
                }
            });
        })
        .join();
    }
}

/// Drops test databases left behind by killed runs.
async fn drop_stale(admin: &mut PgConnection) {
    let names: Vec<String> =
        sqlx::query_scalar("SELECT datname FROM pg_database WHERE datname LIKE 'swtest\\_%'")
            .fetch_all(&mut *admin)
            .await
            .unwrap_or_default();
    let now = unix_secs();
    for name in names {
        let created = name
            .split('_')
            .nth(1)
            .and_then(|s| s.parse::<u64>().ok())
            .unwrap_or(now);
        if now.saturating_sub(created) > STALE_AFTER.as_secs() {
            let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                .execute(&mut *admin)
                .await;
        }
    }
}

/// Creates `n` apps named `app0`… (alternating platforms).
pub async fn apps(store: &PostgresStore, n: usize) -> Vec<App> {
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let platform = if i % 2 == 0 {
            Platform::Ios
        } else {
            Platform::Android
        };
        let spec =
            AppSpec::new(format!("app{i}"), platform, &format!("com.example.app{i}")).unwrap();
        out.push(store.create_app(spec).await.unwrap());
    }
    out
}

pub fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}
