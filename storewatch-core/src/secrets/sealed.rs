//! [`SealedSecret`]: the at-rest form of a secret.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{Error, ErrorKind, Result};

/// A sealed secret, `v1.<key id>.<nonce b64>.<ciphertext b64>`. Safe to store; opened
/// only through a [`Keyring`](super::Keyring).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SealedSecret(String);

impl SealedSecret {
    pub(crate) const VERSION: &'static str = "v1";

    /// Checks the format (not the ciphertext) of a stored sealed value.
    pub fn parse(s: impl Into<String>) -> Result<Self> {
        let s = s.into();
        if Self::split(&s).is_none() {
            return Err(Error::new(
                ErrorKind::Crypto,
                "sealed value is not of the form v1.<key id>.<nonce>.<ciphertext>",
            ));
        }
        Ok(SealedSecret(s))
    }

    pub(crate) fn from_parts(key_id: &str, nonce_b64: &str, ciphertext_b64: &str) -> Self {
        SealedSecret(format!(
            "{}.{key_id}.{nonce_b64}.{ciphertext_b64}",
            Self::VERSION
        ))
    }

    /// `(key id, nonce b64, ciphertext b64)`.
    pub(crate) fn parts(&self) -> (&str, &str, &str) {
        Self::split(&self.0).unwrap_or(("", "", ""))
    }

    fn split(s: &str) -> Option<(&str, &str, &str)> {
        let mut it = s.split('.');
        let (v, key, nonce, ct) = (it.next()?, it.next()?, it.next()?, it.next()?);
        (v == Self::VERSION
            && it.next().is_none()
            && !key.is_empty()
            && !nonce.is_empty()
            && !ct.is_empty())
        .then_some((key, nonce, ct))
    }

    /// The id of the key that sealed it.
    pub fn key_id(&self) -> &str {
        self.parts().0
    }

    /// The stored text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SealedSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SealedSecret(v1.{}.…)", self.key_id())
    }
}

impl TryFrom<String> for SealedSecret {
    type Error = Error;

    fn try_from(s: String) -> Result<Self> {
        SealedSecret::parse(s)
    }
}

impl From<SealedSecret> for String {
    fn from(s: SealedSecret) -> String {
        s.0
    }
}
