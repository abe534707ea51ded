//! `storewatch demo`: the whole collect → analyze → alert → notify cycle on a fresh
//! machine, without credentials or network. App Store Connect, Google Play and Lark are
//! local fakes; the database is a new SQLite file; the master key is made up for the
//! run. Everything else is the real path: the sources, the pipeline, the notifiers.

#![allow(clippy::print_stdout)] // the demo's output is its purpose

mod fakes;
mod render;
mod setup;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use chrono::{Days, NaiveDate};
use clap::Args;
use storewatch_core::alert::{AlertEvaluator, AlertEventKind, RuleEvaluator};
use storewatch_core::analysis::{Analysis, Analyzer, PolarsAnalyzer, required_days};
use storewatch_core::clock::{Clock, SystemClock};
use storewatch_core::model::{
    AlertStates, AlertStatus, Execution, ExecutionStatus, InstanceId, NewExecution, Task,
};
use storewatch_core::pipeline::Pipeline;
use storewatch_core::schedule::RetryPolicy;
use storewatch_core::secrets::Keyring;
use storewatch_core::store::{DaySelection, HistoryQuery};
use storewatch_core::{Error, ErrorKind, Result};
use tokio_util::sync::CancellationToken;

use crate::context::Context;
use crate::settings::Settings;
use fakes::Fakes;
use setup::Setup;

/// Options of `storewatch demo`.
#[derive(Debug, Args)]
pub(crate) struct DemoArgs {
    /// Days of history to backfill.
    #[arg(long, default_value_t = 120, value_parser = clap::value_parser!(u32).range(36..=400))]
    days: u32,
    /// Keep the demo database in this new SQLite file (default: a temporary directory,
    /// removed at exit).
    #[arg(long, value_name = "PATH")]
    db: Option<PathBuf>,
    /// After the printout, keep `serve` running on the demo data (and the fakes
    /// answering) until Ctrl-C or SIGTERM.
    #[arg(long)]
    serve: bool,
}

/// Where the demo database lives; a temporary directory goes with it.
struct Database {
    path: PathBuf,
    _dir: Option<tempfile::TempDir>,
}

impl Database {
    /// `--db`, which must not exist yet (the demo seals its records with a key that
    /// dies with the run), or a file in a new temporary directory.
    fn new(db: Option<PathBuf>) -> Result<Database> {
        match db {
            Some(path) if path.exists() => Err(Error::invalid_field(
                "--db",
                &path,
                "a path that does not exist yet: the demo creates a fresh database \
                 (remove the file or choose another path)",
            )),
            Some(path) => Ok(Database { path, _dir: None }),
            None => {
                let dir = tempfile::Builder::new()
                    .prefix("storewatch-demo-")
                    .tempdir()
                    .map_err(|e| {
                        Error::new(ErrorKind::Storage, "cannot create a temporary directory")
                            .with_source(e)
                    })?;
                Ok(Database {
                    path: dir.path().join("storewatch-demo.db"),
                    _dir: Some(dir),
                })
            }
        }
    }

    fn url(&self) -> String {
        format!("sqlite://{}", self.path.display())
    }

    fn describe(&self) -> String {
        if self._dir.is_some() {
            format!(
                "{} (removed at exit; --db <path> keeps it)",
                self.path.display()
            )
        } else {
            format!("{} (kept)", self.path.display())
        }
    }
}

/// Runs `storewatch demo`.
pub(crate) async fn run(args: DemoArgs, settings: Settings) -> Result<()> {
    // Both stores cut their days in Pacific time: "yesterday" there is published by both.
    let day = SystemClock
        .now()
        .with_timezone(&chrono_tz::America::Los_Angeles)
        .date_naive()
        .pred_opt()
        .ok_or_else(|| Error::internal("no day before today"))?;
    // Ctrl-C or SIGTERM at any point ends the demo through the same cleanup (the
    // temporary database is removed); while serving, it is `serve`'s graceful stop.
    let stop = stop_signal()?;
    let shutdown = CancellationToken::new();
    let watcher = tokio::spawn({
        let shutdown = shutdown.clone();
        async move {
            stop.await;
            shutdown.cancel();
        }
    });
    let database = Database::new(args.db)?;
    let fakes = Fakes::start(day, args.days).await?;
    let settings = Settings {
        database_url: database.url(),
        collection: crate::settings::CollectionSettings {
            lookback_days: args.days,
            ..settings.collection
        },
        ..settings
    };
    let keyring = Keyring::from_raw(&[("demo", rand::random::<[u8; 32]>())])?;
    let ctx = Context::open_with_keyring(settings, Some(keyring)).await?;
    let printed = tokio::select! {
        result = demo(&ctx, &fakes, &database, day, args.days) => result,
        () = shutdown.cancelled() => Err(Error::new(
            ErrorKind::Cancelled,
            "stopped by Ctrl-C or SIGTERM before the demo finished",
        )),
    };
    let result = match printed {
        Ok(()) if args.serve => serve_until_stopped(&ctx, shutdown).await,
        other => other,
    };
    watcher.abort();
    ctx.db.close().await;
    result
}

async fn demo(
    ctx: &Context,
    fakes: &Fakes,
    database: &Database,
    day: NaiveDate,
    days: u32,
) -> Result<()> {
    let setup = setup::populate(ctx, fakes).await?;
    let pipeline = ctx.pipeline()?;
    header(fakes, database, day, days);

    let started = Instant::now();
    let backfill = execute(ctx, &pipeline, Task::DataCollection, day).await?;
    let first = day
        .checked_sub_days(Days::new(u64::from(days) - 1))
        .unwrap_or(day);
    let points = ctx
        .store
        .history(&HistoryQuery::range(first, day))
        .await?
        .len();
    let (apple, google) = fakes.requests();
    println!(
        "backfill: {points} points collected for {} apps over {days} days \
         ({apple} requests to App Store Connect, {google} to Google Play) in {:.1?}",
        backfill.success_count,
        started.elapsed()
    );
    ensure_succeeded(&backfill)?;

    let run = execute(ctx, &pipeline, Task::FullAnalysis, day).await?;
    let analysis = analyze(ctx, day).await?;
    println!("\n== analysis of {day} ==");
    print!("{}", render::analysis_table(&analysis, &setup.apps));
    println!("\n== alerts fired ==");
    print!(
        "{}",
        render::alerts(
            &fired(ctx, &setup, &analysis).await?,
            &setup.rules,
            &setup.apps
        )
    );
    println!("\n== what Lark received ==");
    print!(
        "{}",
        render::lark(
            &fakes.lark.received(),
            &format!("\"{}\" tab {}", setup.sheet.name, fakes::SHEET_ID),
            &fakes.sheet_rows()
        )
    );
    println!("\n== execution record ==");
    for execution in [&backfill, &run] {
        let deliveries = ctx.store.list_deliveries(execution.id).await?;
        print!("{}", render::execution(execution, &deliveries));
    }
    ensure_succeeded(&run)
}

fn header(fakes: &Fakes, database: &Database, day: NaiveDate, days: u32) {
    println!(
        "storewatch demo: {} sample apps, {days} days of history up to {day} \
         (yesterday in America/Los_Angeles)",
        fakes.apps.len()
    );
    let planted: Vec<String> = fakes
        .planted
        .iter()
        .map(|p| format!("{} downloads ×{} on {day}", p.app, p.factor))
        .collect();
    println!(
        "  fakes on loopback: App Store Connect {}, Google Play {}, Lark {}",
        fakes.apple.base_url(),
        fakes.google.base_url(),
        fakes.lark.base_url()
    );
    println!("  planted anomalies: {}", planted.join("; "));
    println!("  database: {}", database.describe());
    println!(
        "  master key: a random throwaway made for this run, never shown or saved; \
         the sealed credentials cannot be opened once the demo exits"
    );
    println!();
}

/// Runs one task the way `storewatch run` does: a manual execution inserted, claimed
/// and executed, its end recorded.
async fn execute(
    ctx: &Context,
    pipeline: &Pipeline,
    task: Task,
    day: NaiveDate,
) -> Result<Execution> {
    let store = ctx.store.as_ref();
    let instance = InstanceId::from("demo");
    let now = store.now().await?;
    let inserted = store
        .insert_execution(NewExecution::manual(task, day, now))
        .await?
        .ok_or_else(|| Error::internal("the demo's manual execution was not inserted"))?;
    let claimed = store
        .claim_execution(&instance, Duration::from_secs(600))
        .await?
        .filter(|e| e.id == inserted.id)
        .ok_or_else(|| Error::internal("the demo's execution could not be claimed"))?;
    let (done, _retry) = pipeline
        .execute(
            &claimed,
            &instance,
            CancellationToken::new(),
            &RetryPolicy::default(),
        )
        .await?;
    Ok(done)
}

/// A failed run ends the demo with its errors (exit 1).
fn ensure_succeeded(run: &Execution) -> Result<()> {
    if run.status == ExecutionStatus::Success && run.error_count == 0 {
        return Ok(());
    }
    Err(Error::internal(format!(
        "the demo's {} ended {} with {} errors: {}",
        run.task,
        run.status,
        run.error_count,
        run.error_log.trim()
    )))
}

/// The analysis of `day` as the pipeline computed it: the same days, the same analyzer.
async fn analyze(ctx: &Context, day: NaiveDate) -> Result<Analysis> {
    let history = ctx
        .store
        .history(&HistoryQuery::new(DaySelection::Days(required_days(day))))
        .await?;
    PolarsAnalyzer::new().analyze(&history, day)
}

/// The alerts firing for `day` in the store, with the value and baseline that made
/// them fire (the rules evaluated again, on their own, against the same analysis).
async fn fired(
    ctx: &Context,
    setup: &Setup,
    analysis: &Analysis,
) -> Result<Vec<storewatch_core::alert::AlertEvent>> {
    let states = ctx.store.alert_states().await?;
    let evaluation =
        RuleEvaluator::new().evaluate(analysis, &setup.rules, &AlertStates::new(), ctx.clock.now());
    let mut events: Vec<_> = evaluation
        .events
        .into_iter()
        .filter(|e| {
            e.kind == AlertEventKind::Firing
                && states
                    .get(&e.fingerprint)
                    .is_some_and(|s| s.status == AlertStatus::Firing)
        })
        .collect();
    events.sort_by(|a, b| a.fingerprint.cmp(&b.fingerprint));
    Ok(events)
}

/// Hands the demo database to `serve` until `shutdown` (Ctrl-C or SIGTERM); the fakes
/// keep answering meanwhile.
async fn serve_until_stopped(ctx: &Context, shutdown: CancellationToken) -> Result<()> {
    println!(
        "\nserving the demo data (listening on {}) until Ctrl-C or SIGTERM; the fakes keep answering",
        ctx.settings.listen
    );
    crate::serve::serve(ctx.clone(), shutdown).await
}

/// A future that completes on Ctrl-C or SIGTERM, with both handlers installed already.
#[cfg(unix)]
fn stop_signal() -> Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let listen = |kind: SignalKind, name: &str| {
        signal(kind).map_err(|e| {
            Error::new(ErrorKind::Internal, format!("cannot listen for {name}")).with_source(e)
        })
    };
    let mut interrupt = listen(SignalKind::interrupt(), "Ctrl-C")?;
    let mut terminate = listen(SignalKind::terminate(), "SIGTERM")?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
        }
    })
}

/// A future that completes on Ctrl-C.
#[cfg(not(unix))]
fn stop_signal() -> Result<impl std::future::Future<Output = ()>> {
    Ok(async {
        let _ = tokio::signal::ctrl_c().await;
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::path::Path;

    use super::*;

    #[test]
    fn an_existing_db_path_is_refused_naming_the_flag() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("taken.db");
        std::fs::write(&path, b"").unwrap();
        let err = Database::new(Some(path.clone())).err().unwrap();
        assert!(err.to_string().contains("--db"), "{err}");
        assert!(
            err.to_string().contains(&path.display().to_string()),
            "{err}"
        );
        let fresh = Database::new(Some(dir.path().join("new.db"))).unwrap();
        assert_eq!(
            fresh.url(),
            format!("sqlite://{}", dir.path().join("new.db").display())
        );
        let temp = Database::new(None).unwrap();
        assert!(temp.path.parent().is_some_and(Path::exists));
    }
}
