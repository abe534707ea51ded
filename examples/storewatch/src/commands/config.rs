//! `storewatch config`.

use storewatch_core::Result;

use crate::settings::Settings;

/// Subcommands of `storewatch config`.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum ConfigCommand {
    /// Lists them.
    List,
}

/// Runs `storewatch config`.
pub(crate) async fn run(_cmd: ConfigCommand, _settings: Settings) -> Result<()> {
    Err(super::unbuilt("config"))
}
