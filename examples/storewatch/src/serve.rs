//! `storewatch serve`.

use storewatch_core::Result;

use crate::settings::Settings;

/// Options of `storewatch serve`.
#[derive(Debug, clap::Args)]
pub(crate) struct ServeArgs {}

/// Runs `storewatch serve`.
pub(crate) async fn run(_args: ServeArgs, _settings: Settings) -> Result<()> {
    Err(crate::commands::unbuilt("serve"))
}
