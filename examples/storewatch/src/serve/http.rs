//! The HTTP endpoints of `serve`: `/healthz` (the process answers), `/readyz` (the
//! database answers, its schema is current, the instance is not draining) and
//! `/metrics` (Prometheus text format, computed from the store at scrape time).

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use storewatch_core::clock::Clock;
use storewatch_core::schedule::StoreScheduler;
use storewatch_core::store::Store;
use tokio_util::sync::CancellationToken;
use tower_http::trace::{DefaultOnFailure, DefaultOnResponse, TraceLayer};
use tracing::Level;

use crate::context::Database;

/// How long a readiness check may wait for the database before it answers "not ready".
const READY_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a scrape may wait for the store.
const SCRAPE_TIMEOUT: Duration = Duration::from_secs(20);

/// What the handlers read.
#[derive(Debug, Clone)]
pub(crate) struct AppState {
    /// The database, for its migration state.
    pub(crate) db: Database,
    /// The database as a store.
    pub(crate) store: Arc<dyn Store>,
    /// The clock (today's date for the collection lag).
    pub(crate) clock: Arc<dyn Clock>,
    /// This instance's scheduler.
    pub(crate) scheduler: StoreScheduler,
    /// Cancelled once shutdown has begun.
    pub(crate) shutdown: CancellationToken,
}

/// The routes, with a request log: each request at DEBUG, server errors at WARN.
pub(crate) fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .layer(
            TraceLayer::new_for_http()
                .on_response(DefaultOnResponse::new().level(Level::DEBUG))
                .on_failure(DefaultOnFailure::new().level(Level::WARN)),
        )
        .with_state(state)
}

fn text(status: StatusCode, body: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        body,
    )
        .into_response()
}

/// Liveness: the process serves requests (also while draining, so an orchestrator
/// does not kill an instance that is finishing its runs).
async fn healthz() -> Response {
    text(StatusCode::OK, "ok\n".to_owned())
}

/// Readiness: not draining, the database answers, and no migration is pending.
async fn readyz(State(state): State<AppState>) -> Response {
    match ready(&state).await {
        Ok(()) => text(StatusCode::OK, "ready\n".to_owned()),
        Err(why) => text(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready: {why}\n"),
        ),
    }
}

async fn ready(state: &AppState) -> std::result::Result<(), String> {
    if state.shutdown.is_cancelled() {
        return Err("shutting down".to_owned());
    }
    let checks = async {
        state.store.now().await.map_err(|e| {
            tracing::warn!(error = %e, "readiness: the database does not answer");
            format!("the database does not answer ({})", e.kind())
        })?;
        let pending = state.db.pending_migrations().await.map_err(|e| {
            tracing::warn!(error = %e, "readiness: cannot read the migration state");
            format!("cannot read the migration state ({})", e.kind())
        })?;
        if pending.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "{} migrations pending ({:?}); run `storewatch migrate`",
                pending.len(),
                pending
            ))
        }
    };
    tokio::time::timeout(READY_TIMEOUT, checks)
        .await
        .unwrap_or_else(|_| {
            Err(format!(
                "the database did not answer within {}s",
                READY_TIMEOUT.as_secs()
            ))
        })
}

/// The Prometheus exposition, or 503 when the store cannot be read.
async fn metrics(State(state): State<AppState>) -> Response {
    let local = super::metrics::Local {
        running_here: state.scheduler.running_here().len(),
        today: state.clock.now().date_naive(),
        // Three missed heartbeats: a slow tick is not a lost instance.
        stale_after: state.scheduler.config().heartbeat_every * 3,
    };
    let rendered = tokio::time::timeout(
        SCRAPE_TIMEOUT,
        super::metrics::render(state.store.as_ref(), local),
    )
    .await;
    match rendered {
        Ok(Ok(body)) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, prometheus::TEXT_FORMAT)],
            body,
        )
            .into_response(),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "metrics: reading the store failed");
            text(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("cannot read the store ({})\n", e.kind()),
            )
        }
        Err(_) => text(
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "the store did not answer within {}s\n",
                SCRAPE_TIMEOUT.as_secs()
            ),
        ),
    }
}
