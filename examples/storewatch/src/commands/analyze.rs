//! `storewatch analyze`.

use storewatch_core::Result;

use crate::settings::Settings;

/// Options of `storewatch analyze`.
#[derive(Debug, clap::Args)]
pub(crate) struct AnalyzeArgs {}

/// Runs `storewatch analyze`.
pub(crate) async fn run(_args: AnalyzeArgs, _settings: Settings) -> Result<()> {
    Err(super::unbuilt("analyze"))
}
