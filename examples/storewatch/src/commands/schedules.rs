//! `storewatch schedules`.

use storewatch_core::Result;

use crate::settings::Settings;

/// Subcommands of `storewatch schedules`.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum SchedulesCommand {
    /// Lists them.
    List,
}

/// Runs `storewatch schedules`.
pub(crate) async fn run(_cmd: SchedulesCommand, _settings: Settings) -> Result<()> {
    Err(super::unbuilt("schedules"))
}
