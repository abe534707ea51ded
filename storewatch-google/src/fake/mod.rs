//! [`FakeGooglePlay`]: a loopback server that behaves like Google's token endpoint, the
//! Play Developer Reporting API, Cloud Storage (bulk reports) and Android Publisher
//! reviews, with a knob for every error case of the provider note and request counts
//! per endpoint.
//!
//! For real-time runs (demos, multi-process tests, benchmarks) it follows the system's
//! date in America/Los_Angeles unless told a "today", can hold every request for an
//! injected latency ([`FakeGooglePlayBuilder::latency`]), and can plant anomalies in an
//! app's installs ([`FakeGooglePlayBuilder::anomaly`]).
//!
//! **Which days are collectable.** With "today" = T (Los Angeles), the Reporting API's
//! crash and ANR sets are fresh through T − 1 (DAILY `latestEndTime` = T, exclusive), as
//! Google is on a good day. The bulk files hold final numbers through T − 2 and show
//! T − 1 as Play's row of zeros (the real lag of one to two days, with the unfinished day
//! printed as 0), so by default yesterday's installs read 0 until a later collection
//! restates them. A demo or benchmark that wants yesterday final sets
//! [`bulk_lag_days(1)`](FakeGooglePlayBuilder::bulk_lag_days) and
//! [`unfinished_days(0)`](FakeGooglePlayBuilder::unfinished_days).
//!
//! ```no_run
//! # async fn demo() {
//! use storewatch_google::fake::{Endpoint, FakeGooglePlay};
//!
//! let fake = FakeGooglePlay::start().await;
//! fake.add_service_account("play@p.iam.gserviceaccount.com", "-----BEGIN PUBLIC KEY-----\n…");
//! fake.add_app("com.example.app");
//! // … point GooglePlayConfig at fake.config_json(private_key_pem) and collect …
//! assert_eq!(fake.requests(Endpoint::Query), 0);
//! # }
//! ```

mod answers;
pub mod data;
mod publisher;
mod reporting;
mod routes;
mod storage;
mod token;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, Uri};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::Response;
use chrono::{Days, NaiveDate};

use answers::fault_response;
use answers::{google_error, json_response, storage_error};
use secrecy::SecretString;
use storewatch_core::clock::{Clock, SystemClock};
use tokio::task::JoinHandle;

pub use routes::Endpoint;

/// An app the fake knows.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct FakeApp {
    /// Whether the service account was invited for it (else 403 on the Reporting API).
    pub granted: bool,
    /// Too few users: vitals queries answer `{}`.
    pub small: bool,
    /// A game (only games may read `slowRenderingRateMetricSet`).
    pub game: bool,
    /// First day of its bulk reports (default: 400 days before "today").
    pub since: Option<NaiveDate>,
}

impl Default for FakeApp {
    fn default() -> Self {
        FakeApp {
            granted: true,
            small: false,
            game: false,
            since: None,
        }
    }
}

impl FakeApp {
    /// A granted, ordinary app.
    pub fn new() -> Self {
        Self::default()
    }

    /// Not granted to the service account.
    #[must_use]
    pub fn not_granted(mut self) -> Self {
        self.granted = false;
        self
    }

    /// Below Google's minimum user count for vitals.
    #[must_use]
    pub fn small(mut self) -> Self {
        self.small = true;
        self
    }

    /// A game.
    #[must_use]
    pub fn game(mut self) -> Self {
        self.game = true;
        self
    }

    /// Bulk reports start on this day.
    #[must_use]
    pub fn since(mut self, day: NaiveDate) -> Self {
        self.since = Some(day);
        self
    }
}

/// A failure the fake gives instead of its normal answer.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Fault {
    /// 429 `RESOURCE_EXHAUSTED`, with `Retry-After: <secs>` when given.
    TooManyRequests {
        /// The `Retry-After` seconds, if sent.
        retry_after: Option<u64>,
    },
    /// 500 with a JSON `INTERNAL` status.
    Internal,
    /// 503 with an HTML page, as a load balancer sends.
    UnavailableHtml,
    /// Headers, then the connection drops mid-body.
    ConnectionReset,
    /// The answer comes only after this long.
    Stall(Duration),
}

/// What the token endpoint does instead of issuing a normal token.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum TokenFault {
    /// 400 `invalid_grant` "Invalid JWT Signature." (bad credentials).
    InvalidGrant,
    /// 400 `invalid_scope`.
    InvalidScope,
    /// 200 with a body that is not JSON.
    NonJson,
    /// 200 without `access_token`.
    NoAccessToken,
    /// 200 without `expires_in`.
    NoExpiresIn,
    /// A token living only this many seconds.
    ShortExpiresIn(u64),
}

#[derive(Debug)]
struct IssuedToken {
    scopes: Vec<String>,
    email: String,
    expires_at: Option<std::time::Instant>,
}

#[derive(Debug, Clone)]
struct StoredObject {
    bytes: Vec<u8>,
    generation: u64,
    updated: String,
}

/// A multiplier on one app's installs on one day.
#[derive(Debug, Clone, PartialEq)]
struct Anomaly {
    package: String,
    day: NaiveDate,
    factor: f64,
}

#[derive(Debug)]
struct FakeState {
    seed: u64,
    /// A fixed "today"; `None` follows the system clock in Los Angeles.
    today: Option<NaiveDate>,
    bucket: String,
    accounts: HashMap<String, String>,
    apps: BTreeMap<String, FakeApp>,
    freshness: HashMap<String, NaiveDate>,
    bulk_last_day: Option<NaiveDate>,
    bulk_lag_days: u32,
    unfinished_days: u32,
    anomalies: Vec<Anomaly>,
    objects: BTreeMap<String, StoredObject>,
    token_fault: Option<TokenFault>,
    granted_scopes: Option<Vec<String>>,
    tokens: HashMap<String, IssuedToken>,
    issued: u64,
    faults: HashMap<Endpoint, VecDeque<Fault>>,
    counts: HashMap<Endpoint, u64>,
    service_disabled: bool,
    bucket_forbidden: bool,
    utf8: bool,
    rewrites: u64,
}

/// Today's date in Los Angeles on the system clock.
fn system_today() -> NaiveDate {
    SystemClock
        .now()
        .with_timezone(&chrono_tz::America::Los_Angeles)
        .date_naive()
}

impl FakeState {
    /// "Today" in America/Los_Angeles.
    fn today(&self) -> NaiveDate {
        self.today.unwrap_or_else(system_today)
    }

    /// The installs row served for `package` on `day`, anomalies applied.
    fn installs(&self, package: &str, day: NaiveDate) -> data::Installs {
        let factor: f64 = self
            .anomalies
            .iter()
            .filter(|a| a.package == package && a.day == day)
            .map(|a| a.factor)
            .product();
        data::installs(self.seed, package, day).with_install_factor(factor)
    }

    /// The freshness (exclusive end) of a metric set.
    fn freshness(&self, set: &str) -> NaiveDate {
        let base = self.freshness.get(set).copied().unwrap_or(self.today());
        if set == "errorCountMetricSet" && !self.freshness.contains_key(set) {
            // errorCount is usually a day fresher than the rate sets.
            return base.checked_add_days(Days::new(1)).unwrap_or(base);
        }
        base
    }

    fn bulk_last_day(&self) -> NaiveDate {
        self.bulk_last_day.unwrap_or_else(|| {
            let today = self.today();
            today
                .checked_sub_days(Days::new(u64::from(self.bulk_lag_days)))
                .unwrap_or(today)
        })
    }
}

struct Shared {
    state: Mutex<FakeState>,
    base: String,
    /// Injected latency in microseconds (outside the lock: read on every request).
    latency_us: AtomicU64,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, FakeState> {
        // A test that panicked mid-request leaves valid state behind.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn latency(&self) -> Duration {
        Duration::from_micros(self.latency_us.load(Ordering::Relaxed))
    }

    fn set_latency(&self, latency: Duration) {
        let micros = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        self.latency_us.store(micros, Ordering::Relaxed);
    }
}

/// Builds a [`FakeGooglePlay`].
#[derive(Debug, Clone)]
pub struct FakeGooglePlayBuilder {
    seed: u64,
    today: Option<NaiveDate>,
    bucket: String,
    latency: Duration,
    anomalies: Vec<Anomaly>,
    bulk_lag_days: u32,
    unfinished_days: u32,
}

impl FakeGooglePlayBuilder {
    /// Seeds the generated numbers.
    #[must_use]
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// "Today" in America/Los_Angeles (default: the system's, read on every request so a
    /// long run crosses midnight); freshness and bulk files follow it.
    #[must_use]
    pub fn today(mut self, today: NaiveDate) -> Self {
        self.today = Some(today);
        self
    }

    /// Every request waits this long before it is answered (default zero), as a server
    /// across the world does.
    #[must_use]
    pub fn latency(mut self, latency: Duration) -> Self {
        self.latency = latency;
        self
    }

    /// Multiplies `package`'s installs on `day` by `factor` (e.g. 5.0 for a spike, 0.1 for a
    /// drop): `Daily User Installs` (storewatch's `downloads`), `Daily Device Installs` and
    /// `Install events`. Several anomalies on one day multiply.
    #[must_use]
    pub fn anomaly(mut self, package: &str, day: NaiveDate, factor: f64) -> Self {
        self.anomalies.push(Anomaly {
            package: package.to_owned(),
            day,
            factor,
        });
        self
    }

    /// Days between "today" and the last day the bulk files hold final numbers (default
    /// 2, Play's usual lag; 1 makes yesterday final).
    #[must_use]
    pub fn bulk_lag_days(mut self, days: u32) -> Self {
        self.bulk_lag_days = days;
        self
    }

    /// How many unfinished days after the last final one the installs file shows as rows
    /// of 0 (default 1; never beyond yesterday).
    #[must_use]
    pub fn unfinished_days(mut self, days: u32) -> Self {
        self.unfinished_days = days;
        self
    }

    /// The bucket name (default `pubsite_prod_rev_01234567890987654321`).
    #[must_use]
    pub fn bucket(mut self, bucket: impl Into<String>) -> Self {
        self.bucket = bucket.into();
        self
    }

    /// Binds 127.0.0.1 on a free port and serves.
    pub async fn start(self) -> FakeGooglePlay {
        let listener = match tokio::net::TcpListener::bind("127.0.0.1:0").await {
            Ok(l) => l,
            Err(e) => panic_bind(&e),
        };
        let addr = match listener.local_addr() {
            Ok(a) => a,
            Err(e) => panic_bind(&e),
        };
        let shared = Arc::new(Shared {
            base: format!("http://{addr}"),
            latency_us: AtomicU64::new(0),
            state: Mutex::new(FakeState {
                seed: self.seed,
                today: self.today,
                bucket: self.bucket,
                accounts: HashMap::new(),
                apps: BTreeMap::new(),
                freshness: HashMap::new(),
                bulk_last_day: None,
                bulk_lag_days: self.bulk_lag_days,
                unfinished_days: self.unfinished_days,
                anomalies: self.anomalies,
                objects: BTreeMap::new(),
                token_fault: None,
                granted_scopes: None,
                tokens: HashMap::new(),
                issued: 0,
                faults: HashMap::new(),
                counts: HashMap::new(),
                service_disabled: false,
                bucket_forbidden: false,
                utf8: false,
                rewrites: 0,
            }),
        });
        shared.set_latency(self.latency);
        let app = Router::new()
            .fallback(handle)
            .layer(from_fn_with_state(shared.clone(), delay))
            .with_state(shared.clone());
        let task = tokio::spawn(async move {
            // The server ends when the fake is dropped (the task is aborted).
            let _ = axum::serve(listener, app).await;
        });
        FakeGooglePlay { addr, shared, task }
    }
}

#[allow(clippy::panic)] // a test fixture that cannot bind loopback cannot do anything useful
fn panic_bind(e: &std::io::Error) -> ! {
    panic!("FakeGooglePlay cannot bind 127.0.0.1: {e}")
}

/// The fake Google Play server; stops when dropped.
pub struct FakeGooglePlay {
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl std::fmt::Debug for FakeGooglePlay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeGooglePlay")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl Drop for FakeGooglePlay {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeGooglePlay {
    /// A builder (seed, today, bucket, latency, anomalies, bulk-report lag).
    pub fn builder() -> FakeGooglePlayBuilder {
        FakeGooglePlayBuilder {
            seed: 7,
            today: None,
            bucket: "pubsite_prod_rev_01234567890987654321".to_owned(),
            latency: Duration::ZERO,
            anomalies: Vec::new(),
            bulk_lag_days: 2,
            unfinished_days: 1,
        }
    }

    /// Starts a fake with the defaults.
    pub async fn start() -> FakeGooglePlay {
        Self::builder().start().await
    }

    /// `http://127.0.0.1:<port>`: the base URL of every surface.
    pub fn base_url(&self) -> String {
        self.shared.base.clone()
    }

    /// The token endpoint, to put in a key's `token_uri`.
    pub fn token_uri(&self) -> String {
        format!("{}/token", self.shared.base)
    }

    /// The bucket it serves.
    pub fn bucket(&self) -> String {
        self.shared.lock().bucket.clone()
    }

    /// The seed of its numbers (see [`data`]).
    pub fn seed(&self) -> u64 {
        self.shared.lock().seed
    }

    /// "Today" (America/Los_Angeles).
    pub fn today(&self) -> NaiveDate {
        self.shared.lock().today()
    }

    /// Moves "today" (and stops following the system clock).
    pub fn set_today(&self, today: NaiveDate) {
        self.shared.lock().today = Some(today);
    }

    /// Makes every request wait `latency` before it is answered (zero turns it off).
    pub fn set_latency(&self, latency: Duration) {
        self.shared.set_latency(latency);
    }

    /// The injected latency.
    pub fn latency(&self) -> Duration {
        self.shared.latency()
    }

    /// Adds an anomaly (see [`FakeGooglePlayBuilder::anomaly`]).
    pub fn add_anomaly(&self, package: &str, day: NaiveDate, factor: f64) {
        self.shared.lock().anomalies.push(Anomaly {
            package: package.to_owned(),
            day,
            factor,
        });
    }

    /// The installs row the bulk file serves for `package` on a final day: the generated
    /// numbers ([`data::installs`]) with the anomalies applied.
    pub fn installs(&self, package: &str, day: NaiveDate) -> data::Installs {
        self.shared.lock().installs(package, day)
    }

    /// Accepts JWTs from `client_email` signed by the key of `public_key_pem`.
    pub fn add_service_account(&self, client_email: &str, public_key_pem: &str) {
        self.shared
            .lock()
            .accounts
            .insert(client_email.to_owned(), public_key_pem.to_owned());
    }

    /// A service-account key JSON for `client_email`, signed with `private_key_pem`, whose
    /// `token_uri` is this fake.
    pub fn service_account_json(&self, client_email: &str, private_key_pem: &str) -> String {
        serde_json::json!({
            "type": "service_account",
            "project_id": "storewatch-test",
            "private_key_id": "0123abcd",
            "private_key": private_key_pem,
            "client_email": client_email,
            "client_id": "1234567890",
            "token_uri": self.token_uri(),
        })
        .to_string()
    }

    /// A full `google_play` credential config pointing every base URL at this fake;
    /// `http` is merged into the HTTP options (e.g. `{"backoff_base_ms": 1}`).
    pub fn config_json(
        &self,
        client_email: &str,
        private_key_pem: &str,
        http: serde_json::Value,
    ) -> SecretString {
        SecretString::from(
            serde_json::json!({
                "service_account_json": self.service_account_json(client_email, private_key_pem),
                "bucket": self.bucket(),
                "reporting_base_url": self.base_url(),
                "storage_base_url": self.base_url(),
                "http": http,
            })
            .to_string(),
        )
    }

    /// Adds a granted, ordinary app.
    pub fn add_app(&self, package: &str) {
        self.add_app_with(package, FakeApp::default());
    }

    /// Adds an app with its traits.
    pub fn add_app_with(&self, package: &str, app: FakeApp) {
        self.shared.lock().apps.insert(package.to_owned(), app);
    }

    /// Sets a metric set's DAILY freshness: `latest_end` is the exclusive end (the first
    /// day not published).
    pub fn set_freshness(&self, metric_set: &str, latest_end: NaiveDate) {
        self.shared
            .lock()
            .freshness
            .insert(metric_set.to_owned(), latest_end);
    }

    /// The last day the bulk files hold final numbers (default: today − the bulk lag);
    /// months after it have no file yet.
    pub fn set_bulk_last_day(&self, day: NaiveDate) {
        self.shared.lock().bulk_last_day = Some(day);
    }

    /// Days between "today" and the last final day of the bulk files, when no
    /// [`set_bulk_last_day`](Self::set_bulk_last_day) fixes it (default 2).
    pub fn set_bulk_lag_days(&self, days: u32) {
        self.shared.lock().bulk_lag_days = days;
    }

    /// How many unfinished days after the last final one the files show as 0 rows (default 1).
    pub fn set_unfinished_days(&self, days: u32) {
        self.shared.lock().unfinished_days = days;
    }

    /// Stores (or rewrites, as a late correction does) an object; its generation,
    /// `md5Hash` and `updated` change.
    pub fn put_object(&self, name: &str, bytes: Vec<u8>) {
        let mut state = self.shared.lock();
        state.rewrites += 1;
        let rewrites = state.rewrites;
        let generation = storage::base_generation(name) + rewrites;
        let updated = storage::updated_at(state.today(), rewrites);
        state.objects.insert(
            name.to_owned(),
            StoredObject {
                bytes,
                generation,
                updated,
            },
        );
    }

    /// Makes the next `times` requests to `endpoint` fail with `fault`.
    pub fn fail_next(&self, endpoint: Endpoint, fault: Fault, times: usize) {
        let mut state = self.shared.lock();
        let queue = state.faults.entry(endpoint).or_default();
        queue.extend(std::iter::repeat_n(fault, times));
    }

    /// Makes every token request answer with `fault` (None: normal tokens again).
    pub fn set_token_fault(&self, fault: Option<TokenFault>) {
        self.shared.lock().token_fault = fault;
    }

    /// Issues tokens bound to these scopes whatever is asked (None: what is asked).
    pub fn set_granted_scopes(&self, scopes: Option<Vec<String>>) {
        self.shared.lock().granted_scopes = scopes;
    }

    /// Forgets every issued token, as a revoked key does: bearers get 401.
    pub fn revoke_tokens(&self) {
        self.shared.lock().tokens.clear();
    }

    /// The Reporting API answers 403 `SERVICE_DISABLED`.
    pub fn set_service_disabled(&self, disabled: bool) {
        self.shared.lock().service_disabled = disabled;
    }

    /// Cloud Storage answers 403 `forbidden` (the Play grant has not propagated).
    pub fn set_bucket_forbidden(&self, forbidden: bool) {
        self.shared.lock().bucket_forbidden = forbidden;
    }

    /// Serves generated reports as UTF-8 instead of UTF-16LE.
    pub fn set_utf8_reports(&self, utf8: bool) {
        self.shared.lock().utf8 = utf8;
    }

    /// Requests received by `endpoint` (faulted ones included).
    pub fn requests(&self, endpoint: Endpoint) -> u64 {
        self.shared
            .lock()
            .counts
            .get(&endpoint)
            .copied()
            .unwrap_or(0)
    }

    /// Requests received per endpoint.
    pub fn request_counts(&self) -> BTreeMap<Endpoint, u64> {
        self.shared
            .lock()
            .counts
            .iter()
            .map(|(k, v)| (*k, *v))
            .collect()
    }

    /// Forgets the request counts.
    pub fn reset_counts(&self) {
        self.shared.lock().counts.clear();
    }

    /// The generated bulk-report object of `package` (e.g. to assert its metadata).
    pub fn object_name(family: &str, package: &str, yyyymm: &str) -> String {
        format!("stats/{family}/{family}_{package}_{yyyymm}_overview.csv")
    }
}

/// Holds every request for the injected latency before it is routed.
async fn delay(State(shared): State<Arc<Shared>>, request: Request, next: Next) -> Response {
    let latency = shared.latency();
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    next.run(request).await
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let route = routes::route(&method, &uri);
    let fault = {
        let mut state = shared.lock();
        if let Some(endpoint) = route.endpoint() {
            *state.counts.entry(endpoint).or_default() += 1;
            state
                .faults
                .get_mut(&endpoint)
                .and_then(VecDeque::pop_front)
        } else {
            None
        }
    };
    if let Some(fault) = fault {
        match fault {
            Fault::Stall(d) => tokio::time::sleep(d).await,
            other => return fault_response(&other),
        }
    }
    routes::dispatch(&shared, route, &uri, &headers, &body)
}
