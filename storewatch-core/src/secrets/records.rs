//! Sealed records: creating credentials and channels with their secret sealed for
//! their own id, and re-sealing everything under the current key (rotation).

use secrecy::SecretString;

use super::{Keyring, fingerprint};
use crate::Result;
use crate::model::{Channel, ChannelSpec, Credential, CredentialSpec, Platform, Spec};
use crate::store::ConfigStore;

/// Creates a credential whose JSON `config` is sealed for its own id.
pub async fn create_credential(
    store: &dyn ConfigStore,
    keyring: &Keyring,
    name: &str,
    platform: Platform,
    kind: &str,
    config: &SecretString,
) -> Result<Credential> {
    let id = store.reserve_credential_id().await?;
    let spec = CredentialSpec {
        name: name.to_owned(),
        platform,
        kind: kind.to_owned(),
        sealed: keyring.seal(CredentialSpec::KIND, id.0, config)?,
        fingerprint: fingerprint(config),
    };
    store.create_credential(id, spec).await
}

/// Creates an active channel whose JSON `config` is sealed for its own id.
pub async fn create_channel(
    store: &dyn ConfigStore,
    keyring: &Keyring,
    name: &str,
    kind: &str,
    config: &SecretString,
) -> Result<Channel> {
    let id = store.reserve_channel_id().await?;
    let spec = ChannelSpec {
        name: name.to_owned(),
        kind: kind.to_owned(),
        sealed: keyring.seal(ChannelSpec::KIND, id.0, config)?,
        fingerprint: fingerprint(config),
        is_active: true,
    };
    store.create_channel(id, spec).await
}

/// Re-seals every credential and channel not sealed with the keyring's current key.
/// Stops at the first record that does not open (a `Crypto` error naming it), having
/// changed nothing of that record. Returns how many records were re-sealed.
pub async fn rotate_keys(store: &dyn ConfigStore, keyring: &Keyring) -> Result<usize> {
    let mut n = 0;
    for c in store.list_credentials().await? {
        if keyring.needs_reseal(&c.sealed) {
            let mut spec = c.spec.clone();
            spec.sealed = keyring.reseal(CredentialSpec::KIND, c.id.0, &c.sealed)?;
            store.update_credential(c.id, c.version, spec).await?;
            n += 1;
        }
    }
    for c in store.list_channels().await? {
        if keyring.needs_reseal(&c.sealed) {
            let mut spec = c.spec.clone();
            spec.sealed = keyring.reseal(ChannelSpec::KIND, c.id.0, &c.sealed)?;
            store.update_channel(c.id, c.version, spec).await?;
            n += 1;
        }
    }
    Ok(n)
}
