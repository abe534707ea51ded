//! `storewatch executions list|show`: what ran, how it ended, what it logged and
//! delivered.

use serde_json::{Value, json};
use storewatch_core::Result;
use storewatch_core::model::{Execution, ExecutionFilter, ExecutionId, ExecutionStatus};

use crate::context::Context;
use crate::output::{Format, Listing, opt};
use crate::settings::Settings;

/// Subcommands of `storewatch executions`.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum ExecutionsCommand {
    /// Lists executions, newest first.
    List {
        /// Only executions with this status (repeatable): pending, running, success,
        /// failed, timeout, cancelled, skipped.
        #[arg(long, value_parser = parse_status)]
        status: Vec<ExecutionStatus>,
        /// Only this schedule's executions (id or name).
        #[arg(long)]
        schedule: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 50)]
        limit: usize,
        /// Output format.
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// Shows one execution with its logs and deliveries.
    Show {
        /// The execution id.
        execution: ExecutionId,
        /// Output format.
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
}

fn parse_status(s: &str) -> Result<ExecutionStatus> {
    s.parse()
}

/// Runs `storewatch executions`.
pub(crate) async fn run(cmd: ExecutionsCommand, settings: Settings) -> Result<()> {
    let ctx = Context::open(settings).await?;
    match cmd {
        ExecutionsCommand::List {
            status,
            schedule,
            limit,
            format,
        } => {
            let mut filter = ExecutionFilter::all()
                .with_statuses(status)
                .with_limit(limit);
            if let Some(key) = schedule {
                filter = filter
                    .with_schedule(super::lookup::schedule(ctx.store.as_ref(), &key).await?.id);
            }
            listing(&ctx.store.list_executions(&filter).await?).print(format)
        }
        ExecutionsCommand::Show { execution, format } => {
            let e = ctx.store.get_execution(execution).await?;
            let deliveries = ctx.store.list_deliveries(e.chain_id()).await?;
            let mut record =
                Listing::new(&[COLUMNS, &["output_log", "error_log", "deliveries"]].concat());
            let mut row = cells(&e);
            row.push(json!(e.output_log));
            row.push(json!(e.error_log));
            row.push(Value::Array(
                deliveries
                    .iter()
                    .map(|d| {
                        json!({
                            "channel_id": d.channel_id.0,
                            "message": d.message_key,
                            "status": d.status,
                            "attempts": d.attempts,
                            "error": d.error,
                        })
                    })
                    .collect(),
            ));
            record.push(row);
            record.print_record(format)
        }
    }
}

/// The columns of an execution listing.
pub(crate) const COLUMNS: &[&str] = &[
    "id",
    "task",
    "trigger",
    "status",
    "schedule_id",
    "app_id",
    "target_date",
    "attempt",
    "retry_of",
    "claimed_by",
    "created_at",
    "started_at",
    "duration_s",
    "ok",
    "errors",
    "alerts",
    "messages",
];

/// One execution as listing cells, in [`COLUMNS`] order.
pub(crate) fn cells(e: &Execution) -> Vec<Value> {
    vec![
        json!(e.id.0),
        json!(e.task.to_string()),
        json!(e.trigger.to_string()),
        json!(e.status.to_string()),
        opt(e.schedule_id.map(|s| s.0)),
        opt(e.app_id.map(|a| a.0)),
        json!(e.target_date.to_string()),
        json!(e.attempt),
        opt(e.retry_of.map(|r| r.0)),
        opt(e.claimed_by.as_ref().map(|c| c.0.clone())),
        json!(e.created_at.to_rfc3339()),
        opt(e.started_at.map(|t| t.to_rfc3339())),
        opt(e
            .duration
            .map(|d| (d.as_secs_f64() * 1000.0).round() / 1000.0)),
        json!(e.success_count),
        json!(e.error_count),
        json!(e.alerts_generated),
        json!(e.notifications_sent),
    ]
}

/// Executions as a listing.
pub(crate) fn listing(executions: &[Execution]) -> Listing {
    let mut listing = Listing::new(COLUMNS);
    for e in executions {
        listing.push(cells(e));
    }
    listing
}
