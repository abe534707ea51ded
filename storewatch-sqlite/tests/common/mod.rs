//! Helpers shared by the integration tests: stores on real files in temp dirs.

#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use storewatch_core::clock::ManualClock;
use storewatch_core::model::{App, AppSpec, Platform};
use storewatch_core::store::ConfigStore;
use storewatch_sqlite::{SqliteConfig, SqliteStore};
use tempfile::TempDir;

/// A store on a fresh file, with the directory that holds it (dropped = deleted).
pub struct TestDb {
    pub dir: TempDir,
    pub path: String,
}

impl TestDb {
    pub fn new() -> TestDb {
        let dir = tempfile::tempdir().unwrap();
        let path = dir
            .path()
            .join("storewatch.db")
            .to_str()
            .unwrap()
            .to_owned();
        TestDb { dir, path }
    }

    /// A new store (its own pool) on the file.
    pub async fn open(&self) -> SqliteStore {
        SqliteStore::open(&self.path, SqliteConfig::default())
            .await
            .unwrap()
    }

    /// A new store on the file reading time from `clock`.
    pub async fn open_with(&self, clock: &ManualClock) -> SqliteStore {
        self.open().await.with_clock(Arc::new(clock.clone()))
    }
}

pub fn t0() -> DateTime<Utc> {
    "2026-03-01T04:00:00Z".parse().unwrap()
}

pub fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

pub async fn app(store: &SqliteStore, name: &str, platform: Platform, bundle: &str) -> App {
    store
        .create_app(AppSpec::new(name, platform, bundle).unwrap())
        .await
        .unwrap()
}
