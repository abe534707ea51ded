//! Bench support: a scratch database on `DATABASE_URL` and generated apps and points.

#![allow(dead_code, unreachable_pub)]

use std::error::Error;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chrono::{Days, NaiveDate};
use sqlx::{ConnectOptions, Connection, postgres::PgConnectOptions};
use storewatch_core::model::{AppId, AppSpec, Metric, MetricPoint, Platform};
use storewatch_core::store::ConfigStore;
use storewatch_pg::{PgConfig, PostgresStore};

pub type BenchResult<T> = Result<T, Box<dyn Error>>;

fn admin_url() -> String {
    std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// A scratch database, dropped by [`ScratchDb::drop_db`].
pub struct ScratchDb {
    pub name: String,
    pub url: String,
}

impl ScratchDb {
    pub async fn create() -> BenchResult<ScratchDb> {
        let secs = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default();
        let name = format!("swbench_{secs}_{:08x}", rand::random::<u32>());
        let mut admin = admin_url()
            .parse::<PgConnectOptions>()?
            .connect()
            .await
            .map_err(|e| {
                format!(
                    "cannot reach PostgreSQL at {}: {e}; start one or set DATABASE_URL",
                    admin_url()
                )
            })?;
        sqlx::query(&format!("CREATE DATABASE \"{name}\""))
            .execute(&mut admin)
            .await?;
        admin.close().await?;
        let mut url = url::Url::parse(&admin_url())?;
        url.set_path(&format!("/{name}"));
        Ok(ScratchDb {
            name,
            url: url.to_string(),
        })
    }

    pub async fn store(&self) -> BenchResult<PostgresStore> {
        let store = PostgresStore::connect(
            &self.url,
            &PgConfig::default()
                .with_max_connections(4)
                .with_acquire_timeout(Duration::from_secs(30)),
        )?;
        store.migrate().await?;
        Ok(store)
    }

    pub async fn drop_db(self) -> BenchResult<()> {
        let mut admin = admin_url().parse::<PgConnectOptions>()?.connect().await?;
        sqlx::query(&format!(
            "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
            self.name
        ))
        .execute(&mut admin)
        .await?;
        Ok(())
    }
}

/// Creates `n` apps.
pub async fn create_apps(store: &PostgresStore, n: usize) -> BenchResult<Vec<AppId>> {
    let mut ids = Vec::with_capacity(n);
    for i in 0..n {
        let platform = if i % 2 == 0 {
            Platform::Ios
        } else {
            Platform::Android
        };
        let spec = AppSpec::new(format!("app{i}"), platform, &format!("com.bench.app{i}"))?;
        ids.push(store.create_app(spec).await?.id);
    }
    Ok(ids)
}

/// The first 8 well-known metrics.
pub fn metrics() -> Vec<Metric> {
    Metric::WELL_KNOWN[..8].to_vec()
}

/// Totals of every app × metric on `days` days ending at `last`, in collection order
/// (day by day, every app of a day together), values shifted by `shift`.
pub fn points(apps: &[AppId], last: NaiveDate, days: u64, shift: f64) -> Vec<MetricPoint> {
    let metrics = metrics();
    let mut out = Vec::with_capacity(apps.len() * metrics.len() * days as usize);
    for back in (0..days).rev() {
        let d = last - Days::new(back);
        for &app in apps {
            for (mi, m) in metrics.iter().enumerate() {
                let v = ((app.0 * 31 + mi as i64 * 7 + back as i64) % 1000) as f64 + shift;
                out.push(MetricPoint::total(app, m.clone(), d, v));
            }
        }
    }
    out
}
