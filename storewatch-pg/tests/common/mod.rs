//! Test support: a fresh PostgreSQL database per test on the server named by
//! `DATABASE_URL`, dropped (best-effort) when the test ends.

#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use chrono::NaiveDate;
use storewatch_core::model::{App, AppSpec, Platform};
use storewatch_core::store::ConfigStore;
use storewatch_pg::PostgresStore;
use storewatch_pg::testkit::{ScratchDatabase, admin_url};

/// A database that exists for one test (the tests never skip: no server is a failure
/// that says how to start one).
#[derive(Debug)]
pub struct TestDb {
    pub url: String,
    db: ScratchDatabase,
}

impl TestDb {
    /// Creates a fresh, empty database.
    pub async fn new() -> TestDb {
        let db = ScratchDatabase::create(&admin_url(), "swtest")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        TestDb {
            url: db.url().to_owned(),
            db,
        }
    }

    /// A migrated store with its own pool of `max` connections.
    pub async fn store_with(&self, max: u32) -> PostgresStore {
        self.db.store(max).await.unwrap()
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
