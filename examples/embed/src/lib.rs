//! storewatch inside a team's own tokio service: the team's axum API and storewatch's
//! scheduler share one runtime, one store and one shutdown token.
//!
//! [`registry`] picks the providers; [`run`] builds the [`Pipeline`], runs the
//! [`StoreScheduler`] (it fires the store's schedules, runs what is triggered, retries
//! what fails) beside the team's HTTP API, and on shutdown lets both finish their work.
//! The team's own code triggers a run with `POST /storewatch/run?date=YYYY-MM-DD`.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::NaiveDate;
use serde::Deserialize;
use storewatch_core::alert::RuleEvaluator;
use storewatch_core::analysis::PolarsAnalyzer;
use storewatch_core::clock::SystemClock;
use storewatch_core::model::{ExecutionId, Task};
use storewatch_core::pipeline::Pipeline;
use storewatch_core::schedule::{
    CancellationToken, Scheduler, SchedulerConfig, StoreScheduler, TriggerRequest,
};
use storewatch_core::secrets::Keyring;
use storewatch_core::store::Store;
use storewatch_core::{Error, ErrorKind, Registry, Result};
use tokio::net::TcpListener;

/// The providers this service uses: App Store Connect and Google Play credentials,
/// Lark channels (webhook bots and sheets).
pub fn registry() -> Registry {
    let mut registry = Registry::new();
    storewatch_apple::register(&mut registry);
    storewatch_google::register(&mut registry);
    storewatch_lark::register(&mut registry);
    registry
}

/// Serves the team's API on `listener` and runs storewatch beside it until `shutdown` is
/// cancelled: the server then drains its requests, the scheduler stops claiming and lets
/// running executions finish (30 s grace) before it deregisters.
pub async fn run(
    store: Arc<dyn Store>,
    registry: Registry,
    keyring: Keyring,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> Result<()> {
    let pipeline = Pipeline::builder(store.clone(), registry)
        .analyzer(Arc::new(PolarsAnalyzer::new()))
        .evaluator(Arc::new(RuleEvaluator::new()))
        .keyring(keyring)
        .build()?;
    let config = SchedulerConfig::default();
    let scheduler = StoreScheduler::new(store, Arc::new(pipeline), Arc::new(SystemClock), config)?;
    let api = Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/storewatch/run", post(run_now))
        .with_state(scheduler.clone());
    let server = async {
        let stopped = shutdown.clone().cancelled_owned();
        let served = axum::serve(listener, api)
            .with_graceful_shutdown(stopped)
            .await;
        shutdown.cancel(); // a server that ends on its own takes the scheduler with it
        served.map_err(|e| Error::new(ErrorKind::Unavailable, "HTTP server").with_source(e))
    };
    let (served, scheduled) = tokio::join!(server, scheduler.run(shutdown.clone()));
    served.and(scheduled)
}

/// The query of `POST /storewatch/run`.
#[derive(Debug, Deserialize)]
struct RunNow {
    /// The reporting day (`YYYY-MM-DD`); a malformed one is a 400 from the extractor.
    date: NaiveDate,
}

/// Queues a FullAnalysis (collect, alert, report) of every active app for the day; the
/// scheduler wakes and starts it at once. Answers the execution id to follow.
async fn run_now(
    State(scheduler): State<StoreScheduler>,
    Query(q): Query<RunNow>,
) -> std::result::Result<Json<ExecutionId>, (StatusCode, String)> {
    let target_date = q.date;
    let req = TriggerRequest::Manual {
        task: Task::FullAnalysis,
        app_id: None,
        target_date,
    };
    match scheduler.trigger(req).await {
        Ok(id) => Ok(Json(id)),
        Err(e) if e.is_retryable() => Err((StatusCode::SERVICE_UNAVAILABLE, e.to_string())),
        Err(e) => Err((StatusCode::INTERNAL_SERVER_ERROR, e.to_string())),
    }
}
