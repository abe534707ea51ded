//! Fault: a throwaway PostgreSQL cluster (initdb + pg_ctl in a temporary directory on
//! a free port — never the shared server) is stopped and restarted while points are
//! being upserted. The failed calls error cleanly as `Unavailable`, retries complete,
//! and no point is lost or doubled.

// Test helpers outside #[test] functions unwrap too.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use chrono::{Datelike, Days, NaiveDate};
use storewatch_core::model::{AppId, AppSpec, Metric, MetricPoint, Platform};
use storewatch_core::store::{ConfigStore, MetricStore};
use storewatch_core::{Error, ErrorKind};
use storewatch_pg::{PgConfig, PostgresStore};
use tokio::process::Command;

/// A PostgreSQL cluster of its own, removed on drop.
struct Cluster {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
    as_postgres: bool,
}

fn find_bin() -> PathBuf {
    if let Ok(dir) = std::env::var("PG_BIN") {
        return PathBuf::from(dir);
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.path().join("bin"))
                .filter(|p| p.join("initdb").exists() && p.join("pg_ctl").exists())
                .collect()
        })
        .unwrap_or_default();
    found.sort_by_key(|p| {
        p.parent()
            .and_then(|v| v.file_name())
            .and_then(|v| v.to_str())
            .and_then(|v| v.parse::<u32>().ok())
            .unwrap_or(0)
    });
    found.pop().unwrap_or_else(|| {
        panic!(
            "no initdb/pg_ctl under /usr/lib/postgresql/*/bin: install the PostgreSQL server \
             (apt-get install postgresql) or set PG_BIN to the directory holding them"
        )
    })
}

impl Cluster {
    async fn start() -> Cluster {
        let bin = find_bin();
        let is_root = std::process::Command::new("id")
            .arg("-u")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
            .unwrap_or(false);
        let dir = std::env::temp_dir().join(format!(
            "storewatch-pg-fault-{}-{:08x}",
            std::process::id(),
            rand::random::<u32>()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        if is_root {
            // initdb and pg_ctl refuse to run as root: the cluster belongs to postgres.
            let status = std::process::Command::new("chown")
                .args(["postgres:postgres"])
                .arg(&dir)
                .status()
                .unwrap();
            assert!(status.success(), "chown of {} failed", dir.display());
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let cluster = Cluster {
            bin,
            dir,
            port,
            as_postgres: is_root,
        };
        let data = cluster.data();
        cluster
            .run(
                "initdb",
                &["-D", &data, "-A", "trust", "-U", "postgres", "--no-sync"],
            )
            .await;
        cluster.pg_ctl_start().await;
        cluster
    }

    fn data(&self) -> String {
        self.dir.join("data").display().to_string()
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    fn command(&self, tool: &str) -> Command {
        let path = self.bin.join(tool);
        let mut cmd = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(path);
            c
        } else {
            Command::new(path)
        };
        cmd.current_dir(&self.dir);
        cmd
    }

    async fn run(&self, tool: &str, args: &[&str]) {
        let out = self.command(tool).args(args).output().await.unwrap();
        assert!(
            out.status.success(),
            "{tool} {args:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    async fn pg_ctl_start(&self) {
        let opts = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1",
            self.port,
            self.dir.display()
        );
        let log = self.dir.join("server.log").display().to_string();
        self.run(
            "pg_ctl",
            &["-D", &self.data(), "-o", &opts, "-l", &log, "-w", "start"],
        )
        .await;
    }

    /// Stops the server the hard way: every session is cut at once, as in a crash.
    async fn stop_immediate(&self) {
        self.run(
            "pg_ctl",
            &["-D", &self.data(), "-m", "immediate", "-w", "stop"],
        )
        .await;
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let path = self.bin.join("pg_ctl");
        let data = self.data();
        let mut cmd = if self.as_postgres {
            let mut c = std::process::Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(path);
            c
        } else {
            std::process::Command::new(path)
        };
        let _ = cmd
            .args(["-D", &data, "-m", "immediate", "-w", "stop"])
            .current_dir(&self.dir)
            .output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn value(app: AppId, metric: usize, day: NaiveDate) -> f64 {
    (app.0 * 1000 + metric as i64) as f64 + f64::from(day.ordinal()) / 1000.0
}

fn batch(apps: &[AppId], metrics: &[Metric], first: NaiveDate, days: u64) -> Vec<MetricPoint> {
    let mut out = Vec::new();
    for &app in apps {
        for (mi, m) in metrics.iter().enumerate() {
            for i in 0..days {
                let d = first + Days::new(i);
                out.push(MetricPoint::total(app, m.clone(), d, value(app, mi, d)));
            }
        }
    }
    out
}

/// Upserts `points`, retrying while the store is unavailable; returns the errors seen.
async fn upsert_with_retry(store: &PostgresStore, points: &[MetricPoint]) -> Vec<Error> {
    let mut errors = Vec::new();
    loop {
        match store.upsert_points(points).await {
            Ok(n) => {
                assert_eq!(n, points.len() as u64);
                return errors;
            }
            Err(e) => {
                assert!(
                    e.is_retryable(),
                    "a restart must give a retryable error, got {e}"
                );
                errors.push(e);
                assert!(
                    errors.len() < 200,
                    "the store never came back: {:?}",
                    errors.last()
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_during_upserts_loses_and_doubles_nothing() {
    let cluster = Cluster::start().await;
    let store = PostgresStore::connect(
        &cluster.url(),
        &PgConfig::default()
            .with_max_connections(2)
            .with_acquire_timeout(Duration::from_secs(2)),
    )
    .unwrap();
    store.migrate().await.unwrap();
    let mut apps = Vec::new();
    for i in 0..20 {
        let spec = AppSpec::new(
            format!("app{i}"),
            Platform::Android,
            &format!("com.fault.app{i}"),
        )
        .unwrap();
        apps.push(store.create_app(spec).await.unwrap().id);
    }
    let metrics: Vec<Metric> = Metric::WELL_KNOWN[..8].to_vec();
    let start = NaiveDate::from_ymd_opt(2025, 1, 1).unwrap();
    let days_per_batch = 40;
    let batches: Vec<Vec<MetricPoint>> = (0..24)
        .map(|b| {
            batch(
                &apps,
                &metrics,
                start + Days::new(b * days_per_batch),
                days_per_batch,
            )
        })
        .collect();
    let expected: BTreeMap<(i64, String, NaiveDate), f64> = batches
        .iter()
        .flatten()
        .map(|p| ((p.app_id.0, p.metric.to_string(), p.date), p.value))
        .collect();

    let done = Arc::new(AtomicUsize::new(0));
    let writer = {
        let store = store.clone();
        let done = done.clone();
        let batches = batches.clone();
        tokio::spawn(async move {
            let mut errors = Vec::new();
            for b in &batches {
                errors.extend(upsert_with_retry(&store, b).await);
                done.fetch_add(1, Ordering::SeqCst);
            }
            errors
        })
    };

    // Restart twice during the run, each time while the writer is mid-way.
    for after in [4, 12] {
        while done.load(Ordering::SeqCst) < after {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        cluster.stop_immediate().await;
        // While the server is down, a call fails cleanly and says so.
        let probe = batch(&apps[..1], &metrics[..1], start, 1);
        let err = store.upsert_points(&probe).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
        tokio::time::sleep(Duration::from_millis(500)).await;
        cluster.pg_ctl_start().await;
    }

    let errors = writer.await.unwrap();
    eprintln!(
        "writer retried {} times: {:?}",
        errors.len(),
        errors
            .iter()
            .map(ToString::to_string)
            .collect::<std::collections::BTreeSet<_>>()
    );
    for e in &errors {
        assert_eq!(e.kind(), ErrorKind::Unavailable, "{e}");
    }
    assert_eq!(done.load(Ordering::SeqCst), batches.len());

    // Every point is there exactly once, with its value.
    let rows: Vec<(i64, String, NaiveDate, f64)> =
        sqlx::query_as("SELECT app_id, metric, day, value FROM metric_points")
            .fetch_all(store.pool())
            .await
            .unwrap();
    assert_eq!(rows.len(), expected.len(), "no point lost or doubled");
    let stored: BTreeMap<(i64, String, NaiveDate), f64> = rows
        .into_iter()
        .map(|(a, m, d, v)| ((a, m, d), v))
        .collect();
    assert_eq!(stored, expected);
    store.close().await;
}
