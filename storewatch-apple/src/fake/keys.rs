//! Throwaway P-256 API keys for tests, and the fake's verification of bearer tokens.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use p256::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
use secrecy::SecretString;
use serde::Deserialize;
use sha2::{Digest, Sha256};

/// A throwaway App Store Connect API key derived from a seed (never a real key).
#[derive(Clone)]
pub struct TestKey {
    /// The 10-character key id.
    pub key_id: String,
    /// The issuer id (a UUID).
    pub issuer_id: String,
    /// The `.p8` content (PKCS#8 PEM).
    pub private_pem: SecretString,
    /// The public key (SPKI PEM) the fake verifies with.
    pub public_pem: String,
}

impl std::fmt::Debug for TestKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestKey")
            .field("key_id", &self.key_id)
            .field("issuer_id", &self.issuer_id)
            .finish_non_exhaustive()
    }
}

impl TestKey {
    /// A key derived from `seed`: the same seed gives the same key.
    pub fn generate(seed: &str) -> TestKey {
        let mut counter = 0u32;
        // A SHA-256 digest is a valid P-256 scalar except with negligible probability;
        // the counter covers that case.
        let secret = loop {
            let digest = Sha256::digest(format!("{seed}:{counter}").as_bytes());
            if let Ok(key) = p256::SecretKey::from_slice(&digest) {
                break key;
            }
            counter += 1;
        };
        let private_pem = secret
            .to_pkcs8_pem(LineEnding::LF)
            .map(|pem| pem.to_string())
            .unwrap_or_default();
        let public_pem = secret
            .public_key()
            .to_public_key_pem(LineEnding::LF)
            .unwrap_or_default();
        let id = hex::encode(Sha256::digest(seed.as_bytes()));
        TestKey {
            key_id: id[..10].to_ascii_uppercase(),
            issuer_id: format!(
                "{}-{}-{}-{}-{}",
                &id[10..18],
                &id[18..22],
                &id[22..26],
                &id[26..30],
                &id[30..42]
            ),
            private_pem: SecretString::from(private_pem),
            public_pem,
        }
    }
}

/// Claims as the fake reads them (Team or Individual keys).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct SeenClaims {
    /// Issuer (Team keys).
    #[serde(default)]
    pub iss: Option<String>,
    /// Subject (`user` for Individual keys).
    #[serde(default)]
    pub sub: Option<String>,
    /// Issued at.
    pub iat: i64,
    /// Expiry.
    pub exp: i64,
    /// Audience.
    pub aud: String,
}

/// Whose token a request carried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Caller {
    pub(crate) key_id: String,
    pub(crate) individual: bool,
}

/// A key the fake accepts.
#[derive(Debug, Clone)]
pub(crate) struct RegisteredKey {
    pub(crate) issuer_id: String,
    pub(crate) public_pem: String,
    pub(crate) admin: bool,
    /// `Some(status)` once revoked: Apple answers 401 or 403.
    pub(crate) revoked: Option<u16>,
}

/// Why a token was refused: 401 (or the revoked key's status).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Refused {
    pub(crate) status: u16,
    pub(crate) reason: String,
}

fn refused(reason: impl Into<String>) -> Refused {
    Refused {
        status: 401,
        reason: reason.into(),
    }
}

/// Verifies an `Authorization` header value as Apple does.
pub(crate) fn verify(
    header: Option<&str>,
    keys: &BTreeMap<String, RegisteredKey>,
    now: DateTime<Utc>,
    iat_skew_secs: i64,
) -> Result<(Caller, SeenClaims), Refused> {
    let header = header.ok_or_else(|| refused("missing Authorization header"))?;
    let token = header
        .strip_prefix("Bearer ")
        .ok_or_else(|| refused("Authorization is not a Bearer token"))?;
    let jwt_header =
        jsonwebtoken::decode_header(token).map_err(|_| refused("malformed token header"))?;
    if jwt_header.alg != Algorithm::ES256 {
        return Err(refused("alg is not ES256"));
    }
    if jwt_header.typ.as_deref() != Some("JWT") {
        return Err(refused("typ is not JWT"));
    }
    let kid = jwt_header.kid.ok_or_else(|| refused("no kid"))?;
    let key = keys.get(&kid).ok_or_else(|| refused("unknown kid"))?;
    let decoding = DecodingKey::from_ec_pem(key.public_pem.as_bytes())
        .map_err(|_| refused("bad fixture key"))?;
    let mut validation = Validation::new(Algorithm::ES256);
    // Times are checked below against the fake's clock, not the system's.
    validation.validate_exp = false;
    validation.required_spec_claims.clear();
    validation.set_audience(&["appstoreconnect-v1"]);
    let data = jsonwebtoken::decode::<SeenClaims>(token, &decoding, &validation)
        .map_err(|e| refused(format!("signature or claims rejected: {e}")))?;
    let claims = data.claims;
    let individual = match (&claims.iss, &claims.sub) {
        (Some(iss), _) if *iss == key.issuer_id => false,
        (None, Some(sub)) if sub == "user" => true,
        _ => return Err(refused("iss does not match the key's issuer")),
    };
    if claims.exp - claims.iat > 1200 {
        return Err(refused("lifetime exp - iat exceeds 1200 s"));
    }
    let now = now.timestamp();
    if claims.exp <= now {
        return Err(refused("token expired"));
    }
    if claims.iat > now + iat_skew_secs {
        return Err(refused("iat is in the future"));
    }
    if let Some(status) = key.revoked {
        return Err(Refused {
            status,
            reason: "key revoked".to_owned(),
        });
    }
    Ok((
        Caller {
            key_id: kid,
            individual,
        },
        claims,
    ))
}
