//! Sealed credentials and channels at rest: a value that does not open is a `Crypto`
//! error naming the record, and nothing stored is overwritten.

#![allow(clippy::unwrap_used)] // test code: a failed step should panic

mod common;

use common::TestDb;
use secrecy::{ExposeSecret, SecretString};
use storewatch_core::ErrorKind;
use storewatch_core::model::{ChannelSpec, CredentialSpec, Platform};
use storewatch_core::secrets::{Keyring, SealedSecret, fingerprint};
use storewatch_core::store::ConfigStore;
use storewatch_sqlite::{ResealReport, SqliteStore};

const PLANTED: &str = "{\"private_key\":\"planted-secret-4711\"}";

fn ring(id: &str, byte: u8) -> Keyring {
    Keyring::from_raw(&[(id, [byte; 32])]).unwrap()
}

fn credential(name: &str, sealed: SealedSecret) -> CredentialSpec {
    CredentialSpec {
        name: name.into(),
        platform: Platform::Ios,
        kind: "app_store_connect".into(),
        sealed,
        fingerprint: fingerprint(&SecretString::from(PLANTED)),
    }
}

/// Replaces the stored spec JSON of a row, as damage outside storewatch would.
async fn overwrite_spec(db: &TestDb, table: &str, id: i64, spec: String) {
    use sqlx::Connection;
    let mut conn = sqlx::SqliteConnection::connect(&db.path).await.unwrap();
    sqlx::query(&format!("UPDATE {table} SET spec = ? WHERE id = ?"))
        .bind(spec)
        .bind(id)
        .execute(&mut conn)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_secret_sealed_for_another_record_does_not_open_and_rotation_overwrites_nothing() {
    let db = TestDb::new();
    let store = db.open().await;
    let old = ring("old", 1);
    let x = store.reserve_credential_id().await.unwrap();
    let y = store.reserve_credential_id().await.unwrap();
    let sealed_x = old
        .seal("credential", x.0, &SecretString::from(PLANTED))
        .unwrap();
    let cx = store
        .create_credential(x, credential("key x", sealed_x.clone()))
        .await
        .unwrap();
    // Y holds X's ciphertext: bound to X, it must not open as Y.
    let cy = store
        .create_credential(y, credential("key y", sealed_x.clone()))
        .await
        .unwrap();

    let stored_x = store.get_credential(x).await.unwrap();
    assert_eq!(
        old.open("credential", x.0, &stored_x.sealed)
            .unwrap()
            .expose_secret(),
        PLANTED
    );
    let stored_y = store.get_credential(y).await.unwrap();
    let err = old.open("credential", y.0, &stored_y.sealed).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Crypto);
    assert!(err.message().contains(&format!("credential {y}")), "{err}");
    assert!(!err.to_string().contains("planted"), "{err}");

    // Rotating to a new key fails on Y, naming it, and leaves X sealed as it was.
    let rotated = Keyring::from_raw(&[("new", [2; 32]), ("old", [1; 32])]).unwrap();
    let err = store.reseal_secrets(&rotated).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Crypto);
    assert!(err.message().contains(&format!("credential {y}")), "{err}");
    assert_eq!(store.get_credential(x).await.unwrap(), cx);
    assert_eq!(store.get_credential(y).await.unwrap(), cy);

    // Without the bad record, the rotation goes through and old ciphertexts are gone.
    store.delete_credential(y).await.unwrap();
    let report = store.reseal_secrets(&rotated).await.unwrap();
    assert_eq!(
        report,
        ResealReport {
            resealed: 1,
            current: 0
        }
    );
    let resealed = store.get_credential(x).await.unwrap();
    assert_eq!(resealed.version, 2);
    assert_eq!(resealed.sealed.key_id(), "new");
    assert_eq!(
        ring("new", 2)
            .open("credential", x.0, &resealed.sealed)
            .unwrap()
            .expose_secret(),
        PLANTED
    );
    assert_eq!(
        store.reseal_secrets(&rotated).await.unwrap(),
        ResealReport {
            resealed: 0,
            current: 1
        }
    );
}

#[tokio::test]
async fn a_tampered_channel_secret_fails_rotation_by_name() {
    let db = TestDb::new();
    let store = db.open().await;
    let keys = ring("a", 7);
    let id = store.reserve_channel_id().await.unwrap();
    let sealed = keys
        .seal("channel", id.0, &SecretString::from(PLANTED))
        .unwrap();
    // Flip one character of the ciphertext.
    let text = sealed.as_str();
    let last = text.chars().last().unwrap();
    let flipped = if last == 'A' { 'B' } else { 'A' };
    let tampered = SealedSecret::parse(format!("{}{flipped}", &text[..text.len() - 1])).unwrap();
    let channel = store
        .create_channel(
            id,
            ChannelSpec {
                name: "alerts".into(),
                kind: "lark_webhook".into(),
                sealed: tampered,
                fingerprint: "000000000000".into(),
                is_active: true,
            },
        )
        .await
        .unwrap();
    let stored = store.get_channel(id).await.unwrap();
    let err = keys.open("channel", id.0, &stored.sealed).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Crypto);
    assert!(err.message().contains(&format!("channel {id}")), "{err}");

    let other = ring("b", 8);
    let both = Keyring::from_raw(&[("b", [8; 32]), ("a", [7; 32])]).unwrap();
    let err = store.reseal_secrets(&both).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Crypto);
    assert!(err.message().contains(&format!("channel {id}")), "{err}");
    assert_eq!(store.get_channel(id).await.unwrap(), channel);
    // A keyring without the sealing key names the record too.
    let err = store.reseal_secrets(&other).await.unwrap_err();
    assert!(err.message().contains(&format!("channel {id}")), "{err}");
}

#[tokio::test]
async fn a_damaged_sealed_value_in_the_file_is_a_crypto_error_naming_the_record() {
    let db = TestDb::new();
    let store: SqliteStore = db.open().await;
    let keys = ring("a", 1);
    let id = store.reserve_credential_id().await.unwrap();
    let sealed = keys
        .seal("credential", id.0, &SecretString::from(PLANTED))
        .unwrap();
    let created = store
        .create_credential(id, credential("key", sealed))
        .await
        .unwrap();
    let mut json = serde_json::to_value(&created.spec).unwrap();
    json["sealed"] = serde_json::Value::String("not-a-sealed-value".into());
    overwrite_spec(&db, "credentials", id.0, json.to_string()).await;

    let err = store.get_credential(id).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Crypto);
    assert!(
        err.to_string().contains(&format!("credential {id}")),
        "{err}"
    );
    let err = store.list_credentials().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Crypto);
    let err = store.reseal_secrets(&keys).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Crypto);
}

#[tokio::test]
async fn credentials_need_a_reserved_id_and_an_id_is_used_once() {
    let db = TestDb::new();
    let store = db.open().await;
    let keys = ring("a", 1);
    let id = store.reserve_credential_id().await.unwrap();
    let sealed = keys
        .seal("credential", id.0, &SecretString::from(PLANTED))
        .unwrap();
    store
        .create_credential(id, credential("first", sealed.clone()))
        .await
        .unwrap();
    let err = store
        .create_credential(id, credential("second", sealed.clone()))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict, "{err}");
    let unreserved = storewatch_core::model::CredentialId(id.0 + 100);
    let err = store
        .create_credential(unreserved, credential("third", sealed))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    assert!(err.message().contains("credential id"), "{err}");
    let next = store.reserve_credential_id().await.unwrap();
    assert!(next > id);
    // Debug output of the store and of records never shows the secret.
    let listed = format!("{store:?} {:?}", store.list_credentials().await.unwrap());
    assert!(!listed.contains("planted"), "{listed}");
}
