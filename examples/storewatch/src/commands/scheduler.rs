//! `storewatch scheduler`.

use storewatch_core::Result;

use crate::settings::Settings;

/// Subcommands of `storewatch scheduler`.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum SchedulerCommand {
    /// Lists them.
    List,
}

/// Runs `storewatch scheduler`.
pub(crate) async fn run(_cmd: SchedulerCommand, _settings: Settings) -> Result<()> {
    Err(super::unbuilt("scheduler"))
}
