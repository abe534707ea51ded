//! `storewatch reports`.

use storewatch_core::Result;

use crate::settings::Settings;

/// Subcommands of `storewatch reports`.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum ReportsCommand {
    /// Lists them.
    List,
}

/// Runs `storewatch reports`.
pub(crate) async fn run(_cmd: ReportsCommand, _settings: Settings) -> Result<()> {
    Err(super::unbuilt("reports"))
}
