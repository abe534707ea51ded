//! The HTTP client: bearer auth, pacing to Apple's rate-limit budget, bounded concurrency,
//! and retries of 429s, 5xx and transport failures with backoff.
//!
//! Pacing: every response's `X-Rate-Limit: user-hour-lim:N;user-hour-rem:M;` is tracked.
//! When the remaining budget (less what is in flight and the configured reserve) is spent,
//! the next request waits until the oldest request this client sent leaves the rolling
//! window, so a client that owns its key never draws a 429.

use std::collections::VecDeque;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderMap, RETRY_AFTER};
use reqwest::{Method, StatusCode};
use secrecy::SecretString;
use storewatch_core::clock::Clock;
use storewatch_core::{Error, ErrorKind, Result};
use tokio::sync::Semaphore;
use tokio::time::Instant;
use url::Url;

use crate::auth::TokenSource;
use crate::config::{AppStoreConnectConfig, HttpOptions};
use crate::error::{ApiError, classify};

/// The `Accept` of the sales report endpoint.
pub(crate) const ACCEPT_GZIP: &str = "application/a-gzip";
/// The `Accept` of the JSON endpoints.
pub(crate) const ACCEPT_JSON: &str = "application/json";

/// A failed call: an answer Apple gave, or a failure to get one.
#[derive(Debug)]
pub(crate) enum CallError {
    /// Apple answered with an error status.
    Api(ApiError),
    /// No usable answer (transport, timeout, bad JSON) or a local failure.
    Other(Error),
}

impl From<CallError> for Error {
    fn from(e: CallError) -> Error {
        match e {
            CallError::Api(api) => api.into(),
            CallError::Other(err) => err,
        }
    }
}

impl From<Error> for CallError {
    fn from(e: Error) -> CallError {
        CallError::Other(e)
    }
}

/// The parsed `X-Rate-Limit` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimitHeader {
    /// `user-hour-lim`.
    pub limit: Option<u32>,
    /// `user-hour-rem`.
    pub remaining: Option<u32>,
}

impl RateLimitHeader {
    /// Parses `key:value;` pairs, skipping unknown keys and malformed pairs.
    pub fn parse(value: &str) -> RateLimitHeader {
        let mut parsed = RateLimitHeader {
            limit: None,
            remaining: None,
        };
        for pair in value.split(';') {
            let Some((key, value)) = pair.split_once(':') else {
                continue;
            };
            let value = value.trim().parse().ok();
            match key.trim() {
                "user-hour-lim" => parsed.limit = value,
                "user-hour-rem" => parsed.remaining = value,
                _ => {}
            }
        }
        parsed
    }
}

#[derive(Debug)]
struct PaceState {
    limit: Option<u32>,
    /// The budget the last rate-limit header advertised, plus slots freed since.
    remaining: Option<u32>,
    /// When that header was read.
    observed_at: Instant,
    /// Requests sent since `remaining` was observed (and those in flight then).
    since_observed: u32,
    in_flight: u32,
    /// When this client's requests within the window were answered. Apple counts a
    /// request from when it receives it, which is before we see the answer, so a slot
    /// is surely free one window after the answer.
    answered: VecDeque<Instant>,
}

impl PaceState {
    /// Drops answers older than the window; those that left it after the last header
    /// gave their slot back.
    fn prune(&mut self, now: Instant, window: Duration) {
        while let Some(t) = self.answered.front().copied() {
            if now < t + window {
                break;
            }
            self.answered.pop_front();
            if t + window > self.observed_at
                && let Some(r) = self.remaining.as_mut()
            {
                *r += 1;
            }
        }
    }
}

/// Paces requests to the advertised budget of a rolling window.
#[derive(Debug)]
struct Pacer {
    state: Mutex<PaceState>,
    window: Duration,
    margin: Duration,
    reserve: u32,
}

impl Pacer {
    fn new(window: Duration, reserve: u32) -> Pacer {
        Pacer {
            state: Mutex::new(PaceState {
                limit: None,
                remaining: None,
                observed_at: Instant::now(),
                since_observed: 0,
                in_flight: 0,
                answered: VecDeque::new(),
            }),
            window,
            margin: (window / 100).max(Duration::from_millis(20)),
            reserve,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, PaceState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits until a request fits the budget, then counts it as sent.
    async fn acquire(&self) {
        loop {
            let wait = {
                let mut s = self.lock();
                let now = Instant::now();
                s.prune(now, self.window);
                let budget = s.remaining.map(|r| r.saturating_sub(self.reserve));
                match budget {
                    Some(budget) if s.since_observed >= budget => {
                        match s.answered.front() {
                            Some(oldest) => Some((*oldest + self.window + self.margin) - now),
                            // Our own requests in flight will answer (and refresh the
                            // budget) soon.
                            None if s.in_flight > 0 => Some(self.margin),
                            None => {
                                // Someone else spent the budget: probe after one slot's time.
                                s.remaining = None;
                                Some(self.window / s.limit.unwrap_or(3600).max(1))
                            }
                        }
                    }
                    _ => {
                        s.since_observed += 1;
                        s.in_flight += 1;
                        None
                    }
                }
            };
            match wait {
                None => return,
                Some(wait) => {
                    tracing::debug!(?wait, "App Store Connect budget spent; pacing");
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }

    /// Records a finished request and its rate-limit header (when it had one).
    fn finish(&self, header: Option<RateLimitHeader>) {
        let mut s = self.lock();
        let now = Instant::now();
        s.in_flight = s.in_flight.saturating_sub(1);
        s.answered.push_back(now);
        if let Some(h) = header {
            if h.limit.is_some() {
                s.limit = h.limit;
            }
            if let Some(rem) = h.remaining {
                s.remaining = Some(rem);
                s.observed_at = now;
                // Requests still in flight may not be counted in this header yet.
                s.since_observed = s.in_flight;
            }
        }
    }
}

/// An App Store Connect API client for one key.
pub(crate) struct Client {
    http: reqwest::Client,
    base: Url,
    tokens: TokenSource,
    pacer: Pacer,
    concurrency: Semaphore,
    options: HttpOptions,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base", &self.base.as_str())
            .field("tokens", &self.tokens)
            .finish_non_exhaustive()
    }
}

impl Client {
    pub(crate) fn new(config: &AppStoreConnectConfig, clock: Arc<dyn Clock>) -> Result<Client> {
        let options = config.http.clone();
        let mut builder = reqwest::Client::builder()
            .timeout(options.timeout())
            .connect_timeout(Duration::from_secs(options.connect_timeout_secs))
            .user_agent(concat!("storewatch-apple/", env!("CARGO_PKG_VERSION")));
        if let Some(proxy) = &options.proxy {
            builder = builder.proxy(reqwest::Proxy::all(proxy).map_err(|_| {
                Error::invalid_field("http.proxy", proxy, "a proxy URL like http://proxy:3128")
            })?);
        }
        let http = builder.build().map_err(|e| {
            Error::new(ErrorKind::Config, "building the HTTP client failed").with_source(e)
        })?;
        Self::with_http(config, http, clock)
    }

    pub(crate) fn with_http(
        config: &AppStoreConnectConfig,
        http: reqwest::Client,
        clock: Arc<dyn Clock>,
    ) -> Result<Client> {
        let base = Url::parse(&config.base_url)
            .map_err(|_| Error::invalid_field("base_url", &config.base_url, "an http(s) URL"))?;
        let key: &SecretString = &config.private_key;
        Ok(Client {
            http,
            base,
            tokens: TokenSource::new(&config.issuer_id, &config.key_id, key, clock)?,
            pacer: Pacer::new(
                Duration::from_secs(config.http.rate_window_secs),
                config.http.rate_reserve,
            ),
            concurrency: Semaphore::new(config.http.max_concurrency),
            options: config.http.clone(),
        })
    }

    /// The URL of an API path (`/v1/apps`) with query pairs, under the base URL's own
    /// path when it has one (an API gateway at `https://gw.example.com/appstore`).
    pub(crate) fn url(&self, path: &str, query: &[(&str, &str)]) -> Result<Url> {
        let mut url = self.base.clone();
        url.path_segments_mut()
            .map_err(|()| Error::internal(format!("base URL {} has no path", self.base)))?
            .pop_if_empty()
            .extend(path.split('/').filter(|s| !s.is_empty()));
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        Ok(url)
    }

    /// Whether `url` may carry the bearer token: only the API's own scheme, host, port
    /// and base path.
    pub(crate) fn is_api_url(&self, url: &Url) -> bool {
        url.scheme() == self.base.scheme()
            && url.host_str() == self.base.host_str()
            && url.port_or_known_default() == self.base.port_or_known_default()
            && url
                .path()
                .starts_with(self.base.path().trim_end_matches('/'))
    }

    /// GETs an API URL with the bearer token.
    pub(crate) async fn get(&self, url: &Url, accept: &str) -> Result<Bytes, CallError> {
        self.call(Method::GET, url, accept, None).await
    }

    /// POSTs a JSON:API body with the bearer token.
    pub(crate) async fn post(
        &self,
        url: &Url,
        body: &serde_json::Value,
    ) -> Result<Bytes, CallError> {
        self.call(Method::POST, url, ACCEPT_JSON, Some(body)).await
    }

    /// GETs and decodes a JSON document.
    pub(crate) async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        url: &Url,
    ) -> Result<T, CallError> {
        let body = self.get(url, ACCEPT_JSON).await?;
        serde_json::from_slice(&body).map_err(|e| {
            CallError::Other(
                Error::new(
                    ErrorKind::Unavailable,
                    format!(
                        "App Store Connect sent JSON of an unexpected shape for {}",
                        url.path()
                    ),
                )
                .with_source(e),
            )
        })
    }

    /// Downloads a pre-signed URL: no bearer token, no pacing (it is another host).
    pub(crate) async fn download(&self, url: &Url) -> Result<Bytes, CallError> {
        let mut attempt = 0;
        loop {
            let permit = self.concurrency.acquire().await;
            let result = self.http.get(url.clone()).send().await;
            let err = match result {
                Ok(resp) => {
                    let status = resp.status();
                    match resp.bytes().await {
                        Ok(body) if status.is_success() => return Ok(body),
                        Ok(body) => classify_download(status, &body),
                        Err(e) => transport(e),
                    }
                }
                Err(e) => transport(e),
            };
            drop(permit);
            if attempt >= self.options.max_retries || !is_transient(&err) {
                return Err(err);
            }
            tokio::time::sleep(self.backoff(attempt, None)).await;
            attempt += 1;
        }
    }

    async fn call(
        &self,
        method: Method,
        url: &Url,
        accept: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<Bytes, CallError> {
        let mut attempt = 0;
        let mut reminted = false;
        loop {
            self.pacer.acquire().await;
            let token = match self.tokens.token() {
                Ok(token) => token,
                Err(e) => {
                    self.pacer.finish(None);
                    return Err(e.into());
                }
            };
            let permit = self.concurrency.acquire().await;
            let mut request = self
                .http
                .request(method.clone(), url.clone())
                .header(AUTHORIZATION, format!("Bearer {token}"))
                .header(ACCEPT, accept);
            if let Some(body) = body {
                request = request.json(body);
            }
            let sent = request.send().await;
            let (err, retry_after) = match sent {
                Ok(resp) => {
                    let status = resp.status();
                    let headers = resp.headers().clone();
                    self.pacer.finish(rate_limit_header(&headers));
                    match resp.bytes().await {
                        Ok(body) if status.is_success() => return Ok(body),
                        Ok(body) => {
                            let retry_after = retry_after(&headers);
                            let api = classify(status.as_u16(), &body, retry_after);
                            if api == ApiError::Unauthorized && !reminted {
                                // The token may have expired in flight or been minted on a
                                // skewed clock: mint a fresh one and try once more.
                                drop(permit);
                                self.tokens.invalidate(&token);
                                reminted = true;
                                continue;
                            }
                            (CallError::Api(api), retry_after)
                        }
                        Err(e) => (transport(e), None),
                    }
                }
                Err(e) => {
                    self.pacer.finish(None);
                    (transport(e), None)
                }
            };
            drop(permit);
            if attempt >= self.options.max_retries || !is_transient(&err) {
                if is_transient(&err) {
                    tracing::warn!(
                        path = url.path(),
                        attempts = attempt + 1,
                        "App Store Connect request failed after retries"
                    );
                }
                return Err(err);
            }
            let delay = self.backoff(attempt, retry_after);
            tracing::debug!(
                path = url.path(),
                ?delay,
                attempt,
                "retrying App Store Connect request"
            );
            tokio::time::sleep(delay).await;
            attempt += 1;
        }
    }

    fn backoff(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        let base = Duration::from_millis(self.options.backoff_base_ms);
        let max = Duration::from_millis(self.options.backoff_max_ms);
        let exp = base.saturating_mul(1u32 << attempt.min(20)).min(max);
        // Honour Retry-After when Apple sends it, even past our own cap.
        retry_after.map_or(exp, |r| r.max(exp.min(r)))
    }
}

fn is_transient(err: &CallError) -> bool {
    match err {
        CallError::Api(api) => api.is_transient(),
        CallError::Other(e) => matches!(e.kind(), ErrorKind::Unavailable | ErrorKind::Timeout),
    }
}

fn transport(e: reqwest::Error) -> CallError {
    let kind = if e.is_timeout() {
        ErrorKind::Timeout
    } else {
        ErrorKind::Unavailable
    };
    // reqwest's Display includes the URL, which for S3 carries a signature: keep it out.
    let e = e.without_url();
    CallError::Other(Error::new(
        kind,
        format!("App Store Connect request failed: {e}"),
    ))
}

/// S3's answers to a pre-signed URL: 403 expired, 400 bad auth; 5xx transient.
fn classify_download(status: StatusCode, body: &[u8]) -> CallError {
    let text = String::from_utf8_lossy(&body[..body.len().min(300)]);
    let code = text
        .split("<Code>")
        .nth(1)
        .and_then(|s| s.split("</Code>").next())
        .unwrap_or("")
        .to_owned();
    if status.is_server_error() {
        return CallError::Api(ApiError::Server {
            status: status.as_u16(),
            detail: code,
        });
    }
    let kind = if status == StatusCode::FORBIDDEN {
        // An expired URL: listing the segments again gives fresh ones.
        ErrorKind::NotYetAvailable
    } else {
        ErrorKind::InvalidInput
    };
    CallError::Other(Error::new(
        kind,
        format!(
            "analytics segment download refused: HTTP {} {code}",
            status.as_u16()
        ),
    ))
}

fn rate_limit_header(headers: &HeaderMap) -> Option<RateLimitHeader> {
    headers
        .get("x-rate-limit")
        .and_then(|v| v.to_str().ok())
        .map(RateLimitHeader::parse)
}

fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let secs: u64 = headers
        .get(RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(Duration::from_secs(secs.min(3_600)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limit_header_pairs() {
        let h = RateLimitHeader::parse("user-hour-lim:3600;user-hour-rem:3599;");
        assert_eq!(h.limit, Some(3600));
        assert_eq!(h.remaining, Some(3599));
        let h = RateLimitHeader::parse("user-minute-lim:50;junk;user-hour-rem:12");
        assert_eq!(h.limit, None);
        assert_eq!(h.remaining, Some(12));
        assert_eq!(RateLimitHeader::parse("").remaining, None);
    }

    #[tokio::test(start_paused = true)]
    async fn pacer_waits_for_the_oldest_request_to_leave_the_window() {
        let pacer = Pacer::new(Duration::from_secs(60), 0);
        let start = Instant::now();
        pacer.acquire().await;
        pacer.finish(Some(RateLimitHeader {
            limit: Some(2),
            remaining: Some(1),
        }));
        pacer.acquire().await;
        pacer.finish(Some(RateLimitHeader {
            limit: Some(2),
            remaining: Some(0),
        }));
        assert_eq!(Instant::now(), start, "budget left: no wait");
        pacer.acquire().await;
        assert!(
            Instant::now() >= start + Duration::from_secs(60),
            "the third request waits for the first to leave the window"
        );
    }

    #[cfg(feature = "fake")]
    #[test]
    fn the_bearer_token_only_goes_to_the_api_host() {
        let key = crate::fake::TestKey::generate("client-unit");
        let config = AppStoreConnectConfig::new(
            key.issuer_id.clone(),
            key.key_id.clone(),
            key.private_pem.clone(),
            "80012345",
        )
        .unwrap();
        let client = Client::new(&config, Arc::new(storewatch_core::clock::SystemClock)).unwrap();
        let ok = Url::parse("https://api.appstoreconnect.apple.com/v1/apps?cursor=AB").unwrap();
        assert!(client.is_api_url(&ok));
        for other in [
            "https://evil.example.com/v1/apps?cursor=AB",
            "http://api.appstoreconnect.apple.com/v1/apps",
            "https://api.appstoreconnect.apple.com:8443/v1/apps",
        ] {
            assert!(!client.is_api_url(&Url::parse(other).unwrap()), "{other}");
        }
        let url = client
            .url("/v1/apps", &[("filter[bundleId]", "a.b,c.d")])
            .unwrap();
        assert_eq!(url.path(), "/v1/apps");
        assert_eq!(
            url.query_pairs().next().unwrap(),
            ("filter[bundleId]".into(), "a.b,c.d".into())
        );

        for base in [
            "https://gw.example.com/appstore",
            "https://gw.example.com/appstore/",
        ] {
            let behind = Client::new(
                &config.clone().with_base_url(base),
                Arc::new(storewatch_core::clock::SystemClock),
            )
            .unwrap();
            let url = behind.url("/v1/salesReports", &[]).unwrap();
            assert_eq!(
                url.as_str(),
                "https://gw.example.com/appstore/v1/salesReports",
                "{base}"
            );
            assert!(behind.is_api_url(&url));
            let outside = Url::parse("https://gw.example.com/other/v1/apps").unwrap();
            assert!(!behind.is_api_url(&outside), "{base}");
        }
    }
}
