//! `storewatch run`, `trigger`, `retry` and `cancel`: runs asked for by a person.

use std::time::Duration;

use chrono::NaiveDate;
use storewatch_core::model::{
    Execution, ExecutionId, ExecutionStatus, InstanceId, NewExecution, Task,
};
use storewatch_core::schedule::{Scheduler, TriggerRequest};
use storewatch_core::{Error, ErrorKind, Result};
use tokio_util::sync::CancellationToken;

use super::executions;
use crate::context::Context;
use crate::output::Format;
use crate::settings::Settings;

/// Options of `storewatch run`.
#[derive(Debug, clap::Args)]
pub(crate) struct RunArgs {
    /// The task: data-collection, full-analysis or alert-check.
    #[arg(long, value_parser = parse_task)]
    task: Task,
    /// Only this app (id, name, bundle id or `ios:`/`android:` + bundle id); default: every
    /// active app.
    #[arg(long)]
    app: Option<String>,
    /// The reporting day (YYYY-MM-DD); default: yesterday (UTC).
    #[arg(long, value_parser = parse_day)]
    date: Option<NaiveDate>,
    /// Send no message (reports and alert cards are computed but not delivered).
    #[arg(long)]
    skip_notifications: bool,
    /// Output format of the execution record.
    #[arg(long, value_enum, default_value_t)]
    format: Format,
}

/// Options of `storewatch trigger`.
#[derive(Debug, clap::Args)]
pub(crate) struct TriggerArgs {
    /// The schedule (id or name).
    schedule: String,
    /// Output format of the queued execution.
    #[arg(long, value_enum, default_value_t)]
    format: Format,
}

/// One execution id.
#[derive(Debug, clap::Args)]
pub(crate) struct ExecutionArg {
    /// The execution id.
    execution: ExecutionId,
    /// Output format of the execution record.
    #[arg(long, value_enum, default_value_t)]
    format: Format,
}

fn parse_task(s: &str) -> Result<Task> {
    s.parse()
}

/// A `YYYY-MM-DD` day.
pub(crate) fn parse_day(s: &str) -> Result<NaiveDate> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .map_err(|_| Error::invalid_field("date", s, "a day as YYYY-MM-DD"))
}

/// How long the CLI holds a run it executes, renewed every third of it.
const LEASE: Duration = Duration::from_secs(60);

/// Runs `storewatch run`: records a manual execution, executes it in this process
/// (unless a `serve` instance claims it first, in which case this waits for it), prints
/// its record, and fails unless it succeeded.
pub(crate) async fn run(args: RunArgs, settings: Settings) -> Result<()> {
    let ctx = Context::open(settings).await?;
    let pipeline = ctx.pipeline()?;
    let app_id = match &args.app {
        Some(key) => Some(super::lookup::app(ctx.store.as_ref(), key).await?.id),
        None => None,
    };
    let date = args
        .date
        .unwrap_or_else(|| pipeline.today().pred_opt().unwrap_or_default());
    let now = ctx.store.now().await?;
    let mut new = NewExecution::manual(args.task, date, now).with_app(app_id);
    new.skip_notifications = args.skip_notifications;
    let queued = ctx
        .store
        .insert_execution(new)
        .await?
        .ok_or_else(|| Error::internal("a manual execution was not inserted"))?;
    let instance = InstanceId(format!("cli-{}", std::process::id()));
    let done = match ctx
        .store
        .claim_execution_id(queued.id, &instance, LEASE)
        .await?
    {
        Some(claimed) => execute(&ctx, &pipeline, claimed, &instance).await?,
        None => wait_for_end(&ctx, queued.id).await?,
    };
    executions::listing(std::slice::from_ref(&done)).print_record(args.format)?;
    ended_well(&done)
}

/// Executes a claimed execution, renewing its lease and honouring a cancel asked for
/// from elsewhere (`storewatch cancel`) or Ctrl-C.
async fn execute(
    ctx: &Context,
    pipeline: &storewatch_core::pipeline::Pipeline,
    claimed: Execution,
    instance: &InstanceId,
) -> Result<Execution> {
    let cancel = CancellationToken::new();
    let renewer = {
        let (store, cancel, id, instance) = (
            ctx.store.clone(),
            cancel.clone(),
            claimed.id,
            instance.clone(),
        );
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    () = tokio::time::sleep(LEASE / 3) => {}
                    _ = tokio::signal::ctrl_c() => {
                        cancel.cancel();
                        return;
                    }
                }
                match store.renew_lease(id, &instance, LEASE).await {
                    Ok(lease) if lease.cancel_requested => cancel.cancel(),
                    Ok(_) => {}
                    Err(e) => {
                        tracing::warn!(execution = %id, error = %e, "renewing the lease failed")
                    }
                }
            }
        })
    };
    let retry = ctx.settings.scheduler_config().retry;
    let outcome = pipeline.execute(&claimed, instance, cancel, &retry).await;
    renewer.abort();
    let (done, _retry) = outcome?;
    Ok(done)
}

/// Waits for an execution another instance is running to end.
async fn wait_for_end(ctx: &Context, id: ExecutionId) -> Result<Execution> {
    tracing::warn!(execution = %id, "another instance took the run; waiting for it to end");
    loop {
        let e = ctx.store.get_execution(id).await?;
        if e.status.is_final() {
            return Ok(e);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// An error unless the execution succeeded (the exit code says how a run went).
fn ended_well(e: &Execution) -> Result<()> {
    if e.status == ExecutionStatus::Success {
        return Ok(());
    }
    let why = e.error_log.lines().next().unwrap_or("see its error log");
    Err(Error::new(
        ErrorKind::Internal,
        format!("execution {} ended {}: {why}", e.id, e.status),
    ))
}

/// Queues `req` and prints the queued execution.
async fn queue(ctx: &Context, req: TriggerRequest, format: Format) -> Result<()> {
    let id = ctx.scheduler()?.trigger(req).await?;
    let e = ctx.store.get_execution(id).await?;
    executions::listing(std::slice::from_ref(&e)).print_record(format)?;
    tracing::info!(execution = %id, "queued; a running `storewatch serve` executes it");
    Ok(())
}

/// Runs `storewatch trigger`.
pub(crate) async fn trigger(args: TriggerArgs, settings: Settings) -> Result<()> {
    let ctx = Context::open(settings).await?;
    let schedule = super::lookup::schedule(ctx.store.as_ref(), &args.schedule).await?;
    queue(&ctx, TriggerRequest::Schedule(schedule.id), args.format).await
}

/// Runs `storewatch retry`.
pub(crate) async fn retry(args: ExecutionArg, settings: Settings) -> Result<()> {
    let ctx = Context::open(settings).await?;
    queue(&ctx, TriggerRequest::Retry(args.execution), args.format).await
}

/// Runs `storewatch cancel`.
pub(crate) async fn cancel(args: ExecutionArg, settings: Settings) -> Result<()> {
    let ctx = Context::open(settings).await?;
    ctx.scheduler()?.cancel(args.execution).await?;
    let e = ctx.store.get_execution(args.execution).await?;
    executions::listing(std::slice::from_ref(&e)).print_record(args.format)
}
