//! Bench support: generated apps and points (the scratch database is
//! `storewatch_pg::testkit::ScratchDatabase`).

#![allow(dead_code, unreachable_pub)]

use std::error::Error;

use chrono::{Days, NaiveDate};
use storewatch_core::model::{AppId, AppSpec, Metric, MetricPoint, Platform};
use storewatch_core::store::ConfigStore;
use storewatch_pg::PostgresStore;

pub type BenchResult<T> = Result<T, Box<dyn Error>>;

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
