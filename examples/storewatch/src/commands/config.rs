//! `storewatch config`: the whole configuration (everything but secret values) as one
//! TOML document, exported from a database and applied declaratively to another.
//!
//! Applying is idempotent: a file applied twice changes nothing the second time, and
//! the file exported from a database applies to it as a no-op. A bad file changes
//! nothing: every record is parsed, resolved and validated before the first write. A
//! store error in the middle of the writes leaves those before it; applying the same
//! file again finishes the job.

#![allow(clippy::print_stdout)] // the plan and the export are the commands' output

mod apply;
mod current;
mod document;
mod plan;
mod resolve;

use std::path::PathBuf;

use storewatch_core::{Error, ErrorKind, Result};

use crate::context::Context;
use crate::settings::Settings;

use self::current::Current;
use self::document::Document;

/// Subcommands of `storewatch config`.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum ConfigCommand {
    /// Makes the database's configuration what a TOML file says: prints the plan
    /// (+ create, ~ update, - delete), then applies it.
    ///
    /// Records are matched by identity: apps by platform and bundle id, everything
    /// else by name. Credentials and channels hold secrets, so the file can only name
    /// existing ones (add them with `storewatch credentials add` / `channels add`).
    /// Records of the database that the file does not name are reported and kept,
    /// unless --prune.
    Apply(ApplyArgs),
    /// Prints the whole configuration as TOML (secrets are never included).
    Export(ExportArgs),
}

/// Options of `storewatch config apply`.
#[derive(Debug, clap::Args)]
pub(crate) struct ApplyArgs {
    /// The TOML file to apply (as written by `storewatch config export`).
    #[arg(value_name = "FILE")]
    file: PathBuf,
    /// Print the plan and change nothing.
    #[arg(long)]
    dry_run: bool,
    /// Also delete the records of the database that the file does not name (deleting
    /// an app deletes its metric history).
    #[arg(long)]
    prune: bool,
}

/// Options of `storewatch config export`.
#[derive(Debug, clap::Args)]
pub(crate) struct ExportArgs {
    /// Write to this file instead of stdout.
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
}

/// Runs `storewatch config`.
pub(crate) async fn run(cmd: ConfigCommand, settings: Settings) -> Result<()> {
    match cmd {
        ConfigCommand::Apply(args) => apply(args, settings).await,
        ConfigCommand::Export(args) => export(args, settings).await,
    }
}

async fn apply(args: ApplyArgs, settings: Settings) -> Result<()> {
    let file = args.file.display().to_string();
    let text = std::fs::read_to_string(&args.file).map_err(|e| {
        Error::new(
            ErrorKind::InvalidInput,
            format!("cannot read the configuration file {file}"),
        )
        .with_source(e)
    })?;
    // Parse before connecting: a bad file is reported even without a database.
    let (doc, lines) = Document::parse(&text, &file)?;
    let ctx = Context::open(settings).await?;
    let current = Current::load(ctx.store.as_ref()).await?;
    let desired = resolve::resolve(&doc, &lines, &current, args.prune)?;
    let plan = plan::plan(desired, &current, args.prune)?;
    print!("{}", plan.render());
    if args.dry_run {
        println!("Dry run: nothing was changed.");
        return Ok(());
    }
    if plan.is_noop() {
        return Ok(());
    }
    let done = apply::apply(plan, ctx.store.as_ref()).await?;
    println!(
        "Applied: {} created, {} updated, {} deleted.",
        done.created, done.updated, done.deleted
    );
    Ok(())
}

async fn export(args: ExportArgs, settings: Settings) -> Result<()> {
    let ctx = Context::open(settings).await?;
    let doc = Current::load(ctx.store.as_ref()).await?.export();
    let text = doc.render()?;
    match args.output {
        None => print!("{text}"),
        Some(path) => std::fs::write(&path, text).map_err(|e| {
            Error::new(
                ErrorKind::InvalidInput,
                format!("cannot write {}", path.display()),
            )
            .with_source(e)
        })?,
    }
    Ok(())
}
