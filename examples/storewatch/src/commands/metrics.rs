//! `storewatch metrics`.

use storewatch_core::Result;

use crate::settings::Settings;

/// Subcommands of `storewatch metrics`.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum MetricsCommand {
    /// Lists them.
    List,
}

/// Runs `storewatch metrics`.
pub(crate) async fn run(_cmd: MetricsCommand, _settings: Settings) -> Result<()> {
    Err(super::unbuilt("metrics"))
}
