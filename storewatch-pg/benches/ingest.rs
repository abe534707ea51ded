//! Ingest: upsert 1 M points (fresh, then the same points again as updates) and the
//! ratio to a raw `COPY` of the same rows into an empty table of the same schema and
//! indexes, measured in the same run.
//!
//! `cargo bench -p storewatch-pg --bench ingest` (needs PostgreSQL at `DATABASE_URL`).

#![allow(clippy::print_stdout, missing_docs)]

mod support;

use std::time::Instant;

use chrono::NaiveDate;
use storewatch_core::store::MetricStore;
use storewatch_pg::testkit::{ScratchDatabase, admin_url};
use support::{BenchResult, create_apps, points};

const APPS: usize = 1000;
const DAYS: u64 = 125; // 1000 apps × 8 metrics × 125 days = 1 M points

#[tokio::main]
async fn main() -> BenchResult<()> {
    let db = ScratchDatabase::create(&admin_url(), "swbench").await?;
    run(&db).await
}

async fn run(db: &ScratchDatabase) -> BenchResult<()> {
    let store = db.store(4).await?;
    let apps = create_apps(&store, APPS).await?;
    let last = NaiveDate::from_ymd_opt(2026, 3, 1).ok_or("date")?;
    let fresh = points(&apps, last, DAYS, 0.0);
    let changed = points(&apps, last, DAYS, 0.5);
    let n = fresh.len() as f64;

    // Reference: the same rows COPYed (text format, prepared before timing) into an
    // empty table with the same columns, primary key and indexes.
    sqlx::query("CREATE TABLE copy_reference (LIKE metric_points INCLUDING ALL)")
        .execute(store.pool())
        .await?;
    let mut text = String::with_capacity(fresh.len() * 40);
    for p in &fresh {
        use std::fmt::Write;
        writeln!(
            text,
            "{}\t{}\t{}\t{}\t{}",
            p.app_id.0, p.metric, p.segment, p.date, p.value
        )?;
    }
    let mut conn = store.pool().acquire().await?;
    let started = Instant::now();
    let mut copy = conn
        .copy_in_raw("COPY copy_reference (app_id, metric, segment, day, value) FROM STDIN")
        .await?;
    for chunk in text.as_bytes().chunks(1 << 20) {
        copy.send(chunk).await?;
    }
    let copied = copy.finish().await?;
    let copy_s = started.elapsed().as_secs_f64();
    drop(conn);
    assert_eq!(copied as usize, fresh.len());

    let started = Instant::now();
    store.upsert_points(&fresh).await?;
    let fresh_s = started.elapsed().as_secs_f64();

    let started = Instant::now();
    store.upsert_points(&changed).await?;
    let update_s = started.elapsed().as_secs_f64();

    let started = Instant::now();
    store.upsert_points(&changed).await?;
    let same_s = started.elapsed().as_secs_f64();

    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM metric_points")
        .fetch_one(store.pool())
        .await?;
    assert_eq!(stored as usize, fresh.len());

    println!(
        "pg ingest of {} points ({APPS} apps × 8 metrics × {DAYS} days)",
        fresh.len()
    );
    println!(
        "  raw COPY reference     {:>8.3} s  {:>10.0} points/s",
        copy_s,
        n / copy_s
    );
    println!(
        "  upsert, fresh          {:>8.3} s  {:>10.0} points/s  ratio to COPY {:.2} (target ≥ 0.6)",
        fresh_s,
        n / fresh_s,
        copy_s / fresh_s
    );
    println!(
        "  upsert, new values     {:>8.3} s  {:>10.0} points/s  ratio to COPY {:.2}",
        update_s,
        n / update_s,
        copy_s / update_s
    );
    println!(
        "  upsert, same values    {:>8.3} s  {:>10.0} points/s  ratio to COPY {:.2}",
        same_s,
        n / same_s,
        copy_s / same_s
    );
    Ok(())
}
