//! `storewatch keys`.

use storewatch_core::Result;

use crate::settings::Settings;

/// Subcommands of `storewatch keys`.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum KeysCommand {
    /// Lists them.
    List,
}

/// Runs `storewatch keys`.
pub(crate) async fn run(_cmd: KeysCommand, _settings: Settings) -> Result<()> {
    Err(super::unbuilt("keys"))
}
