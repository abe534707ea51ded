//! `storewatch serve`.

use storewatch_core::Result;
use tokio_util::sync::CancellationToken;

use crate::context::Context;
use crate::settings::Settings;

/// Options of `storewatch serve`.
#[derive(Debug, clap::Args)]
pub(crate) struct ServeArgs {}

/// Runs `storewatch serve`.
pub(crate) async fn run(_args: ServeArgs, _settings: Settings) -> Result<()> {
    Err(crate::commands::unbuilt("serve"))
}

/// Serves `ctx` until `shutdown` is cancelled (`storewatch demo --serve` hands its
/// database here). For now it only waits: the scheduler and endpoints come with `serve`.
pub(crate) async fn serve(ctx: Context, shutdown: CancellationToken) -> Result<()> {
    let _ = ctx;
    shutdown.cancelled().await;
    Ok(())
}
