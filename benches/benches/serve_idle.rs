//! Idle `storewatch serve` with 1,000 apps and 1,000 schedules (none due for hours):
//! resident memory and CPU, against the same binary serving an empty database,
//! measured in the same run. Budget (issue 9): RSS ≤ 30 MB, CPU ≤ 1 % of a core.
//!
//! The bench runs the release binary, which `cargo bench` cannot build while it runs
//! (it holds the target directory), so build it first with the bench profile (which
//! shares its artifacts with this bench):
//!
//! ```sh
//! cargo build --profile bench -p storewatch --bin storewatch
//! cargo bench -p storewatch-benches --bench serve_idle
//! ```
//!
//! Environment: `SERVE_BENCH_BIN` (another binary), `SERVE_BENCH_SETTLE_SECS` (default
//! 15: start-up, migrations, first schedule load), `SERVE_BENCH_SECS` (default 30: the
//! measured window), `SERVE_BENCH_APPS` (default 1000 apps and as many schedules),
//! `SERVE_BENCH_PG` (a `postgres://` URL of a user who may create databases: measure on
//! two fresh PostgreSQL databases, dropped afterwards, instead of SQLite files).
#![allow(clippy::print_stdout, clippy::unwrap_used, missing_docs)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chrono::Timelike;
use storewatch_benches::memory::mib;
use storewatch_benches::process::{Sample, cpu_percent, sample, ticks_per_second};
use storewatch_core::clock::{Clock, SystemClock};
use storewatch_core::model::{AppSpec, Frequency, Platform, ScheduleSpec, Task};
use storewatch_core::store::Store;
use storewatch_pg::testkit::ScratchDatabase;
use storewatch_pg::{PgConfig, PostgresStore};
use storewatch_sqlite::{SqliteConfig, SqliteStore};

/// The budget: 30 MB resident (decimal megabytes) and 1 % of one core.
const RSS_BUDGET: u64 = 30_000_000;
const CPU_BUDGET_PCT: f64 = 1.0;

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .map(|v| {
            v.parse()
                .unwrap_or_else(|_| panic!("{name}={v:?}: expected a whole number"))
        })
        .unwrap_or(default)
}

/// The binary: `SERVE_BENCH_BIN`, else `storewatch` in this bench's profile directory.
fn binary() -> PathBuf {
    if let Ok(bin) = std::env::var("SERVE_BENCH_BIN") {
        return PathBuf::from(bin);
    }
    // This bench runs from <target>/release/deps/; the binary is <target>/release/storewatch.
    let exe = std::env::current_exe().unwrap();
    let bin = exe
        .parent()
        .and_then(Path::parent)
        .map(|dir| dir.join("storewatch"))
        .unwrap();
    if !bin.exists() {
        panic!(
            "{} does not exist: build it first with\n  cargo build --profile bench -p storewatch --bin storewatch\n\
             or point SERVE_BENCH_BIN at a storewatch binary",
            bin.display()
        );
    }
    bin
}

/// A migrated store on `url`.
async fn open(url: &str) -> Box<dyn Store> {
    if url.starts_with("postgres") {
        let store = PostgresStore::connect(url, &PgConfig::default()).unwrap();
        store.migrate().await.unwrap();
        Box::new(store)
    } else {
        Box::new(
            SqliteStore::open(url, SqliteConfig::default())
                .await
                .unwrap(),
        )
    }
}

/// Creates `apps` apps (half iOS, half Android) and one daily schedule per app, all at
/// an hour twelve hours away, so none is due while the bench runs.
async fn seed(url: &str, apps: u64) {
    let store = open(url).await;
    let hour = ((SystemClock.now().hour() + 12) % 24) as u8;
    for i in 0..apps {
        let platform = if i % 2 == 0 {
            Platform::Ios
        } else {
            Platform::Android
        };
        let bundle = format!("com.example.app{i}");
        let app = store
            .create_app(AppSpec::new(format!("App {i}"), platform, &bundle).unwrap())
            .await
            .unwrap();
        let mut spec = ScheduleSpec::new(
            format!("Daily {i}"),
            Task::FullAnalysis,
            Frequency::Daily,
            hour,
            (i % 60) as u8,
            "UTC",
        )
        .unwrap();
        spec.app_id = Some(app.id);
        store.create_schedule(spec).await.unwrap();
    }
}

/// What one idle run measured.
struct Idle {
    rss_end: u64,
    rss_max: u64,
    cpu_pct: f64,
}

struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        if self.0.try_wait().ok().flatten().is_none() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// Starts `storewatch serve` on `url`, waits until its instance registers, lets it
/// settle, then samples it every second over the window.
async fn measure(bin: &Path, dir: &Path, url: &str, settle: Duration, window: Duration) -> Idle {
    let child = Command::new(bin)
        .arg("serve")
        .current_dir(dir)
        .env("DATABASE_URL", url)
        .env("STOREWATCH_LISTEN", "127.0.0.1:0")
        .env("STOREWATCH_LOG_LEVEL", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut running = Running(child);
    let pid = running.0.id();

    let store = open(url).await;
    let started = Instant::now();
    while store.list_instances().await.unwrap().is_empty() {
        assert!(
            running.0.try_wait().unwrap().is_none(),
            "storewatch serve exited during start-up"
        );
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "storewatch serve did not register within 120 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    drop(store);
    tokio::time::sleep(settle).await;

    let ticks = ticks_per_second();
    let first: Sample = sample(pid).expect("the server runs");
    let from = Instant::now();
    let mut rss_max = first.rss;
    let mut last = first;
    while from.elapsed() < window {
        tokio::time::sleep(Duration::from_secs(1)).await;
        last = sample(pid).expect("the server still runs");
        rss_max = rss_max.max(last.rss);
    }
    let cpu_pct = cpu_percent(first, last, from.elapsed(), ticks);

    // Stop it as an operator would, and check it stops cleanly.
    let status = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let stopping = Instant::now();
    while running.0.try_wait().unwrap().is_none() {
        assert!(
            stopping.elapsed() < Duration::from_secs(60),
            "no exit after SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        running.0.wait().unwrap().success(),
        "serve exits 0 on SIGTERM"
    );
    Idle {
        rss_end: last.rss,
        rss_max,
        cpu_pct,
    }
}

fn main() {
    let bin = binary();
    let apps = env_u64("SERVE_BENCH_APPS", 1000);
    let settle = Duration::from_secs(env_u64("SERVE_BENCH_SETTLE_SECS", 15));
    let window = Duration::from_secs(env_u64("SERVE_BENCH_SECS", 30));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let pg = std::env::var("SERVE_BENCH_PG").ok();
    // Dropped at the end of main, after the measurements.
    let mut scratch = Vec::new();
    let (empty, loaded, kind) = match &pg {
        Some(admin) => rt.block_on(async {
            for _ in 0..2 {
                scratch.push(ScratchDatabase::create(admin, "swbench").await.unwrap());
            }
            (
                scratch[0].url().to_owned(),
                scratch[1].url().to_owned(),
                "PostgreSQL",
            )
        }),
        None => (
            format!("sqlite://{}", dir.path().join("empty.db").display()),
            format!("sqlite://{}", dir.path().join("loaded.db").display()),
            "SQLite",
        ),
    };

    println!("binary: {}", bin.display());
    println!(
        "each run: start, wait for the instance to register, settle {} s, sample /proc every second for {} s",
        settle.as_secs(),
        window.as_secs()
    );
    let (reference, idle) = rt.block_on(async {
        seed(&empty, 0).await;
        seed(&loaded, apps).await;
        let reference = measure(&bin, dir.path(), &empty, settle, window).await;
        let idle = measure(&bin, dir.path(), &loaded, settle, window).await;
        (reference, idle)
    });

    println!(
        "reference — idle serve, empty {kind} database: RSS {:.1} MiB (max {:.1}), CPU {:.3} % of a core",
        mib(reference.rss_end),
        mib(reference.rss_max),
        reference.cpu_pct
    );
    println!(
        "idle serve, {apps} apps + {apps} schedules ({kind}): RSS {:.1} MiB (max {:.1}), CPU {:.3} % of a core",
        mib(idle.rss_end),
        mib(idle.rss_max),
        idle.cpu_pct
    );
    println!(
        "ratio to the reference: RSS {:.2}×, CPU {:.2}×",
        idle.rss_max as f64 / reference.rss_max.max(1) as f64,
        idle.cpu_pct / reference.cpu_pct.max(f64::MIN_POSITIVE)
    );
    let rss_ok = idle.rss_max <= RSS_BUDGET;
    let cpu_ok = idle.cpu_pct <= CPU_BUDGET_PCT;
    println!(
        "budget: RSS ≤ 30 MB → {:.1} MB {}; CPU ≤ 1 % → {:.3} % {}",
        idle.rss_max as f64 / 1e6,
        if rss_ok { "met" } else { "EXCEEDED" },
        idle.cpu_pct,
        if cpu_ok { "met" } else { "EXCEEDED" }
    );
    if !(rss_ok && cpu_ok) {
        std::process::exit(1);
    }
}
