//! `storewatch keys rotate`: re-seals every credential and channel under the current
//! master key.

#![allow(clippy::print_stdout)] // the command reports what it re-sealed

use storewatch_core::Result;
use storewatch_core::secrets::rotate_keys;

use crate::context::Context;
use crate::settings::Settings;

/// Subcommands of `storewatch keys`.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum KeysCommand {
    /// Re-seals every secret under the current key (the first of STOREWATCH_MASTER_KEYS).
    ///
    /// Rotation: put the new key first and keep the old one
    /// (`STOREWATCH_MASTER_KEYS=new:<key>,old:<key>`), run `storewatch keys rotate`, then
    /// drop the old key from the list.
    Rotate,
}

/// Runs `storewatch keys`.
pub(crate) async fn run(cmd: KeysCommand, settings: Settings) -> Result<()> {
    let KeysCommand::Rotate = cmd;
    let ctx = Context::open(settings).await?;
    let keyring = ctx.keyring()?;
    let resealed = rotate_keys(ctx.store.as_ref(), keyring).await?;
    println!(
        "re-sealed {resealed} secrets under key {:?}",
        keyring.current_key_id()
    );
    Ok(())
}
