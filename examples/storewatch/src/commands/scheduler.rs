//! `storewatch scheduler status`: the instances sharing the database, each schedule's
//! next fire time and last success, and what is running or queued.

#![allow(clippy::print_stdout)] // the status is printed in sections

use serde_json::json;
use storewatch_core::Result;
use storewatch_core::schedule::Scheduler;

use super::executions;
use crate::context::Context;
use crate::output::{Format, Listing, opt};
use crate::settings::Settings;

/// Subcommands of `storewatch scheduler`.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum SchedulerCommand {
    /// Shows instances, schedules with their next fire time, running and queued runs.
    Status {
        /// Output format (json prints one object with the four lists).
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
}

/// Runs `storewatch scheduler`.
pub(crate) async fn run(cmd: SchedulerCommand, settings: Settings) -> Result<()> {
    let SchedulerCommand::Status { format } = cmd;
    let ctx = Context::open(settings).await?;
    let status = ctx.scheduler()?.status().await?;

    let mut instances = Listing::new(&["id", "host", "pid", "version", "started_at", "last_seen"]);
    for i in &status.instances {
        instances.push(vec![
            json!(i.id.0),
            json!(i.host),
            json!(i.pid),
            json!(i.version),
            json!(i.started_at.to_rfc3339()),
            json!(i.last_seen.to_rfc3339()),
        ]);
    }
    let mut schedules = Listing::new(&["id", "name", "active", "next_fire", "last_success"]);
    for s in &status.schedules {
        schedules.push(vec![
            json!(s.schedule_id.0),
            json!(s.name),
            json!(s.is_active),
            opt(s.next_fire.map(|t| t.to_rfc3339())),
            opt(s.last_success.map(|t| t.to_rfc3339())),
        ]);
    }
    let sections = [
        ("instances", instances),
        ("schedules", schedules),
        ("running", executions::listing(&status.running)),
        ("queued", executions::listing(&status.queued)),
    ];
    if format == Format::Json {
        let object: serde_json::Map<String, serde_json::Value> = sections
            .iter()
            .map(|(name, listing)| ((*name).to_owned(), listing.to_json()))
            .collect();
        println!("{}", serde_json::Value::Object(object));
        return Ok(());
    }
    for (i, (name, listing)) in sections.iter().enumerate() {
        if i > 0 {
            println!();
        }
        println!("{name} ({})", listing.len());
        listing.print(format)?;
    }
    Ok(())
}
