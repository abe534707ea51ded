//! [`FakeLark`] (feature `fake`): a local server that behaves like Lark's custom-bot
//! webhook, tenant token and Sheets `values_append` endpoints — the checklist of
//! `shared/providers/lark.md` §5 — with a knob for each failure and a record of every
//! accepted message. [`FakeLark::set_latency`] makes every request wait, as a distant
//! server does, for demos and benchmarks that run real notifiers in real time.

mod sheets;
mod webhook;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State as Extract};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::Response;
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use serde_json::Value;
use storewatch_core::clock::{Clock, SystemClock};
use storewatch_core::{Error, ErrorKind, Result};
use tokio::task::JoinHandle;

/// How the fake answers a sender over Lark's rate limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RateLimitMode {
    /// HTTP 200 with code 11232 (frequency limited).
    #[default]
    Code11232,
    /// HTTP 400 with `{"code":9499,"msg":"too many request"}`.
    Http400TooMany,
}

/// A failure injected into the next webhook or Sheets request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// HTTP 500 with a non-JSON body.
    ServerError,
    /// HTTP 200 with a body that is not JSON.
    NonJson200,
    /// Waits this long before answering normally.
    Stall(Duration),
    /// Drops the connection in the middle of the response, before the request is
    /// processed (nothing is recorded).
    ConnectionReset,
}

/// One custom bot.
#[derive(Debug, Clone, Default)]
pub struct WebhookOptions {
    /// Signing secret; when set, `timestamp` and `sign` are required.
    pub secret: Option<String>,
    /// Keywords, one of which every message must contain in a text-like value.
    pub keywords: Vec<String>,
    /// Accept an integer `timestamp` (Lark's documented form is a string).
    pub accept_integer_timestamp: bool,
    /// Refuse every message as from an IP outside the allow-list (19022).
    pub ip_denied: bool,
}

/// A message the webhook accepted.
#[derive(Debug, Clone, PartialEq)]
pub struct ReceivedMessage {
    /// The bot's token.
    pub token: String,
    /// The body, parsed.
    pub body: Value,
}

impl ReceivedMessage {
    /// `msg_type` of the message.
    pub fn msg_type(&self) -> &str {
        self.body["msg_type"].as_str().unwrap_or_default()
    }

    /// The card header colour, for interactive messages.
    pub fn template(&self) -> Option<&str> {
        self.body["card"]["header"]["template"].as_str()
    }

    /// Every text-like value of the message, in order (what a person reads).
    pub fn text(&self) -> String {
        let mut out = Vec::new();
        webhook::text_values(&self.body, &mut out);
        out.join("\n")
    }
}

#[derive(Debug, Default)]
pub(crate) struct Spreadsheet {
    pub(crate) tabs: BTreeMap<String, (String, Vec<Vec<Value>>)>,
    pub(crate) revision: i64,
    pub(crate) app_added: bool,
    pub(crate) in_flight: usize,
}

#[derive(Debug)]
pub(crate) struct State {
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) webhooks: HashMap<String, WebhookOptions>,
    pub(crate) max_body_bytes: usize,
    pub(crate) rate_mode: RateLimitMode,
    pub(crate) peak_throttle: Option<Duration>,
    pub(crate) sends: HashMap<String, VecDeque<tokio::time::Instant>>,
    pub(crate) refused_by_limiter: usize,
    pub(crate) faults: VecDeque<Fault>,
    pub(crate) legacy_success: bool,
    pub(crate) received: Vec<ReceivedMessage>,
    pub(crate) apps: HashMap<String, String>,
    pub(crate) tokens: Vec<(String, String, DateTime<Utc>)>,
    pub(crate) spreadsheets: HashMap<String, Spreadsheet>,
    pub(crate) sheet_throttle: Option<bool>,
    pub(crate) concurrent_writes_seen: bool,
    pub(crate) counts: BTreeMap<&'static str, usize>,
    pub(crate) latency: Duration,
}

pub(crate) type Shared = Arc<Mutex<State>>;

pub(crate) fn lock(state: &Shared) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|p| p.into_inner())
}

/// The fake Lark server on 127.0.0.1; stops when dropped.
#[derive(Debug)]
pub struct FakeLark {
    addr: SocketAddr,
    state: Shared,
    server: JoinHandle<()>,
}

impl Drop for FakeLark {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl FakeLark {
    /// Starts the fake on an ephemeral port with the system clock.
    pub async fn start() -> Result<FakeLark> {
        FakeLark::start_with_clock(Arc::new(SystemClock)).await
    }

    /// Starts the fake with `clock` driving signatures' skew and token expiry.
    pub async fn start_with_clock(clock: Arc<dyn Clock>) -> Result<FakeLark> {
        let state: Shared = Arc::new(Mutex::new(State {
            clock,
            webhooks: HashMap::new(),
            max_body_bytes: crate::DEFAULT_MAX_BODY_BYTES,
            rate_mode: RateLimitMode::default(),
            peak_throttle: None,
            sends: HashMap::new(),
            refused_by_limiter: 0,
            faults: VecDeque::new(),
            legacy_success: false,
            received: Vec::new(),
            apps: HashMap::new(),
            tokens: Vec::new(),
            spreadsheets: HashMap::new(),
            sheet_throttle: None,
            concurrent_writes_seen: false,
            counts: BTreeMap::new(),
            latency: Duration::ZERO,
        }));
        let app = Router::new()
            .route("/open-apis/bot/v2/hook/{token}", post(webhook::hook))
            .route(
                "/open-apis/auth/v3/tenant_access_token/internal",
                post(sheets::tenant_token),
            )
            .route(
                "/open-apis/sheets/v3/spreadsheets/{token}/sheets/query",
                get(sheets::query),
            )
            .route(
                "/open-apis/sheets/v2/spreadsheets/{token}/values_append",
                post(sheets::values_append),
            )
            .layer(from_fn_with_state(state.clone(), delay))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| {
                Error::new(ErrorKind::Unavailable, "cannot bind the fake Lark server")
                    .with_source(e)
            })?;
        let addr = listener.local_addr().map_err(|e| {
            Error::new(ErrorKind::Unavailable, "fake Lark has no address").with_source(e)
        })?;
        let server = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!(error = %e, "fake Lark server stopped");
            }
        });
        Ok(FakeLark {
            addr,
            state,
            server,
        })
    }

    /// `http://127.0.0.1:<port>`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Adds a bot; returns the `webhook_url` and `base_url` config for it.
    pub fn add_webhook(&self, token: &str, options: WebhookOptions) -> serde_json::Value {
        let secret = options.secret.clone();
        lock(&self.state).webhooks.insert(token.to_owned(), options);
        let mut cfg = serde_json::json!({
            "webhook_url": format!("https://open.feishu.cn/open-apis/bot/v2/hook/{token}"),
            "base_url": self.base_url(),
        });
        if let Some(s) = secret {
            cfg["secret"] = Value::String(s);
        }
        cfg
    }

    /// Adds an app and a spreadsheet with one tab it may write; returns the
    /// `lark_sheet` config for them.
    pub fn add_spreadsheet(
        &self,
        app_id: &str,
        app_secret: &str,
        spreadsheet: &str,
        sheet_id: &str,
    ) -> serde_json::Value {
        let mut st = lock(&self.state);
        st.apps.insert(app_id.to_owned(), app_secret.to_owned());
        let sheet = st.spreadsheets.entry(spreadsheet.to_owned()).or_default();
        sheet.app_added = true;
        sheet
            .tabs
            .insert(sheet_id.to_owned(), ("Daily".to_owned(), Vec::new()));
        serde_json::json!({
            "app_id": app_id, "app_secret": app_secret,
            "spreadsheet_token": spreadsheet, "sheet_id": sheet_id,
            "base_url": self.base_url(),
        })
    }

    /// Removes the app's access to a spreadsheet (91403).
    pub fn revoke_spreadsheet_access(&self, spreadsheet: &str) {
        if let Some(s) = lock(&self.state).spreadsheets.get_mut(spreadsheet) {
            s.app_added = false;
        }
    }

    /// Makes every request (webhooks, tenant token, Sheets) wait `latency` before it is
    /// answered (default zero; zero turns it off).
    pub fn set_latency(&self, latency: Duration) {
        lock(&self.state).latency = latency;
    }

    /// The injected latency.
    pub fn latency(&self) -> Duration {
        lock(&self.state).latency
    }

    /// Sets the body limit (default 20 KiB; Lark really cuts at about 150 KiB).
    pub fn set_max_body_bytes(&self, n: usize) {
        lock(&self.state).max_body_bytes = n;
    }

    /// Chooses how rate-limited sends are refused.
    pub fn set_rate_limit_mode(&self, mode: RateLimitMode) {
        lock(&self.state).rate_mode = mode;
    }

    /// Refuses every message sent within `window` after the hour or the half hour (by
    /// the fake's clock), as Lark does under its peak load; `None` turns it off.
    pub fn set_peak_throttle(&self, window: Option<Duration>) {
        lock(&self.state).peak_throttle = window;
    }

    /// Answers success in the legacy `{"Extra":null,"StatusCode":0,…}` form.
    pub fn set_legacy_success(&self, on: bool) {
        lock(&self.state).legacy_success = on;
    }

    /// Queues failures for the next requests, in order.
    pub fn inject(&self, faults: impl IntoIterator<Item = Fault>) {
        lock(&self.state).faults.extend(faults);
    }

    /// Makes `values_append` answer HTTP 429 (with or without the `x-ogw-*` headers)
    /// until turned off.
    pub fn set_sheet_throttle(&self, throttle: Option<bool>) {
        lock(&self.state).sheet_throttle = throttle;
    }

    /// Forgets every issued tenant token (as if they expired), so the next call gets 99991663.
    pub fn expire_tokens(&self) {
        lock(&self.state).tokens.clear();
    }

    /// Every message the webhooks accepted, in order.
    pub fn received(&self) -> Vec<ReceivedMessage> {
        lock(&self.state).received.clone()
    }

    /// The rows of a spreadsheet tab.
    pub fn rows(&self, spreadsheet: &str, sheet_id: &str) -> Vec<Vec<Value>> {
        lock(&self.state)
            .spreadsheets
            .get(spreadsheet)
            .and_then(|s| s.tabs.get(sheet_id))
            .map(|t| t.1.clone())
            .unwrap_or_default()
    }

    /// How many sends the rate limiter (or the peak throttle) refused.
    pub fn refused_by_limiter(&self) -> usize {
        lock(&self.state).refused_by_limiter
    }

    /// Whether two writes to one spreadsheet ever overlapped.
    pub fn concurrent_writes_seen(&self) -> bool {
        lock(&self.state).concurrent_writes_seen
    }

    /// Requests per endpoint (`webhook`, `token`, `sheets_query`, `values_append`).
    pub fn request_counts(&self) -> BTreeMap<&'static str, usize> {
        lock(&self.state).counts.clone()
    }

    /// Everything received, rendered for people: each message's type, colour and
    /// text, and each spreadsheet's rows.
    pub fn transcript(&self) -> String {
        let st = lock(&self.state);
        let mut out = String::new();
        for (i, m) in st.received.iter().enumerate() {
            let colour = m.template().map(|t| format!(" [{t}]")).unwrap_or_default();
            let _ = writeln!(out, "--- message {} ({}{colour}) ---", i + 1, m.msg_type());
            let _ = writeln!(out, "{}", m.text());
        }
        let mut sheets: Vec<_> = st.spreadsheets.iter().collect();
        sheets.sort_by(|a, b| a.0.cmp(b.0));
        for (token, sheet) in sheets {
            for (id, (title, rows)) in &sheet.tabs {
                if rows.is_empty() {
                    continue;
                }
                let _ = writeln!(
                    out,
                    "--- sheet {token} tab {id} ({title}): {} rows ---",
                    rows.len()
                );
                for row in rows {
                    let cells: Vec<String> = row
                        .iter()
                        .map(|c| match c {
                            Value::String(s) => s.clone(),
                            other => other.to_string(),
                        })
                        .collect();
                    let _ = writeln!(out, "{}", cells.join("\t"));
                }
            }
        }
        out
    }
}

/// Holds every request for the injected latency before any handler sees it.
async fn delay(Extract(state): Extract<Shared>, request: Request, next: Next) -> Response {
    let latency = lock(&state).latency;
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    next.run(request).await
}
