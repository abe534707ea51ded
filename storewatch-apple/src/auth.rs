//! ES256 bearer tokens for the App Store Connect API, minted from the `.p8` key and reused.
//!
//! Apple rejects tokens whose `exp - iat` exceeds 20 minutes and asks clients to reuse a
//! token until it expires. A token here lives 15 minutes with `iat` back-dated by 60 s, so a
//! host whose clock runs a little fast is not refused; it is re-minted when less than a
//! minute remains, and once more when Apple answers 401 to it.

use std::fmt;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use storewatch_core::clock::Clock;
use storewatch_core::{Error, ErrorKind, Result};

/// The audience of every App Store Connect token.
pub const AUDIENCE: &str = "appstoreconnect-v1";
/// Seconds `iat` is set before now, against clock skew.
pub const IAT_BACKDATE_SECS: i64 = 60;
/// Seconds between `iat` and `exp` (Apple's maximum is 1200).
pub const LIFETIME_SECS: i64 = 900;
/// A cached token is re-minted when fewer seconds than this remain.
pub const RENEW_MARGIN_SECS: i64 = 60;

/// The claims of a Team key token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The issuer id.
    pub iss: String,
    /// Issued at, Unix seconds.
    pub iat: i64,
    /// Expiry, Unix seconds.
    pub exp: i64,
    /// Always [`AUDIENCE`].
    pub aud: String,
}

/// Checks that `key` is a PEM PKCS#8 P-256 key that can sign, without saying anything of
/// its content in the error.
pub(crate) fn check_private_key(key: &SecretString) -> Result<()> {
    let expected = "the content of the AuthKey_<KEYID>.p8 file: a PEM \"-----BEGIN PRIVATE KEY-----\" block holding a P-256 key";
    let encoding = EncodingKey::from_ec_pem(key.expose_secret().as_bytes())
        .map_err(|_| Error::invalid_field("private_key", "[redacted]", expected))?;
    // Parsing the PEM envelope does not prove the key inside is a usable P-256 scalar;
    // signing once does.
    let claims = Claims {
        iss: String::new(),
        iat: 0,
        exp: 0,
        aud: AUDIENCE.to_owned(),
    };
    jsonwebtoken::encode(&Header::new(Algorithm::ES256), &claims, &encoding)
        .map_err(|_| Error::invalid_field("private_key", "[redacted]", expected))?;
    Ok(())
}

struct Cached {
    token: Arc<str>,
    expires_at: DateTime<Utc>,
}

/// Mints and caches bearer tokens for one API key.
pub struct TokenSource {
    issuer_id: String,
    key_id: String,
    key: EncodingKey,
    clock: Arc<dyn Clock>,
    cached: Mutex<Option<Cached>>,
}

impl fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenSource")
            .field("issuer_id", &self.issuer_id)
            .field("key_id", &self.key_id)
            .field("key", &"[redacted]")
            .finish_non_exhaustive()
    }
}

impl TokenSource {
    /// A token source for a Team key.
    pub fn new(
        issuer_id: &str,
        key_id: &str,
        private_key: &SecretString,
        clock: Arc<dyn Clock>,
    ) -> Result<Self> {
        check_private_key(private_key)?;
        let key = EncodingKey::from_ec_pem(private_key.expose_secret().as_bytes())
            .map_err(|_| Error::invalid_field("private_key", "[redacted]", "a P-256 PEM key"))?;
        Ok(TokenSource {
            issuer_id: issuer_id.to_owned(),
            key_id: key_id.to_owned(),
            key,
            clock,
            cached: Mutex::new(None),
        })
    }

    /// The current token, minting a new one when none is cached or it is about to expire.
    pub fn token(&self) -> Result<Arc<str>> {
        let now = self.clock.now();
        let mut cached = self.lock();
        if let Some(c) = cached.as_ref()
            && c.expires_at - now > Duration::seconds(RENEW_MARGIN_SECS)
        {
            return Ok(c.token.clone());
        }
        let fresh = self.mint(now)?;
        let token = fresh.token.clone();
        *cached = Some(fresh);
        Ok(token)
    }

    /// Drops `token` from the cache if it is still the current one (after a 401), so the
    /// next [`token`](Self::token) mints a new one.
    pub fn invalidate(&self, token: &str) {
        let mut cached = self.lock();
        if cached.as_ref().is_some_and(|c| &*c.token == token) {
            *cached = None;
        }
    }

    fn mint(&self, now: DateTime<Utc>) -> Result<Cached> {
        let iat = now.timestamp() - IAT_BACKDATE_SECS;
        let claims = Claims {
            iss: self.issuer_id.clone(),
            iat,
            exp: iat + LIFETIME_SECS,
            aud: AUDIENCE.to_owned(),
        };
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(self.key_id.clone());
        header.typ = Some("JWT".to_owned());
        let token = jsonwebtoken::encode(&header, &claims, &self.key).map_err(|e| {
            Error::new(
                ErrorKind::Crypto,
                "signing the App Store Connect token failed",
            )
            .with_source(e)
        })?;
        Ok(Cached {
            token: token.into(),
            expires_at: DateTime::from_timestamp(claims.exp, 0).unwrap_or(now),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Cached>> {
        // A poisoned cache only loses a token, which is re-minted.
        self.cached.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(all(test, feature = "fake"))]
mod tests {
    use super::*;
    use jsonwebtoken::{DecodingKey, Validation};
    use storewatch_core::clock::ManualClock;

    #[test]
    fn claims_header_caching_and_renewal() {
        let key = crate::fake::TestKey::generate("auth-unit");
        let clock = ManualClock::new("2026-03-29T10:00:00Z".parse().unwrap());
        let source = TokenSource::new(
            &key.issuer_id,
            &key.key_id,
            &key.private_pem,
            Arc::new(clock.clone()),
        )
        .unwrap();
        let token = source.token().unwrap();
        let header = jsonwebtoken::decode_header(token.as_bytes()).unwrap();
        assert_eq!(header.alg, Algorithm::ES256);
        assert_eq!(header.kid.as_deref(), Some(key.key_id.as_str()));
        assert_eq!(header.typ.as_deref(), Some("JWT"));
        let mut validation = Validation::new(Algorithm::ES256);
        validation.validate_exp = false;
        validation.set_audience(&[AUDIENCE]);
        let decoding = DecodingKey::from_ec_pem(key.public_pem.as_bytes()).unwrap();
        let claims = jsonwebtoken::decode::<Claims>(token.as_bytes(), &decoding, &validation)
            .unwrap()
            .claims;
        let now = clock.now().timestamp();
        assert_eq!(claims.iss, key.issuer_id);
        assert_eq!(claims.aud, "appstoreconnect-v1");
        assert_eq!(claims.iat, now - 60, "iat slightly in the past");
        assert!(claims.exp - claims.iat <= 1200);
        assert!(claims.exp > now + 600);
        // Reused while valid, renewed when less than a minute remains.
        clock.advance(std::time::Duration::from_secs(12 * 60));
        assert_eq!(source.token().unwrap(), token);
        clock.advance(std::time::Duration::from_secs(2 * 60));
        let renewed = source.token().unwrap();
        assert_ne!(renewed, token);
        // Invalidating an old token leaves the current one alone; the current one is dropped.
        source.invalidate(&token);
        assert_eq!(source.token().unwrap(), renewed);
        source.invalidate(&renewed);
        clock.advance(std::time::Duration::from_secs(1));
        assert_ne!(source.token().unwrap(), renewed);
    }
}
