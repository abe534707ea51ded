//! `storewatch run`, `trigger`, `retry`, `cancel`.

use storewatch_core::Result;

use crate::settings::Settings;

/// Options of `storewatch run`.
#[derive(Debug, clap::Args)]
pub(crate) struct RunArgs {}

/// Options of `storewatch trigger`.
#[derive(Debug, clap::Args)]
pub(crate) struct TriggerArgs {}

/// One execution id.
#[derive(Debug, clap::Args)]
pub(crate) struct ExecutionArg {}

/// Runs `storewatch run`.
pub(crate) async fn run(_args: RunArgs, _settings: Settings) -> Result<()> {
    Err(super::unbuilt("run"))
}

/// Runs `storewatch trigger`.
pub(crate) async fn trigger(_args: TriggerArgs, _settings: Settings) -> Result<()> {
    Err(super::unbuilt("trigger"))
}

/// Runs `storewatch retry`.
pub(crate) async fn retry(_args: ExecutionArg, _settings: Settings) -> Result<()> {
    Err(super::unbuilt("retry"))
}

/// Runs `storewatch cancel`.
pub(crate) async fn cancel(_args: ExecutionArg, _settings: Settings) -> Result<()> {
    Err(super::unbuilt("cancel"))
}
