//! `storewatch rules`.

use storewatch_core::Result;

use crate::settings::Settings;

/// Subcommands of `storewatch rules`.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum RulesCommand {
    /// Lists them.
    List,
}

/// Runs `storewatch rules`.
pub(crate) async fn run(_cmd: RulesCommand, _settings: Settings) -> Result<()> {
    Err(super::unbuilt("rules"))
}
