//! SQLite store benchmarks (DESIGN §9), each printed with its reference measured in the
//! same run:
//!
//! - ingest: `upsert_points` of 1 M points fresh, then the same points again as
//!   updates, against a raw bulk `INSERT` of the same rows into an empty table of the
//!   same schema and indexes in one transaction;
//! - history: the required days (`required_days`) of 400 stored days for 1,000 apps ×
//!   8 metrics (target ≤ 0.5 s), against a raw `SELECT` of the same rows.
//!
//! `cargo bench -p storewatch-sqlite --bench ingest`; `STOREWATCH_BENCH_APPS=100` runs
//! a smaller version.

#![allow(clippy::print_stdout, clippy::unwrap_used, missing_docs)]

use std::str::FromStr;
use std::time::{Duration, Instant};

use chrono::{Days, NaiveDate};
use futures::TryStreamExt;
use sqlx::Connection;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use storewatch_core::analysis::required_days;
use storewatch_core::model::{AppId, AppSpec, Metric, MetricPoint, Platform};
use storewatch_core::store::{ConfigStore, DaySelection, HistoryQuery, MetricStore};
use storewatch_sqlite::{POINTS_PER_STATEMENT, SqliteConfig, SqliteStore};

const METRICS: [Metric; 8] = [
    Metric::DOWNLOADS,
    Metric::REDOWNLOADS,
    Metric::UPDATES,
    Metric::ACTIVE_DEVICES,
    Metric::SESSIONS,
    Metric::CRASHES,
    Metric::IAP_UNITS,
    Metric::PROCEEDS,
];
const HISTORY_DAYS: u64 = 400;

fn main() {
    let apps: usize = std::env::var("STOREWATCH_BENCH_APPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(run(apps));
}

fn day_number(d: NaiveDate) -> i64 {
    (d - NaiveDate::from_ymd_opt(1970, 1, 1).unwrap()).num_days()
}

fn points(apps: &[AppId], days: &[NaiveDate], salt: f64) -> Vec<MetricPoint> {
    let mut out = Vec::with_capacity(apps.len() * METRICS.len() * days.len());
    for app in apps {
        for (m, metric) in METRICS.iter().enumerate() {
            for (d, day) in days.iter().enumerate() {
                let value = salt + (app.0 as f64) * 3.0 + m as f64 * 0.5 + d as f64;
                out.push(MetricPoint::total(*app, metric.clone(), *day, value));
            }
        }
    }
    out
}

async fn store_with_apps(path: &str, n: usize) -> (SqliteStore, Vec<AppId>) {
    let store = SqliteStore::open(path, SqliteConfig::default())
        .await
        .unwrap();
    let mut ids = Vec::with_capacity(n);
    for i in 0..n {
        let spec = AppSpec::new(
            format!("App {i}"),
            Platform::Ios,
            &format!("com.bench.app{i}"),
        )
        .unwrap();
        ids.push(store.create_app(spec).await.unwrap().id);
    }
    (store, ids)
}

/// The reference: the same rows in one transaction of plain multi-row `INSERT`s, on
/// a fresh file with the same schema, indexes and pragmas, no validation, no upsert.
async fn raw_insert(path: &str, rows: &[MetricPoint]) -> Duration {
    let options = SqliteConnectOptions::from_str(path)
        .unwrap()
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true);
    let mut conn = sqlx::SqliteConnection::connect_with(&options)
        .await
        .unwrap();
    let full = insert_sql(POINTS_PER_STATEMENT);
    let started = Instant::now();
    let mut tx = conn.begin().await.unwrap();
    for chunk in rows.chunks(POINTS_PER_STATEMENT) {
        let partial;
        let sql = if chunk.len() == POINTS_PER_STATEMENT {
            &full
        } else {
            partial = insert_sql(chunk.len());
            &partial
        };
        let mut q = sqlx::query(sql);
        for p in chunk {
            q = q
                .bind(p.app_id.0)
                .bind(p.metric.as_str())
                .bind(p.segment.as_str())
                .bind(day_number(p.date))
                .bind(p.value);
        }
        q.execute(&mut *tx).await.unwrap();
    }
    tx.commit().await.unwrap();
    started.elapsed()
}

fn insert_sql(n: usize) -> String {
    let mut sql =
        String::from("INSERT INTO metric_points (app_id, metric, segment, day, value) VALUES ");
    for i in 0..n {
        sql.push_str(if i == 0 {
            "(?,?,?,?,?)"
        } else {
            ",(?,?,?,?,?)"
        });
    }
    sql
}

/// The history reference: the same rows read raw, without grouping into series.
async fn raw_select(path: &str, days: &[NaiveDate]) -> (Duration, usize) {
    let mut conn = sqlx::SqliteConnection::connect(path).await.unwrap();
    let list =
        serde_json::to_string(&days.iter().map(|d| day_number(*d)).collect::<Vec<_>>()).unwrap();
    let started = Instant::now();
    let mut rows = sqlx::query(
        "SELECT app_id, metric, segment, day, value FROM metric_points \
         WHERE day IN (SELECT value FROM json_each(?))",
    )
    .bind(list)
    .fetch(&mut conn);
    let mut n = 0;
    while let Some(row) = rows.try_next().await.unwrap() {
        use sqlx::Row;
        let _: (i64, &str, &str, i64, f64) =
            (row.get(0), row.get(1), row.get(2), row.get(3), row.get(4));
        n += 1;
    }
    (started.elapsed(), n)
}

fn rate(n: usize, d: Duration) -> String {
    format!("{:.0} points/s", n as f64 / d.as_secs_f64())
}

async fn run(n_apps: usize) {
    let dir = tempfile::tempdir().unwrap();
    let store_path = dir.path().join("store.db").to_str().unwrap().to_owned();
    let raw_path = dir.path().join("raw.db").to_str().unwrap().to_owned();

    let target = NaiveDate::from_ymd_opt(2026, 3, 1).unwrap();
    let all_days: Vec<NaiveDate> = (0..HISTORY_DAYS)
        .rev()
        .map(|i| target - Days::new(i))
        .collect();
    // 1 M points at 1,000 apps: 125 days of 8 metrics.
    let ingest_days = &all_days[all_days.len() - 125..];

    let (store, apps) = store_with_apps(&store_path, n_apps).await;
    let (raw_store, _) = store_with_apps(&raw_path, n_apps).await;
    raw_store.close().await;

    let fresh = points(&apps, ingest_days, 0.0);
    let n = fresh.len();
    println!("sqlite ingest: {n} points ({n_apps} apps x 8 metrics x 125 days)");

    let reference = raw_insert(&raw_path, &fresh).await;
    let started = Instant::now();
    store.upsert_points(&fresh).await.unwrap();
    let fresh_time = started.elapsed();
    let updates = points(&apps, ingest_days, 0.25);
    let started = Instant::now();
    store.upsert_points(&updates).await.unwrap();
    let update_time = started.elapsed();
    println!(
        "  raw INSERT (reference): {:>8.3} s  {}",
        reference.as_secs_f64(),
        rate(n, reference)
    );
    println!(
        "  upsert fresh:           {:>8.3} s  {}  ratio to raw {:.2}",
        fresh_time.as_secs_f64(),
        rate(n, fresh_time),
        reference.as_secs_f64() / fresh_time.as_secs_f64()
    );
    println!(
        "  upsert as updates:      {:>8.3} s  {}  ratio to raw {:.2}",
        update_time.as_secs_f64(),
        rate(n, update_time),
        reference.as_secs_f64() / update_time.as_secs_f64()
    );
    drop(fresh);
    drop(updates);

    // Fill the rest of the 400 days, in batches like daily collection would write.
    let rest = &all_days[..all_days.len() - 125];
    for days in rest.chunks(25) {
        store
            .upsert_points(&points(&apps, days, 0.0))
            .await
            .unwrap();
    }
    let stored = n_apps * METRICS.len() * HISTORY_DAYS as usize;

    let required = required_days(target);
    let query = HistoryQuery::new(DaySelection::Days(required.clone()));
    // Warm the page cache the same way for both sides, then take the best of three
    // of each, alternating, so a busy machine skews neither side.
    store.history(&query).await.unwrap();
    let mut raw_time = Duration::MAX;
    let mut raw_rows = 0;
    let mut history_time = Duration::MAX;
    let mut history = Default::default();
    for _ in 0..3 {
        let (t, rows) = raw_select(&store_path, &required).await;
        raw_time = raw_time.min(t);
        raw_rows = rows;
        let started = Instant::now();
        history = store.history(&query).await.unwrap();
        history_time = history_time.min(started.elapsed());
    }
    let history: storewatch_core::analysis::MetricHistory = history;
    assert_eq!(history.len(), raw_rows);
    assert_eq!(history.len(), n_apps * METRICS.len() * required.len());
    println!(
        "sqlite history: required days ({}) of {HISTORY_DAYS} days, {n_apps} apps x 8 metrics \
         ({stored} stored points)",
        required.len()
    );
    println!(
        "  raw SELECT (reference): {:>8.3} s  {raw_rows} rows",
        raw_time.as_secs_f64()
    );
    println!(
        "  history():              {:>8.3} s  {} series, {} points  ratio to raw {:.2}  \
         (target <= 0.5 s: {})",
        history_time.as_secs_f64(),
        history.series.len(),
        history.len(),
        raw_time.as_secs_f64() / history_time.as_secs_f64(),
        if history_time <= Duration::from_millis(500) {
            "met"
        } else {
            "MISSED"
        }
    );
}
