//! [`Keyring`]: the master keys that seal and open secrets, current key first.

use std::fmt;

use aes_gcm::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use secrecy::{ExposeSecret, SecretString};

use super::SealedSecret;
use crate::{Error, ErrorKind, Result};

/// Environment variable with one base64 key of 32 bytes (key id `default`).
pub const MASTER_KEY_ENV: &str = "STOREWATCH_MASTER_KEY";
/// Environment variable with `id:base64key,id:base64key`, the first being current.
pub const MASTER_KEYS_ENV: &str = "STOREWATCH_MASTER_KEYS";

/// Master keys: the first seals, all open. `Debug` shows key ids only.
#[derive(Clone)]
pub struct Keyring {
    keys: Vec<(String, Aes256Gcm)>,
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keyring")
            .field("key_ids", &self.key_ids().collect::<Vec<_>>())
            .finish()
    }
}

impl Keyring {
    /// Reads [`MASTER_KEYS_ENV`], else [`MASTER_KEY_ENV`]; `Ok(None)` when neither is set.
    pub fn from_env() -> Result<Option<Keyring>> {
        if let Ok(keys) = std::env::var(MASTER_KEYS_ENV) {
            return Keyring::parse_keys(&keys)
                .map(Some)
                .map_err(|e| e.context(MASTER_KEYS_ENV));
        }
        match std::env::var(MASTER_KEY_ENV) {
            Ok(key) => Keyring::single(&key)
                .map(Some)
                .map_err(|e| e.context(MASTER_KEY_ENV)),
            Err(_) => Ok(None),
        }
    }

    /// One base64 key, with key id `default`.
    pub fn single(key_b64: &str) -> Result<Keyring> {
        Ok(Keyring {
            keys: vec![("default".to_owned(), cipher("default", key_b64)?)],
        })
    }

    /// `id:base64key,id:base64key`, current key first. Ids are letters, digits, `-`, `_`.
    pub fn parse_keys(spec: &str) -> Result<Keyring> {
        let mut keys: Vec<(String, Aes256Gcm)> = Vec::new();
        for entry in spec.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let (id, key) = entry.split_once(':').ok_or_else(|| {
                Error::new(
                    ErrorKind::Config,
                    "master keys: expected id:base64key entries separated by ','",
                )
            })?;
            let id = id.trim();
            if id.is_empty()
                || !id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                return Err(Error::new(
                    ErrorKind::Config,
                    format!(
                        "master keys: invalid key id {id:?}: expected letters, digits, '-' or '_'"
                    ),
                ));
            }
            if keys.iter().any(|(k, _)| k == id) {
                return Err(Error::new(
                    ErrorKind::Config,
                    format!("master keys: key id {id:?} appears twice"),
                ));
            }
            keys.push((id.to_owned(), cipher(id, key.trim())?));
        }
        if keys.is_empty() {
            return Err(Error::new(ErrorKind::Config, "master keys: no key given"));
        }
        Ok(Keyring { keys })
    }

    /// A keyring of raw 32-byte keys, current first (for tests and embedding).
    pub fn from_raw(keys: &[(&str, [u8; 32])]) -> Result<Keyring> {
        let spec: Vec<String> = keys
            .iter()
            .map(|(id, k)| format!("{id}:{}", B64.encode(k)))
            .collect();
        Keyring::parse_keys(&spec.join(","))
    }

    /// The id of the key that seals.
    pub fn current_key_id(&self) -> &str {
        &self.keys[0].0
    }

    /// Every key id, current first.
    pub fn key_ids(&self) -> impl Iterator<Item = &str> {
        self.keys.iter().map(|(id, _)| id.as_str())
    }

    /// Seals `secret` for record `kind` `id` with the current key.
    pub fn seal(&self, kind: &str, id: i64, secret: &SecretString) -> Result<SealedSecret> {
        let (key_id, cipher) = &self.keys[0];
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let aad = associated_data(kind, id);
        let ciphertext = cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: secret.expose_secret().as_bytes(),
                    aad: aad.as_bytes(),
                },
            )
            .map_err(|_| Error::new(ErrorKind::Crypto, format!("could not seal {kind} {id}")))?;
        Ok(SealedSecret::from_parts(
            key_id,
            &B64.encode(nonce),
            &B64.encode(ciphertext),
        ))
    }

    /// Opens the secret sealed for record `kind` `id`.
    ///
    /// A tampered ciphertext, one sealed for another record, or one whose key is not in
    /// the keyring is a `Crypto` error naming the record.
    pub fn open(&self, kind: &str, id: i64, sealed: &SealedSecret) -> Result<SecretString> {
        let (key_id, nonce_b64, ct_b64) = sealed.parts();
        let fail = |why: &str| {
            Error::new(
                ErrorKind::Crypto,
                format!("cannot open the sealed secret of {kind} {id}: {why}"),
            )
        };
        let cipher = self
            .keys
            .iter()
            .find(|(k, _)| k == key_id)
            .map(|(_, c)| c)
            .ok_or_else(|| {
                fail(&format!(
                    "it was sealed with key {key_id:?}, which the keyring does not hold"
                ))
            })?;
        let nonce = B64.decode(nonce_b64).map_err(|_| fail("malformed nonce"))?;
        if nonce.len() != 12 {
            return Err(fail("malformed nonce"));
        }
        let ciphertext = B64
            .decode(ct_b64)
            .map_err(|_| fail("malformed ciphertext"))?;
        let aad = associated_data(kind, id);
        let clear = cipher
            .decrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: &ciphertext,
                    aad: aad.as_bytes(),
                },
            )
            .map_err(|_| fail("it was tampered with or sealed for another record"))?;
        let text = String::from_utf8(clear).map_err(|_| fail("the clear text is not UTF-8"))?;
        Ok(SecretString::from(text))
    }

    /// Opens with whichever key sealed it and seals again with the current key.
    pub fn reseal(&self, kind: &str, id: i64, sealed: &SealedSecret) -> Result<SealedSecret> {
        let clear = self.open(kind, id, sealed)?;
        self.seal(kind, id, &clear)
    }

    /// Whether `sealed` was sealed with a key other than the current one.
    pub fn needs_reseal(&self, sealed: &SealedSecret) -> bool {
        sealed.key_id() != self.current_key_id()
    }
}

fn associated_data(kind: &str, id: i64) -> String {
    format!("storewatch:{kind}:{id}")
}

fn cipher(id: &str, key_b64: &str) -> Result<Aes256Gcm> {
    let bad = |why: &str| {
        Error::new(
            ErrorKind::Config,
            format!("master key {id:?}: {why}: expected base64 of 32 random bytes"),
        )
    };
    let raw = B64.decode(key_b64).map_err(|_| bad("not valid base64"))?;
    if raw.len() != 32 {
        return Err(bad(&format!("decodes to {} bytes", raw.len())));
    }
    Aes256Gcm::new_from_slice(&raw).map_err(|_| bad("rejected by AES-256-GCM"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const PLANTED: &str = "-----BEGIN PRIVATE KEY-----planted-secret-4711";

    fn ring(id: &str, byte: u8) -> Keyring {
        Keyring::from_raw(&[(id, [byte; 32])]).unwrap()
    }

    #[test]
    fn seal_open_round_trip() {
        let k = ring("a", 1);
        let sealed = k.seal("channel", 3, &SecretString::from(PLANTED)).unwrap();
        assert_eq!(
            k.open("channel", 3, &sealed).unwrap().expose_secret(),
            PLANTED
        );
        assert!(!sealed.as_str().contains("planted"));
    }

    #[test]
    fn tampered_moved_or_keyless_is_crypto_error_naming_the_record() {
        let k = ring("a", 1);
        let sealed = k
            .seal("credential", 5, &SecretString::from(PLANTED))
            .unwrap();
        let (key, nonce, ct) = sealed.parts();
        let mut bytes = B64.decode(ct).unwrap();
        bytes[0] ^= 1;
        let tampered = SealedSecret::from_parts(key, nonce, &B64.encode(bytes));
        for (kind, id, s, ring) in [
            ("credential", 5, &tampered, &k),
            ("credential", 6, &sealed, &k),
            ("channel", 5, &sealed, &k),
            ("credential", 5, &sealed, &ring("b", 2)),
        ] {
            let err = ring.open(kind, id, s).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Crypto);
            assert!(err.message().contains(&format!("{kind} {id}")), "{err}");
            assert!(!err.to_string().contains("planted"));
        }
    }

    #[test]
    fn rotation_reseals_and_old_ciphertexts_still_open() {
        let old = ring("old", 1);
        let sealed = old
            .seal("credential", 1, &SecretString::from(PLANTED))
            .unwrap();
        let both = Keyring::from_raw(&[("new", [2; 32]), ("old", [1; 32])]).unwrap();
        assert!(both.needs_reseal(&sealed));
        assert_eq!(
            both.open("credential", 1, &sealed).unwrap().expose_secret(),
            PLANTED
        );
        let resealed = both.reseal("credential", 1, &sealed).unwrap();
        assert_eq!(resealed.key_id(), "new");
        assert!(!both.needs_reseal(&resealed));
        assert_eq!(
            ring("new", 2)
                .open("credential", 1, &resealed)
                .unwrap()
                .expose_secret(),
            PLANTED
        );
    }

    #[test]
    fn bad_key_specs_are_config_errors_without_the_key() {
        for spec in ["", "nocolon", "a:short", "a:!!!", "a b:AAAA"] {
            let err = Keyring::parse_keys(spec).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Config, "{spec}: {err}");
        }
        let dup = format!("a:{k},a:{k}", k = B64.encode([0u8; 32]));
        assert!(
            Keyring::parse_keys(&dup)
                .unwrap_err()
                .message()
                .contains("twice")
        );
        let debug = format!("{:?}", ring("visible-id", 9));
        assert!(
            debug.contains("visible-id") && !debug.contains("CQkJ"),
            "{debug}"
        );
    }

    #[test]
    fn sealed_debug_hides_ciphertext() {
        let sealed = ring("a", 1)
            .seal("app", 1, &SecretString::from(PLANTED))
            .unwrap();
        assert_eq!(format!("{sealed:?}"), "SealedSecret(v1.a.…)");
        assert_eq!(
            SealedSecret::parse("v2.a.b.c").unwrap_err().kind(),
            ErrorKind::Crypto
        );
    }
}
