//! `storewatch`: the reference binary that wires the storewatch libraries together.
//!
//! `storewatch demo` runs the whole collect → analyze → alert → notify cycle on a fresh
//! machine, with no credentials and no network: sample apps with 120 days of history
//! (a weekly pattern and an anomaly yesterday), the real pipeline, analyzer and rule
//! evaluator, and the Lark notifiers talking to a local FakeLark.

mod demo;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Watches mobile apps on the stores and tells people in Lark.
#[derive(Debug, Parser)]
#[command(name = "storewatch", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Runs a full cycle on sample data against local fakes and prints what Lark received.
    Demo(demo::DemoArgs),
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Demo(args) => demo::run(args).await,
    };
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
