//! `storewatch channels`.

use storewatch_core::Result;

use crate::settings::Settings;

/// Subcommands of `storewatch channels`.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum ChannelsCommand {
    /// Lists them.
    List,
}

/// Runs `storewatch channels`.
pub(crate) async fn run(_cmd: ChannelsCommand, _settings: Settings) -> Result<()> {
    Err(super::unbuilt("channels"))
}
