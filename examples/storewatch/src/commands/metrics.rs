//! `storewatch metrics import|export`: metric points as CSV with the columns
//! `platform,bundle_id,metric,date,segment,value` (one row per app, metric, day and
//! segment; an empty segment is the total).
//!
//! An export imports back exactly: values are written in the shortest form that
//! parses back to the same number, and importing is an idempotent upsert.

mod export;
mod import;

use std::path::PathBuf;

use chrono::NaiveDate;
use storewatch_core::Result;
use storewatch_core::model::Metric;

use crate::settings::Settings;

/// The CSV columns, in the order export writes them.
pub(crate) const COLUMNS: [&str; 6] = [
    "platform",
    "bundle_id",
    "metric",
    "date",
    "segment",
    "value",
];

/// Subcommands of `storewatch metrics`.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum MetricsCommand {
    /// Imports metric points from CSV (platform,bundle_id,metric,date,segment,value).
    ///
    /// Every row is checked before anything is written: a bad row fails the import
    /// and names its line, column and value. Points already stored are replaced, so
    /// importing the same file twice changes nothing.
    Import(ImportArgs),
    /// Prints metric points as CSV, sorted by platform (ios, then android), bundle id,
    /// metric, date and segment.
    Export(ExportArgs),
}

/// Options of `storewatch metrics import`.
#[derive(Debug, clap::Args)]
pub(crate) struct ImportArgs {
    /// The CSV file, with the header platform,bundle_id,metric,date,segment,value.
    #[arg(value_name = "FILE")]
    file: PathBuf,
    /// Create the apps the file names that do not exist yet (named after their
    /// bundle id) instead of refusing the file.
    #[arg(long)]
    create_apps: bool,
}

/// Options of `storewatch metrics export`.
#[derive(Debug, clap::Args)]
pub(crate) struct ExportArgs {
    /// Only this app (id, name, bundle id or platform:bundle id); repeat for several.
    #[arg(long = "app", value_name = "APP")]
    apps: Vec<String>,
    /// First day, YYYY-MM-DD (default: the earliest stored).
    #[arg(long, value_name = "DAY")]
    from: Option<NaiveDate>,
    /// Last day, YYYY-MM-DD (default: the latest stored).
    #[arg(long, value_name = "DAY")]
    to: Option<NaiveDate>,
    /// Only this metric, e.g. downloads; repeat for several.
    #[arg(long = "metric", value_name = "METRIC")]
    metrics: Vec<Metric>,
}

/// Runs `storewatch metrics`.
pub(crate) async fn run(cmd: MetricsCommand, settings: Settings) -> Result<()> {
    match cmd {
        MetricsCommand::Import(args) => import::run(args, settings).await,
        MetricsCommand::Export(args) => export::run(args, settings).await,
    }
}
