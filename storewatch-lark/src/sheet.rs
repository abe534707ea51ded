//! [`LarkSheetNotifier`] (`lark_sheet`): one row per app × metric of the daily report
//! appended to a spreadsheet tab, with a cached tenant access token.
//!
//! Columns, in this stable order: `date, platform, bundle_id, app, metric, value,
//! dod_pct, wow_pct, yoy_pct, note` (a missing number is an empty cell). An alert sent to
//! a sheet channel becomes one row whose `note` describes it. Rows are appended with
//! `INSERT_ROWS` (never `OVERWRITE`), at most 5,000 per request, and writes to one
//! spreadsheet are serial within the process. A retried execution does not append a
//! day twice: the pipeline records the delivery and skips it once sent.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use storewatch_core::alert::AlertEventKind;
use storewatch_core::clock::{Clock, SystemClock};
use storewatch_core::notify::{AlertNotification, DailyReport, Delivery, Notifier};
use storewatch_core::{Error, ErrorKind, Result};

use crate::config::LarkSheetConfig;

/// The column headers, in order.
pub const SHEET_COLUMNS: [&str; 10] = [
    "date",
    "platform",
    "bundle_id",
    "app",
    "metric",
    "value",
    "dod_pct",
    "wow_pct",
    "yoy_pct",
    "note",
];

/// Lark's limit of rows per write.
pub const MAX_ROWS_PER_APPEND: usize = 5000;

/// A token is renewed when less than this remains (Lark then issues a new one).
const RENEW_BEFORE: Duration = Duration::from_secs(30 * 60);

/// Appends rows to one Lark spreadsheet tab.
#[derive(Debug)]
pub struct LarkSheetNotifier {
    config: LarkSheetConfig,
    http: reqwest::Client,
    clock: Arc<dyn Clock>,
    token: tokio::sync::Mutex<Option<(secrecy::SecretString, DateTime<Utc>)>>,
}

impl LarkSheetNotifier {
    /// A notifier for a validated config.
    pub fn new(config: LarkSheetConfig) -> Result<Self> {
        config.validate()?;
        let http = crate::http::client(Duration::from_secs(config.timeout_secs))?;
        Ok(LarkSheetNotifier {
            config,
            http,
            clock: Arc::new(SystemClock),
            token: tokio::sync::Mutex::new(None),
        })
    }

    /// Uses `clock` for token expiry.
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.config.base_url.trim_end_matches('/'))
    }

    /// The cached tenant token, renewed when less than 30 minutes remain (or `force`).
    async fn token(&self, force: bool) -> Result<String> {
        let mut cached = self.token.lock().await;
        let now = self.clock.now();
        if let Some((token, expires)) = cached.as_ref()
            && !force
            && *expires - now > chrono::Duration::from_std(RENEW_BEFORE).unwrap_or_default()
        {
            return Ok(token.expose_secret().to_owned());
        }
        let body = json!({"app_id": self.config.app_id, "app_secret": self.config.app_secret.expose_secret()});
        let answer = crate::http::send(
            self.http
                .post(self.url("/open-apis/auth/v3/tenant_access_token/internal"))
                .json(&body),
        )
        .await
        .map_err(|e| e.context("tenant access token"))?;
        let token = answer["tenant_access_token"]
            .as_str()
            .filter(|t| t.starts_with("t-"))
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::Unavailable,
                    "the token answer has no tenant_access_token",
                )
            })?;
        let expire = answer["expire"].as_i64().unwrap_or(7200);
        *cached = Some((
            token.to_owned().into(),
            now + chrono::Duration::seconds(expire),
        ));
        Ok(token.to_owned())
    }

    async fn append_chunk(&self, rows: &[Vec<Value>]) -> Result<()> {
        let range = format!("{}!A1:J{}", self.config.sheet_id, rows.len());
        let body = json!({"valueRange": {"range": range, "values": rows}});
        let url = self.url(&format!(
            "/open-apis/sheets/v2/spreadsheets/{}/values_append?insertDataOption=INSERT_ROWS",
            self.config.spreadsheet_token
        ));
        let mut refreshed = false;
        loop {
            let token = self.token(refreshed).await?;
            let sent = crate::http::send(self.http.post(&url).bearer_auth(token).json(&body)).await;
            match sent {
                // An expired or revoked token is renewed once.
                Err(e) if e.kind() == ErrorKind::Unauthenticated && !refreshed => refreshed = true,
                Err(e) => return Err(e.context(format!("appending {} rows", rows.len()))),
                Ok(answer) => {
                    let range = answer["data"]["updates"]["updatedRange"]
                        .as_str()
                        .unwrap_or_default();
                    tracing::debug!(
                        updated_range = range,
                        rows = rows.len(),
                        "sheet rows appended"
                    );
                    return Ok(());
                }
            }
        }
    }

    async fn append(&self, rows: Vec<Vec<Value>>) -> Result<Delivery> {
        let lock = spreadsheet_lock(&self.config.spreadsheet_token);
        let _serial = lock.lock().await;
        for chunk in rows.chunks(MAX_ROWS_PER_APPEND) {
            self.append_chunk(chunk).await?;
        }
        Ok(Delivery::default())
    }
}

/// One lock per spreadsheet: Lark requires writes to a document to be serial.
fn spreadsheet_lock(token: &str) -> Arc<tokio::sync::Mutex<()>> {
    static LOCKS: OnceLock<Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>> = OnceLock::new();
    let mut map = LOCKS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    map.entry(token.to_owned()).or_default().clone()
}

fn num(v: Option<f64>) -> Value {
    v.map_or_else(|| json!(""), |v| json!(v))
}

/// The report's rows, one per app × metric, in report order.
pub fn report_rows(report: &DailyReport) -> Vec<Vec<Value>> {
    let mut rows = Vec::new();
    for app in &report.apps {
        for line in &app.metrics {
            rows.push(vec![
                json!(report.day.to_string()),
                json!(app.platform.as_str()),
                json!(app.bundle_id.as_str()),
                json!(app.app_name),
                json!(line.metric.as_str()),
                num(line.value),
                num(line.dod_pct),
                num(line.wow_pct),
                num(line.yoy_pct),
                json!(""),
            ]);
        }
    }
    rows
}

/// The alert's row.
pub fn alert_row(alert: &AlertNotification) -> Vec<Value> {
    let state = match alert.kind {
        AlertEventKind::Firing => format!("ALERT {}", alert.severity),
        AlertEventKind::Resolved => "RESOLVED".to_owned(),
    };
    let mentions: Vec<String> = alert.mentions.iter().map(|m| format!("@{m}")).collect();
    let note = format!(
        "{state}: {} — {} {}{}",
        alert.rule_name,
        alert.metric,
        alert.rule_text,
        if mentions.is_empty() {
            String::new()
        } else {
            format!(" {}", mentions.join(" "))
        }
    );
    vec![
        json!(alert.day.to_string()),
        json!(alert.platform.as_str()),
        json!(alert.bundle_id.as_str()),
        json!(alert.app_name),
        json!(alert.metric.as_str()),
        json!(alert.value),
        json!(""),
        json!(""),
        json!(""),
        json!(note),
    ]
}

#[async_trait]
impl Notifier for LarkSheetNotifier {
    async fn send_report(&self, report: &DailyReport) -> Result<Delivery> {
        let rows = report_rows(report);
        if rows.is_empty() {
            return Ok(Delivery::default());
        }
        self.append(rows).await
    }

    async fn send_alert(&self, alert: &AlertNotification) -> Result<Delivery> {
        self.append(vec![alert_row(alert)]).await
    }
}
