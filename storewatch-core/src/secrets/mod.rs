//! Secrets at rest (DESIGN §8): AES-256-GCM sealing bound to the record, a keyring
//! with rotation, and `SecretString` in memory.
//!
//! A sealed value has the form `v1.<key id>.<nonce b64>.<ciphertext b64>`; its
//! associated data is `storewatch:<record kind>:<record id>`, so a ciphertext copied to
//! another record does not open. Nothing in this module prints a secret: `Debug` of
//! [`Keyring`] shows key ids only, errors name the record and never the value.
//!
//! ```
//! use secrecy::{ExposeSecret, SecretString};
//! use storewatch_core::secrets::Keyring;
//!
//! let keyring = Keyring::parse_keys("k2:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")?;
//! let sealed = keyring.seal("credential", 7, &SecretString::from("{\"key\":\"…\"}"))?;
//! assert!(sealed.as_str().starts_with("v1.k2."));
//! let opened = keyring.open("credential", 7, &sealed)?;
//! assert_eq!(opened.expose_secret(), "{\"key\":\"…\"}");
//! assert!(keyring.open("credential", 8, &sealed).is_err()); // bound to the record
//! # Ok::<(), storewatch_core::Error>(())
//! ```

mod keyring;
mod records;
mod sealed;

pub use keyring::{Keyring, MASTER_KEY_ENV, MASTER_KEYS_ENV};
pub use records::{create_channel, create_credential, rotate_keys};
pub use sealed::SealedSecret;

use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

/// A short, non-reversible fingerprint of a secret for display (12 hex digits of SHA-256).
pub fn fingerprint(secret: &SecretString) -> String {
    let digest = Sha256::digest(secret.expose_secret().as_bytes());
    digest.iter().take(6).map(|b| format!("{b:02x}")).collect()
}
