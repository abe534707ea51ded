//! `storewatch executions`.

use storewatch_core::Result;

use crate::settings::Settings;

/// Subcommands of `storewatch executions`.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum ExecutionsCommand {
    /// Lists them.
    List,
}

/// Runs `storewatch executions`.
pub(crate) async fn run(_cmd: ExecutionsCommand, _settings: Settings) -> Result<()> {
    Err(super::unbuilt("executions"))
}
