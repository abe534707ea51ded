//! [`FakeAppStoreConnect`]: an App Store Connect look-alike on 127.0.0.1 for tests and demos.
//!
//! It reproduces the "faithful fake" checklist of the provider note: ES256 tokens verified
//! against registered public keys, the apps, sales report and analytics endpoints with
//! Apple's headers, encodings and error bodies, a second listener acting as S3 for the
//! pre-signed segment URLs, a rolling rate-limit budget, and a knob for every error case.
//! Data come from a seeded [`Catalogue`]; time comes from an injected [`Clock`]: a
//! stopped [`ManualClock`] for tests, or the system clock
//! ([`FakeBuilder::system_clock`]) for demos and benchmarks that run real clients in real
//! time. [`FakeBuilder::latency`] makes every request wait, as a distant server does.
//!
//! ```no_run
//! # async fn demo() -> storewatch_core::Result<()> {
//! use storewatch_apple::fake::FakeAppStoreConnect;
//! use storewatch_apple::AppStoreConnectSource;
//!
//! let fake = FakeAppStoreConnect::builder().apps(3).days(10).start().await?;
//! let source = AppStoreConnectSource::with_clock(fake.config(), fake.clock())?;
//! # Ok(()) }
//! ```

mod analytics_api;
mod catalogue;
mod keys;
mod sales_api;
mod server;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use storewatch_core::clock::{Clock, ManualClock, SystemClock};
use storewatch_core::{Error, ErrorKind, Result};
use tokio::task::JoinHandle;

pub use catalogue::{
    Anomaly, Catalogue, ExpectedAnalytics, ExpectedSales, FakeApp, HEADER_28, HeaderVariant,
    SalesRow,
};
pub use keys::{SeenClaims, TestKey};

use crate::config::{AppStoreConnectConfig, HttpOptions};
use keys::RegisteredKey;

/// The endpoints the fake counts requests of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Endpoint {
    /// `GET /v1/apps`.
    Apps,
    /// `GET /v1/salesReports`.
    SalesReports,
    /// `GET /v1/apps/{id}/analyticsReportRequests`.
    ReportRequests,
    /// `POST /v1/analyticsReportRequests`.
    CreateReportRequest,
    /// `GET /v1/analyticsReportRequests/{id}/reports`.
    Reports,
    /// `GET /v1/analyticsReports/{id}/instances`.
    Instances,
    /// `GET /v1/analyticsReportInstances/{id}/segments`.
    Segments,
    /// `GET` of a pre-signed segment URL on the S3 listener.
    SegmentDownload,
}

/// What the sales endpoint answers for a date (overriding the clock-driven default).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DayState {
    /// 200 with the report.
    Ready,
    /// 404 "There were no sales for the date specified."
    NoSales,
    /// 404 "Report is not available yet. …"
    NotYetAvailable,
    /// 403 `FORBIDDEN_ERROR`.
    Forbidden,
    /// 500 with Apple's JSON body.
    ServerError,
}

/// A malformed or unusual sales body for a date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SalesBody {
    /// A row with fewer fields than the header.
    ShortRow,
    /// A row with more fields than the header (tolerated).
    LongRow,
    /// `Units` = `abc` on the second data row.
    NonNumericUnits,
    /// CRLF line endings and no final newline (valid).
    CrlfNoFinalNewline,
    /// A gzip of nothing.
    EmptyGzip,
    /// The gzip cut in the middle.
    TruncatedGzip,
    /// A 200 whose body is plain text, not gzip.
    NotGzip,
    /// Tens of MB once decompressed: the day's rows repeated this many times.
    Oversized(u32),
}

/// A transient fault injected into the next matching request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// 500 with Apple's JSON body.
    ServerError,
    /// 502 with an HTML body.
    BadGateway,
    /// 503 with a plain-text body.
    Unavailable,
    /// 429 `RATE_LIMIT_EXCEEDED`.
    RateLimited,
    /// The connection is dropped mid-response.
    ConnectionReset,
    /// The response is delayed this long.
    Stall(Duration),
    /// 401 `NOT_AUTHORIZED` whatever the token.
    Unauthorized,
}

/// What the fake's segment listing does to the next listings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SegmentFault {
    /// URLs already past their 5 minutes.
    Expired,
    /// A wrong `checksum`.
    BadChecksum,
    /// A wrong `sizeInBytes`.
    BadSize,
}

#[derive(Debug, Clone)]
pub(crate) struct AnalyticsRequest {
    pub(crate) id: String,
    pub(crate) app: usize,
    pub(crate) access_type: &'static str,
    pub(crate) stopped: bool,
    /// First processing date with an instance.
    pub(crate) data_start: NaiveDate,
}

#[derive(Debug)]
pub(crate) struct Knobs {
    pub(crate) keys: BTreeMap<String, RegisteredKey>,
    pub(crate) iat_skew_secs: i64,
    pub(crate) tokens_seen: Vec<String>,
    pub(crate) claims_seen: Vec<SeenClaims>,
    pub(crate) versions: HashMap<String, String>,
    pub(crate) day_states: HashMap<NaiveDate, DayState>,
    pub(crate) day_bodies: HashMap<NaiveDate, SalesBody>,
    pub(crate) header_variant: HeaderVariant,
    pub(crate) agreement_missing: bool,
    pub(crate) ready_hour_pt: u32,
    pub(crate) all_days_ready: bool,
    pub(crate) rate_limit: u32,
    pub(crate) rate_window: Duration,
    pub(crate) rate_log: HashMap<String, VecDeque<tokio::time::Instant>>,
    pub(crate) retry_after_secs: Option<u64>,
    pub(crate) burst_limit: Option<usize>,
    pub(crate) faults: VecDeque<(Option<Endpoint>, Fault)>,
    pub(crate) segment_faults: VecDeque<SegmentFault>,
    pub(crate) split_segments: bool,
    pub(crate) requests: Vec<AnalyticsRequest>,
    pub(crate) counters: BTreeMap<Endpoint, u64>,
    pub(crate) rate_limited: u64,
    pub(crate) page_size_cap: usize,
}

impl Knobs {
    /// The budget left of the busiest key (burst 429s report it, not zero).
    pub(crate) fn remaining(&self) -> u32 {
        let used = self.rate_log.values().map(VecDeque::len).max().unwrap_or(0);
        self.rate_limit.saturating_sub(used as u32)
    }
}

pub(crate) struct FakeState {
    pub(crate) catalogue: Catalogue,
    pub(crate) vendor_number: String,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) base_url: String,
    pub(crate) s3_url: String,
    pub(crate) knobs: Mutex<Knobs>,
    pub(crate) in_flight: AtomicUsize,
    /// Injected latency in microseconds (outside the knobs' lock: read on every request).
    pub(crate) latency_us: AtomicU64,
}

impl FakeState {
    pub(crate) fn knobs(&self) -> std::sync::MutexGuard<'_, Knobs> {
        self.knobs.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn latency(&self) -> Duration {
        Duration::from_micros(self.latency_us.load(Ordering::Relaxed))
    }

    fn set_latency(&self, latency: Duration) {
        let micros = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        self.latency_us.store(micros, Ordering::Relaxed);
    }
}

/// Which clock a fake runs on.
#[derive(Debug, Clone)]
enum ClockChoice {
    /// Stopped at 18:00 UTC two days after the last data day.
    Default,
    Manual(ManualClock),
    System,
}

/// Builds a [`FakeAppStoreConnect`].
#[derive(Debug, Clone)]
pub struct FakeBuilder {
    seed: u64,
    apps: usize,
    days: u32,
    start: Option<NaiveDate>,
    last: Option<NaiveDate>,
    anomalies: Vec<Anomaly>,
    vendor_number: String,
    clock: ClockChoice,
    all_days_ready: Option<bool>,
    latency: Duration,
    key: Option<TestKey>,
    without_request: Vec<usize>,
}

impl FakeBuilder {
    /// The seed of the catalogue (default 7).
    #[must_use]
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Number of apps (default 3).
    #[must_use]
    pub fn apps(mut self, apps: usize) -> Self {
        self.apps = apps;
        self
    }

    /// Number of days with data (default 14).
    #[must_use]
    pub fn days(mut self, days: u32) -> Self {
        self.days = days;
        self
    }

    /// The first day with data (default 2026-03-01, or on the system clock `days` days
    /// ending yesterday).
    #[must_use]
    pub fn first_day(mut self, start: NaiveDate) -> Self {
        self.start = Some(start);
        self.last = None;
        self
    }

    /// The last day with data: the catalogue covers the `days` days ending on `last`
    /// (replaces [`first_day`](Self::first_day)).
    #[must_use]
    pub fn last_day(mut self, last: NaiveDate) -> Self {
        self.last = Some(last);
        self.start = None;
        self
    }

    /// Adds an anomaly: app `app`'s numbers on `date` multiplied by `factor`.
    #[must_use]
    pub fn anomaly(mut self, app: usize, date: NaiveDate, factor: f64) -> Self {
        self.anomalies.push(Anomaly { app, date, factor });
        self
    }

    /// The vendor number (default `80012345`).
    #[must_use]
    pub fn vendor_number(mut self, vendor: &str) -> Self {
        self.vendor_number = vendor.to_owned();
        self
    }

    /// The clock (default: stopped at 18:00 UTC two days after the last day, when every
    /// day's sales report is ready).
    #[must_use]
    pub fn clock(mut self, clock: ManualClock) -> Self {
        self.clock = ClockChoice::Manual(clock);
        self
    }

    /// Runs on the system clock, so a client on
    /// [`SystemClock`] has its tokens accepted and
    /// sees today's analytics instances. Unless [`first_day`](Self::first_day) or
    /// [`last_day`](Self::last_day) say otherwise, the data end yesterday (UTC: the
    /// latest "yesterday" of any time zone a schedule may use), and every data day's
    /// sales report is served as ready whatever the hour
    /// ([`all_days_ready`](Self::all_days_ready)`(false)` restores Apple's morning
    /// publication in Pacific time).
    #[must_use]
    pub fn system_clock(mut self) -> Self {
        self.clock = ClockChoice::System;
        self
    }

    /// Serves every data day's sales report as ready, whatever the clock says (default:
    /// on only with [`system_clock`](Self::system_clock)); days without data still follow
    /// the publication hour. Forced [`DayState`]s win over it.
    #[must_use]
    pub fn all_days_ready(mut self, ready: bool) -> Self {
        self.all_days_ready = Some(ready);
        self
    }

    /// Every request (API and S3 listener) waits this long before it is answered
    /// (default zero), as a server across the world does.
    #[must_use]
    pub fn latency(mut self, latency: Duration) -> Self {
        self.latency = latency;
        self
    }

    /// The Team key clients use (default: a throwaway key from seed `fake-team-key`).
    #[must_use]
    pub fn key(mut self, key: TestKey) -> Self {
        self.key = Some(key);
        self
    }

    /// App `app` starts without an ONGOING analytics request (only a stopped one and a
    /// snapshot), so a client must create one.
    #[must_use]
    pub fn without_analytics_request(mut self, app: usize) -> Self {
        self.without_request.push(app);
        self
    }

    /// Binds both listeners on 127.0.0.1 with ephemeral ports and starts serving.
    pub async fn start(self) -> Result<FakeAppStoreConnect> {
        let live = matches!(self.clock, ClockChoice::System);
        let start = match (self.start, self.last) {
            (Some(start), _) => start,
            (None, Some(last)) => first_of(last, self.days),
            (None, None) if live => {
                let yesterday = SystemClock.now().date_naive() - chrono::Duration::days(1);
                first_of(yesterday, self.days)
            }
            (None, None) => NaiveDate::from_ymd_opt(2026, 3, 1).unwrap_or_default(),
        };
        let mut catalogue = Catalogue::new(self.seed, self.apps, start, self.days);
        catalogue.anomalies = self.anomalies;
        let (clock, manual): (Arc<dyn Clock>, Option<ManualClock>) = match self.clock {
            ClockChoice::System => (Arc::new(SystemClock), None),
            ClockChoice::Manual(clock) => (Arc::new(clock.clone()), Some(clock)),
            ClockChoice::Default => {
                let next = catalogue.last_day() + chrono::Duration::days(2);
                let clock =
                    ManualClock::new(next.and_hms_opt(18, 0, 0).unwrap_or_default().and_utc());
                (Arc::new(clock.clone()), Some(clock))
            }
        };
        let key = self
            .key
            .unwrap_or_else(|| TestKey::generate("fake-team-key"));
        let bind = |what: &'static str| async move {
            tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .map_err(|e| {
                    Error::new(
                        ErrorKind::Unavailable,
                        format!("binding the fake {what} listener failed"),
                    )
                    .with_source(e)
                })
        };
        let api = bind("API").await?;
        let s3 = bind("S3").await?;
        let addr = |l: &tokio::net::TcpListener| {
            l.local_addr()
                .map_err(|e| Error::internal("fake listener has no address").with_source(e))
        };
        let base_url = format!("http://{}", addr(&api)?);
        let s3_url = format!("http://{}", addr(&s3)?);
        let mut keys = BTreeMap::new();
        keys.insert(
            key.key_id.clone(),
            RegisteredKey {
                issuer_id: key.issuer_id.clone(),
                public_pem: key.public_pem.clone(),
                admin: true,
                revoked: None,
            },
        );
        let requests = (0..catalogue.apps.len())
            .flat_map(|i| {
                let mut list = vec![
                    AnalyticsRequest {
                        id: format!("a1b2c3d4-0000-4000-8000-{i:012}"),
                        app: i,
                        access_type: "ONGOING",
                        stopped: true,
                        data_start: catalogue.start,
                    },
                    AnalyticsRequest {
                        id: format!("a1b2c3d4-1111-4000-8000-{i:012}"),
                        app: i,
                        access_type: "ONE_TIME_SNAPSHOT",
                        stopped: false,
                        data_start: catalogue.start,
                    },
                ];
                if !self.without_request.contains(&i) {
                    list.push(AnalyticsRequest {
                        id: format!("a1b2c3d4-2222-4000-8000-{i:012}"),
                        app: i,
                        access_type: "ONGOING",
                        stopped: false,
                        data_start: catalogue.start + chrono::Duration::days(1),
                    });
                }
                list
            })
            .collect();
        let mut versions = HashMap::new();
        for (report, version) in [
            ("SALES", "1_0"),
            ("PRE_ORDER", "1_0"),
            ("SUBSCRIPTION", "1_4"),
            ("SUBSCRIPTION_EVENT", "1_4"),
            ("SUBSCRIBER", "1_4"),
            ("INSTALLS", "1_2"),
        ] {
            versions.insert(report.to_owned(), version.to_owned());
        }
        let state = Arc::new(FakeState {
            catalogue,
            vendor_number: self.vendor_number,
            clock: clock.clone(),
            base_url: base_url.clone(),
            s3_url,
            knobs: Mutex::new(Knobs {
                keys,
                iat_skew_secs: 0,
                tokens_seen: Vec::new(),
                claims_seen: Vec::new(),
                versions,
                day_states: HashMap::new(),
                day_bodies: HashMap::new(),
                header_variant: HeaderVariant::Standard,
                agreement_missing: false,
                ready_hour_pt: 8,
                all_days_ready: self.all_days_ready.unwrap_or(live),
                rate_limit: 3600,
                rate_window: Duration::from_secs(3600),
                rate_log: HashMap::new(),
                retry_after_secs: None,
                burst_limit: None,
                faults: VecDeque::new(),
                segment_faults: VecDeque::new(),
                split_segments: false,
                requests,
                counters: BTreeMap::new(),
                rate_limited: 0,
                page_size_cap: 200,
            }),
            in_flight: AtomicUsize::new(0),
            latency_us: AtomicU64::new(0),
        });
        state.set_latency(self.latency);
        let api_task = tokio::spawn(server::serve_api(api, state.clone()));
        let s3_task = tokio::spawn(server::serve_s3(s3, state.clone()));
        Ok(FakeAppStoreConnect {
            state,
            clock,
            manual,
            key,
            tasks: vec![api_task, s3_task],
        })
    }
}

/// The first day of `days` days ending on `last`.
fn first_of(last: NaiveDate, days: u32) -> NaiveDate {
    last - chrono::Duration::days(i64::from(days.max(1)) - 1)
}

/// A running fake App Store Connect; stops serving when dropped.
pub struct FakeAppStoreConnect {
    state: Arc<FakeState>,
    clock: Arc<dyn Clock>,
    manual: Option<ManualClock>,
    key: TestKey,
    tasks: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for FakeAppStoreConnect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeAppStoreConnect")
            .field("base_url", &self.state.base_url)
            .field("s3_url", &self.state.s3_url)
            .finish_non_exhaustive()
    }
}

impl Drop for FakeAppStoreConnect {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl FakeAppStoreConnect {
    /// A builder with defaults: 3 apps, 14 days from 2026-03-01, seed 7, a stopped clock,
    /// no latency.
    pub fn builder() -> FakeBuilder {
        FakeBuilder {
            seed: 7,
            apps: 3,
            days: 14,
            start: None,
            last: None,
            anomalies: Vec::new(),
            vendor_number: "80012345".to_owned(),
            clock: ClockChoice::Default,
            all_days_ready: None,
            latency: Duration::ZERO,
            key: None,
            without_request: Vec::new(),
        }
    }

    /// The API base URL (`http://127.0.0.1:<port>`).
    pub fn base_url(&self) -> &str {
        &self.state.base_url
    }

    /// The S3 listener's base URL.
    pub fn s3_url(&self) -> &str {
        &self.state.s3_url
    }

    /// The fake's clock (share it with the client so tokens and readiness agree).
    pub fn clock(&self) -> Arc<dyn Clock> {
        self.clock.clone()
    }

    /// The fake's clock, to move time; `None` when it runs on the system clock.
    pub fn manual_clock(&self) -> Option<&ManualClock> {
        self.manual.as_ref()
    }

    /// The data served.
    pub fn catalogue(&self) -> &Catalogue {
        &self.state.catalogue
    }

    /// The Team key registered with the fake.
    pub fn key(&self) -> &TestKey {
        &self.key
    }

    /// A client config for the registered key, pointing at the fake, with fast retries.
    pub fn config(&self) -> AppStoreConnectConfig {
        let http = HttpOptions {
            timeout_secs: 10,
            backoff_base_ms: 10,
            backoff_max_ms: 200,
            ..HttpOptions::default()
        };
        let mut config = AppStoreConnectConfig::new(
            self.key.issuer_id.clone(),
            self.key.key_id.clone(),
            self.key.private_pem.clone(),
            self.state.vendor_number.clone(),
        )
        .map(|c| c.with_base_url(self.state.base_url.clone()).with_http(http));
        if let Ok(config) = config.as_mut() {
            config.sales_report_version = "1_0".to_owned();
        }
        config.unwrap_or_else(|e| panic!("the fake's own config is invalid: {e}"))
    }

    /// The same config as JSON, as a credential stores it.
    pub fn config_json(&self) -> String {
        use secrecy::ExposeSecret;
        serde_json::json!({
            "issuer_id": self.key.issuer_id,
            "key_id": self.key.key_id,
            "private_key": self.key.private_pem.expose_secret(),
            "vendor_number": self.state.vendor_number,
            "base_url": self.state.base_url,
            "http": {"backoff_base_ms": 10, "backoff_max_ms": 200, "timeout_secs": 10},
        })
        .to_string()
    }

    /// Registers another key: `admin` decides whether it may create analytics requests.
    pub fn register_key(&self, key: &TestKey, admin: bool) {
        self.state.knobs().keys.insert(
            key.key_id.clone(),
            RegisteredKey {
                issuer_id: key.issuer_id.clone(),
                public_pem: key.public_pem.clone(),
                admin,
                revoked: None,
            },
        );
    }

    /// Revokes a key: its tokens get `status` (401 or 403).
    pub fn revoke_key(&self, key_id: &str, status: u16) {
        if let Some(key) = self.state.knobs().keys.get_mut(key_id) {
            key.revoked = Some(status);
        }
    }

    /// Accepts `iat` up to this many seconds in the future (default 0).
    pub fn set_iat_skew(&self, secs: i64) {
        self.state.knobs().iat_skew_secs = secs;
    }

    /// Every bearer token received, in order (to check reuse).
    pub fn tokens_seen(&self) -> Vec<String> {
        self.state.knobs().tokens_seen.clone()
    }

    /// The claims of every accepted token, in order.
    pub fn claims_seen(&self) -> Vec<SeenClaims> {
        self.state.knobs().claims_seen.clone()
    }

    /// Sets the current version of a report type (e.g. `SALES` → `1_1`).
    pub fn set_report_version(&self, report_type: &str, version: &str) {
        self.state
            .knobs()
            .versions
            .insert(report_type.to_owned(), version.to_owned());
    }

    /// Forces what the sales endpoint answers for `date`.
    pub fn set_day_state(&self, date: NaiveDate, state: DayState) {
        self.state.knobs().day_states.insert(date, state);
    }

    /// Serves a malformed or unusual body for `date`.
    pub fn set_sales_body(&self, date: NaiveDate, body: SalesBody) {
        self.state.knobs().day_bodies.insert(date, body);
    }

    /// The header every report uses from now on.
    pub fn set_header_variant(&self, variant: HeaderVariant) {
        self.state.knobs().header_variant = variant;
    }

    /// The account-wide agreement switch: every endpoint answers 403.
    pub fn set_agreement_missing(&self, missing: bool) {
        self.state.knobs().agreement_missing = missing;
    }

    /// The hour (Pacific time) of the next day at which a day's report becomes ready
    /// (default 8).
    pub fn set_ready_hour_pt(&self, hour: u32) {
        self.state.knobs().ready_hour_pt = hour;
    }

    /// Serves every data day's sales report as ready whatever the hour (see
    /// [`FakeBuilder::all_days_ready`]).
    pub fn set_all_days_ready(&self, ready: bool) {
        self.state.knobs().all_days_ready = ready;
    }

    /// Makes every request, on both listeners, wait `latency` before it is answered
    /// (zero turns it off).
    pub fn set_latency(&self, latency: Duration) {
        self.state.set_latency(latency);
    }

    /// The injected latency.
    pub fn latency(&self) -> Duration {
        self.state.latency()
    }

    /// The rate-limit budget per key and its rolling window (default 3600 per hour).
    pub fn set_rate_limit(&self, limit: u32, window: Duration) {
        let mut knobs = self.state.knobs();
        knobs.rate_limit = limit;
        knobs.rate_window = window;
    }

    /// Sends `Retry-After: secs` with 429s (default: absent, as Apple does).
    pub fn set_retry_after(&self, secs: Option<u64>) {
        self.state.knobs().retry_after_secs = secs;
    }

    /// Answers 429 while more than `limit` requests are in flight (Apple's burst limit).
    pub fn set_burst_limit(&self, limit: Option<usize>) {
        self.state.knobs().burst_limit = limit;
    }

    /// Injects `fault` into the next request to `endpoint` (any endpoint when `None`).
    pub fn inject(&self, endpoint: Option<Endpoint>, fault: Fault) {
        self.state.knobs().faults.push_back((endpoint, fault));
    }

    /// Applies `fault` to the next segment listing.
    pub fn inject_segment_fault(&self, fault: SegmentFault) {
        self.state.knobs().segment_faults.push_back(fault);
    }

    /// Splits every analytics instance into two segments.
    pub fn set_split_segments(&self, split: bool) {
        self.state.knobs().split_segments = split;
    }

    /// Caps the page size of collections, to exercise `links.next` paging.
    pub fn set_page_size_cap(&self, cap: usize) {
        self.state.knobs().page_size_cap = cap.max(1);
    }

    /// Requests received per endpoint (including refused ones).
    pub fn request_count(&self, endpoint: Endpoint) -> u64 {
        self.state
            .knobs()
            .counters
            .get(&endpoint)
            .copied()
            .unwrap_or(0)
    }

    /// All counters.
    pub fn request_counts(&self) -> BTreeMap<Endpoint, u64> {
        self.state.knobs().counters.clone()
    }

    /// How many 429s the fake has sent.
    pub fn rate_limited_count(&self) -> u64 {
        self.state.knobs().rate_limited
    }

    /// Analytics requests the fake knows of app `app`: (id, access type, stopped).
    pub fn analytics_requests(&self, app: usize) -> Vec<(String, String, bool)> {
        self.state
            .knobs()
            .requests
            .iter()
            .filter(|r| r.app == app)
            .map(|r| (r.id.clone(), r.access_type.to_owned(), r.stopped))
            .collect()
    }

    /// The last processing date with analytics instances now (today, UTC).
    pub fn last_processing_date(&self) -> NaiveDate {
        analytics_api::last_processing(&self.state)
    }

    /// Now, on the fake's clock.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }
}
