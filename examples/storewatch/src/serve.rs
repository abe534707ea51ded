//! `storewatch serve`: the scheduler and the HTTP endpoints of one instance.
//!
//! Any number of instances may share one PostgreSQL database; each slot still runs once
//! (DESIGN §7). On SIGTERM or SIGINT an instance stops claiming work, lets its running
//! executions finish within `scheduler.shutdown_grace_secs` (cancelling and recording
//! the rest), deregisters, stops serving HTTP and exits 0. A second signal exits at
//! once; the runs it abandons keep leases that expire, and another instance reaps and
//! retries them.

mod http;
mod metrics;

use std::net::SocketAddr;
use std::sync::Arc;

use async_trait::async_trait;
use storewatch_core::model::Execution;
use storewatch_core::pipeline::Pipeline;
use storewatch_core::schedule::{ExecutionRunner, RunReport, Scheduler, StoreScheduler};
use storewatch_core::{Error, ErrorKind, Result};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::context::Context;
use crate::settings::Settings;

/// Options of `storewatch serve`.
#[derive(Debug, clap::Args)]
pub(crate) struct ServeArgs {
    /// Address to serve /healthz, /readyz and /metrics on (overrides `listen` and
    /// STOREWATCH_LISTEN; default 127.0.0.1:8080).
    #[arg(long, value_name = "ADDR:PORT")]
    listen: Option<SocketAddr>,
}

/// Runs `storewatch serve` until SIGTERM or SIGINT.
pub(crate) async fn run(args: ServeArgs, mut settings: Settings) -> Result<()> {
    // Signals first, so one that arrives while the database is being opened still
    // shuts down cleanly.
    let shutdown = shutdown_on_signals(settings.scheduler.shutdown_grace_secs)?;
    if let Some(listen) = args.listen {
        settings.listen = listen;
    }
    let ctx = Context::open(settings).await?;
    serve(ctx, shutdown).await
}

/// Serves HTTP on `ctx.settings.listen` and runs the scheduler until `shutdown` is
/// cancelled, then shuts down gracefully: no new claims, running executions get the
/// shutdown grace, the instance deregisters, HTTP stops last (so probes see the drain).
pub(crate) async fn serve(ctx: Context, shutdown: CancellationToken) -> Result<()> {
    let listen = ctx.settings.listen;
    let listener = TcpListener::bind(listen).await.map_err(|e| {
        Error::new(
            ErrorKind::Config,
            format!("cannot listen on {listen} (setting listen / STOREWATCH_LISTEN / --listen)"),
        )
        .with_source(e)
    })?;
    let runner = Arc::new(LoggedRunner(ctx.pipeline()?));
    let scheduler = StoreScheduler::new(
        ctx.store.clone(),
        runner,
        ctx.clock.clone(),
        ctx.settings.scheduler_config(),
    )?;
    tracing::info!(
        instance = %scheduler.instance_id(),
        pid = std::process::id(),
        listen = %listener.local_addr().unwrap_or(listen),
        database = %ctx.settings.database_display(),
        "storewatch serve started"
    );

    let router = http::router(http::AppState {
        db: ctx.db.clone(),
        store: ctx.store.clone(),
        clock: ctx.clock.clone(),
        scheduler: scheduler.clone(),
        shutdown: shutdown.clone(),
    });
    let http_stop = CancellationToken::new();
    let server = {
        let stop = http_stop.clone();
        let shutdown = shutdown.clone();
        tokio::spawn(async move {
            let served = axum::serve(listener, router)
                .with_graceful_shutdown(stop.cancelled_owned())
                .await;
            if let Err(e) = &served {
                tracing::error!(error = %e, "the HTTP server failed; shutting down");
                shutdown.cancel();
            }
            served
        })
    };

    let scheduled = scheduler.run(shutdown).await;
    http_stop.cancel();
    let served = server.await;
    ctx.db.close().await;
    scheduled?;
    match served {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            return Err(Error::new(ErrorKind::Unavailable, "the HTTP server failed").with_source(e));
        }
        Err(e) => return Err(Error::internal("the HTTP server task failed").with_source(e)),
    }
    tracing::info!(instance = %scheduler.instance_id(), "storewatch serve stopped");
    Ok(())
}

/// A token cancelled by the first SIGTERM or SIGINT (the process exits at once on the
/// second), for [`serve`]; `grace_secs` is only logged.
pub(crate) fn shutdown_on_signals(grace_secs: u64) -> Result<CancellationToken> {
    use tokio::signal::unix::{SignalKind, signal};
    let shutdown = CancellationToken::new();
    let token = shutdown.clone();
    let listen = |kind: SignalKind, name: &str| {
        signal(kind).map_err(|e| {
            Error::internal(format!("cannot install the {name} handler")).with_source(e)
        })
    };
    let mut term = listen(SignalKind::terminate(), "SIGTERM")?;
    let mut int = listen(SignalKind::interrupt(), "SIGINT")?;
    tokio::spawn(async move {
        let name = tokio::select! {
            _ = term.recv() => "SIGTERM",
            _ = int.recv() => "SIGINT",
        };
        tracing::info!(
            signal = name,
            grace_secs,
            "shutting down: no new runs, running executions may finish (a second signal exits at once)"
        );
        shutdown.cancel();
        let name = tokio::select! {
            _ = term.recv() => "SIGTERM",
            _ = int.recv() => "SIGINT",
        };
        tracing::warn!(
            signal = name,
            "second signal: exiting now; unfinished executions are reaped by another instance"
        );
        std::process::exit(1);
    });
    Ok(token)
}

/// The pipeline, logging each execution as it starts (the scheduler logs its end).
#[derive(Debug)]
struct LoggedRunner(Pipeline);

#[async_trait]
impl ExecutionRunner for LoggedRunner {
    async fn run(&self, execution: &Execution, cancel: CancellationToken) -> RunReport {
        tracing::info!(
            execution = %execution.id,
            task = %execution.task,
            trigger = %execution.trigger,
            attempt = execution.attempt,
            schedule = ?execution.schedule_id.map(|s| s.0),
            app = ?execution.app_id.map(|a| a.0),
            target_date = %execution.target_date,
            "execution started"
        );
        self.0.run(execution, cancel).await
    }
}
