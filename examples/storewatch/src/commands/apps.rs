//! `storewatch apps`.

use storewatch_core::Result;

use crate::settings::Settings;

/// Subcommands of `storewatch apps`.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum AppsCommand {
    /// Lists them.
    List,
}

/// Runs `storewatch apps`.
pub(crate) async fn run(_cmd: AppsCommand, _settings: Settings) -> Result<()> {
    Err(super::unbuilt("apps"))
}
