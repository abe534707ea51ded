//! History: load the required days (`storewatch_core::analysis::required_days`, 34
//! days) of 400 stored days for 1,000 apps × 8 metrics, against a reference measured
//! in the same run: a plain fetch of the same rows without grouping.
//!
//! `cargo bench -p storewatch-pg --bench history` (needs PostgreSQL at `DATABASE_URL`).

#![allow(clippy::print_stdout, missing_docs)]

mod support;

use std::time::Instant;

use chrono::NaiveDate;
use storewatch_core::analysis::required_days;
use storewatch_core::store::{DaySelection, HistoryQuery, MetricStore};
use storewatch_pg::testkit::{ScratchDatabase, admin_url};
use support::{BenchResult, create_apps, points};

const APPS: usize = 1000;
const DAYS: u64 = 400;
const RUNS: usize = 5;

#[tokio::main]
async fn main() -> BenchResult<()> {
    let db = ScratchDatabase::create(&admin_url(), "swbench").await?;
    run(&db).await
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

async fn run(db: &ScratchDatabase) -> BenchResult<()> {
    let store = db.store(4).await?;
    let apps = create_apps(&store, APPS).await?;
    let target = NaiveDate::from_ymd_opt(2026, 3, 1).ok_or("date")?;
    let all = points(&apps, target, DAYS, 0.0);
    let started = Instant::now();
    for chunk in all.chunks(400_000) {
        store.upsert_points(chunk).await?;
    }
    let load_s = started.elapsed().as_secs_f64();
    sqlx::query("VACUUM ANALYZE metric_points")
        .execute(store.pool())
        .await?;
    let days = required_days(target);
    let query = HistoryQuery::new(DaySelection::Days(days.clone()));

    let mut history_s = Vec::new();
    let mut loaded = 0;
    for _ in 0..RUNS {
        let started = Instant::now();
        let h = store.history(&query).await?;
        history_s.push(started.elapsed().as_secs_f64());
        loaded = h.len();
    }
    assert_eq!(loaded, APPS * 8 * days.len());

    let mut raw_s = Vec::new();
    for _ in 0..RUNS {
        let started = Instant::now();
        let rows: Vec<(i64, String, String, NaiveDate, f64)> = sqlx::query_as(
            "SELECT app_id, metric, segment, day, value FROM metric_points WHERE day = ANY($1)",
        )
        .bind(&days)
        .fetch_all(store.pool())
        .await?;
        raw_s.push(started.elapsed().as_secs_f64());
        assert_eq!(rows.len(), loaded);
    }
    let (h, r) = (median(history_s), median(raw_s));
    println!(
        "pg history: {} of {DAYS} days for {APPS} apps × 8 metrics ({} points stored, loaded in {load_s:.1} s)",
        days.len(),
        all.len()
    );
    println!(
        "  history()              {h:>8.3} s for {loaded} points (target ≤ 0.5 s), median of {RUNS}"
    );
    println!(
        "  raw row fetch          {r:>8.3} s  ratio history/raw {:.2}",
        h / r
    );
    Ok(())
}
