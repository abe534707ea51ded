//! `storewatch credentials`.

use storewatch_core::Result;

use crate::settings::Settings;

/// Subcommands of `storewatch credentials`.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum CredentialsCommand {
    /// Lists them.
    List,
}

/// Runs `storewatch credentials`.
pub(crate) async fn run(_cmd: CredentialsCommand, _settings: Settings) -> Result<()> {
    Err(super::unbuilt("credentials"))
}
