//! Service-account authentication: a JWT-bearer grant signed with the key, through
//! `yup-oauth2`, against the key's own `token_uri`.
//!
//! All scopes are asked for in one set, so one token serves every surface and Google
//! sees one token call per hour. yup-oauth2 caches the token and signs a new JWT when
//! less than a minute of life remains.

use std::fmt;
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};
use secrecy::ExposeSecret;
use storewatch_core::clock::Clock;
use storewatch_core::{Error, ErrorKind, Result};
use tokio::sync::OnceCell;
use yup_oauth2::authenticator::DefaultAuthenticator;
use yup_oauth2::error::AuthErrorCode;
use yup_oauth2::{DefaultHyperClientBuilder, ServiceAccountAuthenticator};

use crate::config::ServiceAccountKey;

/// Scope of the Play Developer Reporting API.
pub const REPORTING_SCOPE: &str = "https://www.googleapis.com/auth/playdeveloperreporting";
/// Read-only Cloud Storage scope, enough for the bulk-report bucket.
pub const STORAGE_SCOPE: &str = "https://www.googleapis.com/auth/devstorage.read_only";

const SCOPES: [&str; 2] = [REPORTING_SCOPE, STORAGE_SCOPE];

/// A token without `expires_in` never expires in yup-oauth2's cache; storewatch refreshes
/// it after this long anyway, since Google's tokens live an hour.
const MAX_UNDATED_TOKEN_AGE: chrono::TimeDelta = chrono::TimeDelta::minutes(55);

/// Hands out bearer tokens for the service account.
pub(crate) struct TokenProvider {
    key: ServiceAccountKey,
    timeout: Duration,
    authenticator: OnceCell<DefaultAuthenticator>,
    /// When a token without an expiry was first handed out.
    undated: Mutex<Option<(String, DateTime<Utc>)>>,
}

impl fmt::Debug for TokenProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenProvider")
            .field("client_email", &self.key.client_email)
            .field("token_uri", &self.key.token_uri)
            .finish_non_exhaustive()
    }
}

impl TokenProvider {
    pub(crate) fn new(key: ServiceAccountKey, timeout: Duration) -> Self {
        TokenProvider {
            key,
            timeout,
            authenticator: OnceCell::new(),
            undated: Mutex::new(None),
        }
    }

    /// A valid bearer token, from the cache when it has more than a minute left.
    pub(crate) async fn token(&self, clock: &dyn Clock) -> Result<String> {
        let auth = self.authenticator().await?;
        let token = auth.token(&SCOPES).await.map_err(|e| self.map_error(e))?;
        if token.token().is_none_or(str::is_empty) {
            // yup-oauth2 caches any JSON answer, even an error page's, as a token without
            // a value that never expires; only a forced refresh replaces it.
            return self.refresh().await;
        }
        let value = self.value_of(&token)?;
        if token.expiration_time().is_some() {
            return Ok(value);
        }
        let now = clock.now();
        let stale = {
            let mut undated = self.undated.lock().unwrap_or_else(|p| p.into_inner());
            match &*undated {
                Some((seen, since)) if *seen == value => now - *since > MAX_UNDATED_TOKEN_AGE,
                _ => {
                    *undated = Some((value.clone(), now));
                    false
                }
            }
        };
        if stale {
            return self.refresh().await;
        }
        Ok(value)
    }

    /// Signs a new JWT for a fresh token, e.g. after a 401.
    pub(crate) async fn refresh(&self) -> Result<String> {
        let auth = self.authenticator().await?;
        let token = auth
            .force_refreshed_token(&SCOPES)
            .await
            .map_err(|e| self.map_error(e))?;
        self.value_of(&token)
    }

    fn value_of(&self, token: &yup_oauth2::AccessToken) -> Result<String> {
        match token.token() {
            Some(t) if !t.is_empty() => Ok(t.to_owned()),
            _ => Err(Error::new(
                ErrorKind::Unavailable,
                format!(
                    "the token endpoint {} answered without an access_token",
                    self.key.token_uri
                ),
            )),
        }
    }

    async fn authenticator(&self) -> Result<&DefaultAuthenticator> {
        self.authenticator
            .get_or_try_init(|| async {
                let key = yup_oauth2::parse_service_account_key(self.key.json.expose_secret())
                    .map_err(|e| {
                        // The io error names the serde problem only, never key material.
                        Error::new(
                            ErrorKind::InvalidInput,
                            format!("service_account_json is not a usable key: {}", e.kind()),
                        )
                    })?;
                ServiceAccountAuthenticator::with_client(
                    key,
                    DefaultHyperClientBuilder::default().with_timeout(self.timeout),
                )
                .build()
                .await
                .map_err(|e| {
                    Error::new(
                        ErrorKind::InvalidInput,
                        format!(
                            "invalid service_account_json.private_key: expected an RSA key in PKCS#8 PEM (\"-----BEGIN PRIVATE KEY-----\"): {}",
                            e.kind()
                        ),
                    )
                })
            })
            .await
    }

    fn map_error(&self, e: yup_oauth2::Error) -> Error {
        let at = format!("token endpoint {}", self.key.token_uri);
        match e {
            yup_oauth2::Error::AuthError(auth) => {
                let description = auth.error_description.unwrap_or_default();
                let (kind, hint) = match auth.error {
                    AuthErrorCode::InvalidGrant => (
                        ErrorKind::Unauthenticated,
                        "check that the key is current (not deleted or rotated), that client_email is right, and that this host's clock is right",
                    ),
                    AuthErrorCode::InvalidClient | AuthErrorCode::UnauthorizedClient => (
                        ErrorKind::Unauthenticated,
                        "check the service account exists and is enabled",
                    ),
                    AuthErrorCode::InvalidScope => (
                        ErrorKind::Internal,
                        "storewatch asked for scopes Google does not accept",
                    ),
                    _ => (ErrorKind::Unauthenticated, "check the service-account key"),
                };
                Error::new(
                    kind,
                    format!(
                        "Google refused the service account {} ({}: {description}): {hint}",
                        self.key.client_email,
                        auth.error.as_str()
                    ),
                )
                .context(at)
            }
            yup_oauth2::Error::JSONError(json) => Error::new(
                ErrorKind::Unavailable,
                format!("the token endpoint answered with something that is not a token: {json}"),
            )
            .context(at),
            yup_oauth2::Error::MissingAccessToken => Error::new(
                ErrorKind::Unavailable,
                "the token endpoint answered without an access_token",
            )
            .context(at),
            other => Error::new(
                ErrorKind::Unavailable,
                format!("could not get a token: {other}"),
            )
            .context(at),
        }
    }
}
