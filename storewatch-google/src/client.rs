//! [`GoogleClient`]: authenticated HTTP to Google with retries, back-off, the Reporting
//! API rate limit and the one error conversion.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use reqwest::{Method, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;
use storewatch_core::clock::Clock;
use storewatch_core::{Error, ErrorKind, Result};
use url::Url;

use crate::auth::TokenProvider;
use crate::config::{GooglePlayConfig, HttpOptions};
use crate::error::{Surface, parse_error, retry_after};
use crate::limiter::RateLimiter;

/// One HTTP request, rebuilt for every attempt.
#[derive(Debug, Clone)]
pub(crate) struct Call {
    pub(crate) surface: Surface,
    pub(crate) method: Method,
    pub(crate) url: Url,
    pub(crate) json: Option<serde_json::Value>,
}

impl Call {
    pub(crate) fn get(surface: Surface, url: Url) -> Self {
        Call {
            surface,
            method: Method::GET,
            url,
            json: None,
        }
    }

    pub(crate) fn post(surface: Surface, url: Url, body: &impl Serialize) -> Result<Self> {
        let json = serde_json::to_value(body)
            .map_err(|e| Error::internal(format!("request body does not serialize: {e}")))?;
        Ok(Call {
            surface,
            method: Method::POST,
            url,
            json: Some(json),
        })
    }

    /// Method and path, for error contexts (URLs carry no secrets; queries are dropped).
    fn describe(&self) -> String {
        format!("{} {}", self.method, self.url.path())
    }
}

/// Talks to Google for one service account.
pub(crate) struct GoogleClient {
    http: reqwest::Client,
    tokens: TokenProvider,
    options: HttpOptions,
    reporting_limiter: RateLimiter,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for GoogleClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GoogleClient")
            .field("tokens", &self.tokens)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl GoogleClient {
    pub(crate) fn new(
        config: &GooglePlayConfig,
        http: Option<reqwest::Client>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self> {
        let http = match http {
            Some(http) => http,
            None => reqwest::Client::builder()
                .timeout(config.http.timeout())
                .user_agent(concat!("storewatch-google/", env!("CARGO_PKG_VERSION")))
                .build()
                .map_err(|e| {
                    Error::new(
                        ErrorKind::Config,
                        format!("cannot build the HTTP client: {e}"),
                    )
                })?,
        };
        Ok(GoogleClient {
            http,
            tokens: TokenProvider::new(config.key()?, config.http.timeout()),
            options: config.http.clone(),
            reporting_limiter: RateLimiter::new(config.http.reporting_requests_per_second),
            clock,
        })
    }

    pub(crate) fn options(&self) -> &HttpOptions {
        &self.options
    }

    pub(crate) fn clock(&self) -> &dyn Clock {
        &*self.clock
    }

    /// Makes sure a bearer token can be had (cached), e.g. to find out early that the key
    /// is refused; a token endpoint that is busy or failing is retried like any call.
    pub(crate) async fn ensure_token(&self) -> Result<()> {
        let mut attempt = 0;
        loop {
            match self.tokens.token(&*self.clock).await {
                Ok(_) => return Ok(()),
                Err(e) if e.is_retryable() && attempt < self.options.max_retries => {
                    tokio::time::sleep(self.backoff(attempt, e.retry_after())).await;
                    attempt += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Sends and decodes a JSON answer.
    pub(crate) async fn json<T: DeserializeOwned>(&self, call: Call) -> Result<T> {
        let what = call.describe();
        let body = self.bytes(call).await?;
        serde_json::from_slice(&body).map_err(|e| {
            Error::new(
                ErrorKind::Unavailable,
                format!("Google answered with JSON storewatch cannot read: {e}"),
            )
            .context(what)
        })
    }

    /// Sends with auth, rate limit and retries; returns the body of a 2xx answer.
    pub(crate) async fn bytes(&self, call: Call) -> Result<Vec<u8>> {
        let mut attempt = 0;
        let mut refreshed = false;
        loop {
            let err = match self.attempt(&call).await {
                Ok(body) => return Ok(body),
                Err(err) => err,
            };
            if err.kind() == ErrorKind::Unauthenticated
                && !refreshed
                && call.surface != Surface::Token
            {
                // A revoked or expired bearer: sign a new JWT once and try again.
                refreshed = true;
                if let Err(e) = self.tokens.refresh().await {
                    return Err(e.context(call.describe()));
                }
                continue;
            }
            let retry = err.is_retryable()
                && err.kind() != ErrorKind::NotYetAvailable
                && attempt < self.options.max_retries;
            if !retry {
                return Err(err.context(call.describe()));
            }
            let delay = self.backoff(attempt, err.retry_after());
            tracing::debug!(call = %call.describe(), attempt, ?delay, error = %err, "retrying Google request");
            tokio::time::sleep(delay).await;
            attempt += 1;
        }
    }

    async fn attempt(&self, call: &Call) -> Result<Vec<u8>> {
        let token = self.tokens.token(&*self.clock).await?;
        if call.surface == Surface::Reporting {
            self.reporting_limiter.acquire().await;
        }
        let mut request = self
            .http
            .request(call.method.clone(), call.url.clone())
            .bearer_auth(token);
        if let Some(json) = &call.json {
            request = request.json(json);
        }
        let response = request.send().await.map_err(transport_error)?;
        let status = response.status();
        let wait = retry_after(response.headers());
        let body = response.bytes().await.map_err(transport_error)?;
        if status.is_success() {
            return Ok(body.to_vec());
        }
        let text = String::from_utf8_lossy(&body);
        if status == StatusCode::BAD_REQUEST || status.as_u16() >= 500 {
            // Google explains a 400 only in the body; keep it for whoever debugs a query.
            tracing::warn!(call = %call.describe(), status = status.as_u16(), body = %text, "Google error answer");
        }
        Err(parse_error(call.surface, status, &text, wait))
    }

    /// Exponential back-off with jitter; a provider's `Retry-After` wins when longer.
    fn backoff(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        let max = Duration::from_millis(self.options.backoff_max_ms);
        let base = Duration::from_millis(self.options.backoff_base_ms)
            .saturating_mul(1u32 << attempt.min(16));
        let jitter = if base.is_zero() {
            Duration::ZERO
        } else {
            let quarter = u64::try_from(base.as_millis() / 4).unwrap_or(u64::MAX);
            Duration::from_millis(rand::thread_rng().gen_range(0..=quarter))
        };
        let delay = (base + jitter).min(max);
        retry_after.map_or(delay, |r| r.min(max).max(delay))
    }
}

fn transport_error(e: reqwest::Error) -> Error {
    let kind = if e.is_timeout() {
        ErrorKind::Timeout
    } else {
        ErrorKind::Unavailable
    };
    // reqwest's Display names the URL (no secrets: tokens travel in headers) and the cause.
    let mut text = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    Error::new(kind, format!("request to Google failed: {text}"))
}
