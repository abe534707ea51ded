//! Key rotation at rest: re-sealing every stored credential and channel config with the
//! keyring's current key, all or nothing.

use sqlx::Row;
use storewatch_core::Result;
use storewatch_core::model::{ChannelSpec, CredentialSpec, Spec};
use storewatch_core::secrets::{Keyring, SealedSecret};

use crate::SqliteStore;
use crate::codec;
use crate::error::map_sqlx;
use crate::records::{StoredSpec, decode_spec, encode_spec};
use crate::store::commit;

/// What [`SqliteStore::reseal_secrets`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ResealReport {
    /// Records sealed again with the current key (their version went up by one).
    pub resealed: usize,
    /// Records already sealed with the current key, left as they were.
    pub current: usize,
}

/// The part of a spec that holds its sealed secret.
trait SealedSpec: StoredSpec {
    fn sealed_mut(&mut self) -> &mut SealedSecret;
}

impl SealedSpec for CredentialSpec {
    fn sealed_mut(&mut self) -> &mut SealedSecret {
        &mut self.sealed
    }
}

impl SealedSpec for ChannelSpec {
    fn sealed_mut(&mut self) -> &mut SealedSecret {
        &mut self.sealed
    }
}

impl SqliteStore {
    /// Re-seals every credential and channel config not sealed with `keyring`'s current
    /// key (`storewatch keys rotate`), in one transaction.
    ///
    /// A value that does not open — tampered, sealed for another record, or sealed with
    /// a key the keyring lacks — fails the whole rotation with a `Crypto` error naming
    /// the record, and nothing is overwritten.
    pub async fn reseal_secrets(&self, keyring: &Keyring) -> Result<ResealReport> {
        let what = "re-sealing secrets";
        let mut tx = self.write_tx(what).await?;
        let mut report = ResealReport::default();
        reseal_table::<CredentialSpec>(&mut tx, keyring, self, &mut report).await?;
        reseal_table::<ChannelSpec>(&mut tx, keyring, self, &mut report).await?;
        commit(tx, what).await?;
        Ok(report)
    }
}

async fn reseal_table<S: SealedSpec>(
    conn: &mut sqlx::SqliteConnection,
    keyring: &Keyring,
    store: &SqliteStore,
    report: &mut ResealReport,
) -> Result<()> {
    let what = format!("re-sealing {}", S::TABLE);
    let rows = sqlx::query(&format!("SELECT id, spec FROM {} ORDER BY id", S::TABLE))
        .fetch_all(&mut *conn)
        .await
        .map_err(|e| map_sqlx(e, &what))?;
    let now = codec::time(store.clock_now());
    for row in rows {
        let id: i64 = row.try_get(0).map_err(|e| map_sqlx(e, &what))?;
        let json: &str = row.try_get(1).map_err(|e| map_sqlx(e, &what))?;
        let mut spec: S = decode_spec(json, &format!("{} {id}", S::KIND))?;
        let sealed = spec.sealed_mut();
        if !keyring.needs_reseal(sealed) {
            report.current += 1;
            continue;
        }
        *sealed = keyring.reseal(<S as Spec>::KIND, id, sealed)?;
        sqlx::query(&format!(
            "UPDATE {} SET spec = ?, version = version + 1, updated_at = ? WHERE id = ?",
            S::TABLE
        ))
        .bind(encode_spec(&spec)?)
        .bind(&now)
        .bind(id)
        .execute(&mut *conn)
        .await
        .map_err(|e| map_sqlx(e, &what))?;
        report.resealed += 1;
    }
    Ok(())
}
