//! `storewatch`: the reference binary that wires the storewatch libraries together.
//!
//! It holds configuration, wiring and a CLI; the behaviour lives in the libraries.
//! `storewatch serve` runs the scheduler and the HTTP endpoints, `storewatch demo` runs
//! the whole collect → analyze → alert → notify cycle on a fresh machine against local
//! fakes, and the other commands manage and inspect what `serve` runs.

mod commands;
mod context;
mod demo;
mod output;
mod serve;
mod settings;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use storewatch_core::Result;

use crate::commands::{
    analyze, apps, channels, config, credentials, executions, keys, metrics, reports, rules, runs,
    scheduler, schedules,
};
use crate::settings::{LogFormat, Settings};

/// Watches mobile apps on the stores and tells people in Lark.
///
/// Settings come from storewatch.toml (or --config) and STOREWATCH_* environment
/// variables, which win; DATABASE_URL selects the database (default
/// sqlite://storewatch.db). Master keys come from STOREWATCH_MASTER_KEY(S).
#[derive(Debug, Parser)]
#[command(name = "storewatch", version, about, long_about)]
struct Cli {
    /// The settings file (default: storewatch.toml when it exists).
    #[arg(long, global = true, env = "STOREWATCH_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Runs the scheduler and the HTTP endpoints (/healthz, /readyz, /metrics) until SIGTERM.
    Serve(serve::ServeArgs),
    /// Runs a full cycle on sample apps against local fakes and prints what Lark received.
    Demo(demo::DemoArgs),
    /// Applies the database migrations and exits.
    Migrate,
    /// Runs one task now, recorded as a manual execution, and prints its record.
    Run(runs::RunArgs),
    /// Queues a run of a schedule now, outside its slots.
    Trigger(runs::TriggerArgs),
    /// Queues a retry of a failed, timed-out or cancelled execution.
    Retry(runs::ExecutionArg),
    /// Cancels a pending execution or asks a running one to stop.
    Cancel(runs::ExecutionArg),
    /// Lists and shows executions.
    #[command(subcommand)]
    Executions(executions::ExecutionsCommand),
    /// Shows the scheduler's instances, next fire times, running and queued runs.
    #[command(subcommand)]
    Scheduler(scheduler::SchedulerCommand),
    /// Manages the watched apps.
    #[command(subcommand)]
    Apps(apps::AppsCommand),
    /// Manages provider credentials (their secrets are never printed back).
    #[command(subcommand)]
    Credentials(credentials::CredentialsCommand),
    /// Manages notification channels (Lark bots and spreadsheets).
    #[command(subcommand)]
    Channels(channels::ChannelsCommand),
    /// Manages alert rules.
    #[command(subcommand)]
    Rules(rules::RulesCommand),
    /// Manages daily reports.
    #[command(subcommand)]
    Reports(reports::ReportsCommand),
    /// Manages schedules.
    #[command(subcommand)]
    Schedules(schedules::SchedulesCommand),
    /// Applies or exports the whole configuration (everything but secret values) as TOML.
    #[command(subcommand)]
    Config(config::ConfigCommand),
    /// Imports and exports metric points as CSV.
    #[command(subcommand)]
    Metrics(metrics::MetricsCommand),
    /// Prints the analysis of one day as CSV.
    Analyze(analyze::AnalyzeArgs),
    /// Manages the master keys.
    #[command(subcommand)]
    Keys(keys::KeysCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = run(cli);
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            #[allow(clippy::print_stderr)] // the CLI's one error line
            {
                eprintln!("storewatch: {e}");
            }
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    let settings = Settings::load(cli.config.as_deref(), std::env::vars())?;
    init_logging(&settings, matches!(cli.command, Command::Serve(_)));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| storewatch_core::Error::internal("cannot start the runtime").with_source(e))?;
    runtime.block_on(dispatch(cli.command, settings))
}

async fn dispatch(command: Command, settings: Settings) -> Result<()> {
    match command {
        Command::Serve(args) => serve::run(args, settings).await,
        Command::Demo(args) => demo::run(args, settings).await,
        Command::Migrate => commands::migrate(settings).await,
        Command::Run(args) => runs::run(args, settings).await,
        Command::Trigger(args) => runs::trigger(args, settings).await,
        Command::Retry(args) => runs::retry(args, settings).await,
        Command::Cancel(args) => runs::cancel(args, settings).await,
        Command::Executions(cmd) => executions::run(cmd, settings).await,
        Command::Scheduler(cmd) => scheduler::run(cmd, settings).await,
        Command::Apps(cmd) => apps::run(cmd, settings).await,
        Command::Credentials(cmd) => credentials::run(cmd, settings).await,
        Command::Channels(cmd) => channels::run(cmd, settings).await,
        Command::Rules(cmd) => rules::run(cmd, settings).await,
        Command::Reports(cmd) => reports::run(cmd, settings).await,
        Command::Schedules(cmd) => schedules::run(cmd, settings).await,
        Command::Config(cmd) => config::run(cmd, settings).await,
        Command::Metrics(cmd) => metrics::run(cmd, settings).await,
        Command::Analyze(args) => analyze::run(args, settings).await,
        Command::Keys(cmd) => keys::run(cmd, settings).await,
    }
}

/// `serve` logs to stdout at the configured level; other commands keep stdout for their
/// output and log warnings and errors to stderr.
fn init_logging(settings: &Settings, serving: bool) {
    use tracing_subscriber::EnvFilter;
    let filter = if serving {
        EnvFilter::try_new(&settings.log_level).unwrap_or_else(|_| EnvFilter::new("info"))
    } else {
        EnvFilter::new("warn")
    };
    use std::io::IsTerminal;
    // Colours only for a person at a terminal, never in files or journald.
    let ansi = if serving {
        std::io::stdout().is_terminal()
    } else {
        std::io::stderr().is_terminal()
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi);
    let _ = match (settings.log_format, serving) {
        (LogFormat::Json, true) => builder.json().with_writer(std::io::stdout).try_init(),
        (LogFormat::Text, true) => builder.with_writer(std::io::stdout).try_init(),
        (LogFormat::Json, false) => builder.json().with_writer(std::io::stderr).try_init(),
        (LogFormat::Text, false) => builder.with_writer(std::io::stderr).try_init(),
    };
}
