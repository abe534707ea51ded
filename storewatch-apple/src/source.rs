//! [`AppStoreConnectSource`]: the [`MetricSource`] of one App Store Connect Team key and
//! vendor number.
//!
//! A collection makes the fewest requests it can: one `GET /v1/apps` (bundle ids as a comma
//! list, then cached) for apps it has not resolved yet, one sales report per day for all
//! apps of the vendor, and the analytics flow per app only when an analytics metric is asked.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use futures::future::join_all;
use secrecy::SecretString;
use serde::Deserialize;
use storewatch_core::clock::{Clock, SystemClock};
use storewatch_core::model::{AppId, Metric, MetricPoint, Platform};
use storewatch_core::source::{
    AppDayOutcome, AppTarget, CollectBatch, CollectRequest, DayOutcome, MetricSource,
};
use storewatch_core::{Error, ErrorKind, Registry, Result};

use crate::analytics::{self, AnalyticsIds, Row};
use crate::client::{ACCEPT_GZIP, CallError, Client};
use crate::config::AppStoreConnectConfig;
use crate::error::ApiError;
use crate::sales::{SalesSummary, parse_sales_report};

/// The credential kind this source serves.
pub const KIND: &str = "app_store_connect";

/// Registers the `app_store_connect` credential kind, built from its opened JSON config.
pub fn register(registry: &mut Registry) {
    registry.register_source(KIND, |config: &SecretString| {
        let config = AppStoreConnectConfig::from_json(config)?;
        Ok(Arc::new(AppStoreConnectSource::new(config)?) as Arc<dyn MetricSource>)
    });
}

static METRICS: [Metric; 8] = [
    Metric::DOWNLOADS,
    Metric::REDOWNLOADS,
    Metric::UPDATES,
    Metric::IAP_UNITS,
    Metric::PROCEEDS,
    Metric::SESSIONS,
    Metric::ACTIVE_DEVICES,
    Metric::CRASHES,
];

const SALES_METRICS: [Metric; 5] = [
    Metric::DOWNLOADS,
    Metric::REDOWNLOADS,
    Metric::UPDATES,
    Metric::IAP_UNITS,
    Metric::PROCEEDS,
];

const ANALYTICS_METRICS: [Metric; 3] = [Metric::SESSIONS, Metric::ACTIVE_DEVICES, Metric::CRASHES];

/// How long to wait before asking again for data not published yet (Apple suggests hourly).
const RETRY_LATER: Duration = Duration::hours(1);

/// An app as `GET /v1/apps` describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct AppInfo {
    apple_id: String,
    sku: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AppAttributes {
    bundle_id: String,
    #[serde(default)]
    sku: Option<String>,
}

/// The result of one day's sales report.
#[derive(Debug)]
enum SalesDay {
    Report(SalesSummary),
    NoSales,
    NotYet,
    Failed(Error),
}

/// The App Store Connect [`MetricSource`].
#[derive(Debug)]
pub struct AppStoreConnectSource {
    client: Client,
    vendor_number: String,
    create_analytics_requests: bool,
    clock: Arc<dyn Clock>,
    /// The sales report version to send; changes when Apple names another one.
    report_version: Mutex<String>,
    apps: Mutex<HashMap<String, AppInfo>>,
    analytics: tokio::sync::Mutex<HashMap<String, AnalyticsIds>>,
}

impl AppStoreConnectSource {
    /// A source with the system clock.
    pub fn new(config: AppStoreConnectConfig) -> Result<Self> {
        Self::with_clock(config, Arc::new(SystemClock))
    }

    /// A source reading time from `clock` (tokens, retry times).
    pub fn with_clock(config: AppStoreConnectConfig, clock: Arc<dyn Clock>) -> Result<Self> {
        config.validate()?;
        let client = Client::new(&config, clock.clone())?;
        Ok(Self::from_parts(config, client, clock))
    }

    /// A source using a caller-built HTTP client (shared connection pools, custom TLS).
    pub fn with_http_client(
        config: AppStoreConnectConfig,
        http: reqwest::Client,
        clock: Arc<dyn Clock>,
    ) -> Result<Self> {
        config.validate()?;
        let client = Client::with_http(&config, http, clock.clone())?;
        Ok(Self::from_parts(config, client, clock))
    }

    fn from_parts(config: AppStoreConnectConfig, client: Client, clock: Arc<dyn Clock>) -> Self {
        AppStoreConnectSource {
            client,
            vendor_number: config.vendor_number,
            create_analytics_requests: config.create_analytics_requests,
            clock,
            report_version: Mutex::new(config.sales_report_version),
            apps: Mutex::new(HashMap::new()),
            analytics: tokio::sync::Mutex::new(HashMap::new()),
        }
    }

    /// The sales report version currently sent (after any correction Apple asked for).
    pub fn report_version(&self) -> String {
        lock(&self.report_version).clone()
    }

    /// Resolves bundle ids to Apple ids and SKUs with one `GET /v1/apps` for the unknown
    /// ones, comparing bundle ids exactly (Apple's filter also returns near matches).
    async fn resolve(&self, targets: &[AppTarget]) -> Result<HashMap<String, AppInfo>> {
        let missing: Vec<&str> = {
            let cache = lock(&self.apps);
            let mut missing: Vec<&str> = targets
                .iter()
                .map(|t| t.bundle_id.as_str())
                .filter(|b| !cache.contains_key(*b))
                .collect();
            missing.sort_unstable();
            missing.dedup();
            missing
        };
        // Long URLs are refused by proxies: ask in chunks.
        for chunk in missing.chunks(50) {
            let list = chunk.join(",");
            let url = self.client.url(
                "/v1/apps",
                &[
                    ("filter[bundleId]", list.as_str()),
                    ("fields[apps]", "name,bundleId,sku,primaryLocale"),
                    ("limit", "200"),
                ],
            )?;
            let found: Vec<analytics::Resource<AppAttributes>> =
                analytics::get_all(&self.client, url)
                    .await
                    .map_err(Error::from)?;
            let mut cache = lock(&self.apps);
            for app in found {
                if chunk.contains(&app.attributes.bundle_id.as_str()) {
                    cache.insert(
                        app.attributes.bundle_id,
                        AppInfo {
                            apple_id: app.id,
                            sku: app.attributes.sku.filter(|s| !s.is_empty()),
                        },
                    );
                }
            }
        }
        Ok(lock(&self.apps).clone())
    }

    /// Fetches and parses one day's SALES SUMMARY report for the vendor.
    async fn sales_day(&self, date: NaiveDate) -> SalesDay {
        let mut corrected = false;
        loop {
            let version = self.report_version();
            let day = date.format("%Y-%m-%d").to_string();
            let url = match self.client.url(
                "/v1/salesReports",
                &[
                    ("filter[frequency]", "DAILY"),
                    ("filter[reportType]", "SALES"),
                    ("filter[reportSubType]", "SUMMARY"),
                    ("filter[vendorNumber]", self.vendor_number.as_str()),
                    ("filter[reportDate]", day.as_str()),
                    ("filter[version]", version.as_str()),
                ],
            ) {
                Ok(url) => url,
                Err(e) => return SalesDay::Failed(e),
            };
            match self.client.get(&url, ACCEPT_GZIP).await {
                Ok(body) => {
                    return match parse_sales_report(&body, date) {
                        Ok(summary) => SalesDay::Report(summary),
                        Err(e) => SalesDay::Failed(e),
                    };
                }
                Err(CallError::Api(ApiError::NoSales)) => return SalesDay::NoSales,
                Err(CallError::Api(ApiError::NotYetAvailable { .. })) => return SalesDay::NotYet,
                Err(CallError::Api(ApiError::WrongVersion {
                    latest: Some(latest),
                })) if !corrected && latest != version => {
                    tracing::warn!(
                        sent = version,
                        latest,
                        "App Store Connect asks for another sales report version; retrying once with it"
                    );
                    *lock(&self.report_version) = latest;
                    corrected = true;
                }
                Err(e) => {
                    return SalesDay::Failed(
                        Error::from(e).context(format!("sales report for {date}")),
                    );
                }
            }
        }
    }

    /// Runs the analytics flow of one app for the collection's days.
    async fn app_analytics(
        &self,
        apple_id: &str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Option<analytics::AppAnalytics>> {
        let mut ids = self
            .analytics
            .lock()
            .await
            .get(apple_id)
            .cloned()
            .unwrap_or_default();
        if ids.request_id.is_none() {
            ids.request_id =
                analytics::ensure_request(&self.client, apple_id, self.create_analytics_requests)
                    .await
                    .map_err(Error::from)?;
        }
        let Some(request_id) = ids.request_id.clone() else {
            return Ok(None);
        };
        if ids.reports.is_empty() {
            ids.reports = analytics::find_reports(&self.client, &request_id)
                .await
                .map_err(Error::from)?;
        }
        // Only cache what is complete: a new request lists its reports a day later.
        if !ids.reports.is_empty() {
            self.analytics
                .lock()
                .await
                .insert(apple_id.to_owned(), ids.clone());
        }
        let (first, last) = analytics::processing_window(from, to);
        let mut result = analytics::AppAnalytics::default();
        let mut covered: Vec<Option<NaiveDate>> = Vec::new();
        for (name, report_id) in &ids.reports {
            let (values, through) =
                analytics::read_report(&self.client, report_id, apple_id, first, last)
                    .await
                    .map_err(Error::from)?;
            covered.push(through);
            for (
                date,
                Row {
                    sessions,
                    unique_devices,
                    crashes,
                },
            ) in values
            {
                if name == analytics::SESSIONS_REPORT {
                    result.sessions.insert(date, sessions);
                    result.active_devices.insert(date, unique_devices);
                } else {
                    result.crashes.insert(date, crashes);
                }
            }
        }
        // A day counts as covered only when every report read has reached it.
        if ids.reports.len() < 2 {
            tracing::warn!(
                apple_id,
                found = ?ids.reports.keys().collect::<Vec<_>>(),
                "analytics reports missing from the request's list"
            );
        }
        result.covered_through = covered.into_iter().min().flatten();
        Ok(Some(result))
    }

    fn retry_time(&self) -> DateTime<Utc> {
        self.clock.now() + RETRY_LATER
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// How an app's analytics went for the collection.
enum AnalyticsOutcome {
    NotAsked,
    Data(analytics::AppAnalytics),
    /// No request exists and none may be created.
    Unavailable,
    Failed(Error),
}

#[async_trait]
impl MetricSource for AppStoreConnectSource {
    fn kind(&self) -> &'static str {
        KIND
    }

    fn platform(&self) -> Platform {
        Platform::Ios
    }

    fn metrics(&self) -> &[Metric] {
        &METRICS
    }

    async fn collect(&self, req: &CollectRequest) -> Result<CollectBatch> {
        let mut batch = CollectBatch::default();
        let days: Vec<NaiveDate> = req.days().collect();
        if req.apps.is_empty() || days.is_empty() {
            return Ok(batch);
        }
        let resolved = match self.resolve(&req.apps).await {
            Ok(resolved) => resolved,
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::Unauthenticated | ErrorKind::PermissionDenied
                ) =>
            {
                return Err(e.context("resolving bundle ids with GET /v1/apps"));
            }
            Err(e) => {
                let e = e.context("resolving bundle ids with GET /v1/apps");
                for app in &req.apps {
                    for day in &days {
                        batch.outcomes.push(AppDayOutcome {
                            app_id: app.app_id,
                            day: *day,
                            outcome: DayOutcome::Failed(e.detached()),
                        });
                    }
                }
                return Ok(batch);
            }
        };
        let mut apps: Vec<(&AppTarget, Option<AppInfo>)> = Vec::new();
        for target in &req.apps {
            let info = match (resolved.get(target.bundle_id.as_str()), &target.store_id) {
                (Some(info), _) => Some(info.clone()),
                // Not listed under its bundle id: fall back on the stored Apple id; in-app
                // rows need the SKU, so they cannot be attributed.
                (None, Some(id)) => {
                    tracing::warn!(bundle_id = %target.bundle_id, "bundle id not found by GET /v1/apps; using the stored Apple id");
                    Some(AppInfo {
                        apple_id: id.clone(),
                        sku: None,
                    })
                }
                (None, None) => None,
            };
            if let Some(info) = &info
                && target.store_id.as_deref() != Some(info.apple_id.as_str())
            {
                batch
                    .resolved_store_ids
                    .push((target.app_id, info.apple_id.clone()));
            }
            apps.push((target, info));
        }

        let wants_sales = SALES_METRICS.iter().any(|m| req.wants(m));
        let wants_analytics = ANALYTICS_METRICS.iter().any(|m| req.wants(m));
        let sales_days: BTreeMap<NaiveDate, SalesDay> = if wants_sales {
            let results = join_all(days.iter().map(|d| self.sales_day(*d))).await;
            days.iter().copied().zip(results).collect()
        } else {
            BTreeMap::new()
        };
        let analytics: Vec<AnalyticsOutcome> = if wants_analytics {
            join_all(apps.iter().map(|(_, info)| async {
                let Some(info) = info else {
                    return AnalyticsOutcome::NotAsked;
                };
                match self.app_analytics(&info.apple_id, req.from, req.to).await {
                    Ok(Some(data)) => AnalyticsOutcome::Data(data),
                    Ok(None) => AnalyticsOutcome::Unavailable,
                    Err(e) => {
                        // The cached request or report may be gone: look them up next time.
                        self.analytics.lock().await.remove(&info.apple_id);
                        AnalyticsOutcome::Failed(e)
                    }
                }
            }))
            .await
        } else {
            apps.iter().map(|_| AnalyticsOutcome::NotAsked).collect()
        };

        for ((target, info), analytics) in apps.iter().zip(analytics) {
            let Some(info) = info else {
                let err = Error::new(
                    ErrorKind::NotFound,
                    format!(
                        "bundle id {} is not an app of this App Store Connect account (GET /v1/apps found no exact match)",
                        target.bundle_id
                    ),
                );
                for day in &days {
                    batch.outcomes.push(AppDayOutcome {
                        app_id: target.app_id,
                        day: *day,
                        outcome: DayOutcome::Failed(err.detached()),
                    });
                }
                continue;
            };
            for day in &days {
                let (points, outcome) = self.app_day(
                    req,
                    target.app_id,
                    info,
                    *day,
                    sales_days.get(day),
                    &analytics,
                );
                batch.points.extend(points);
                batch.outcomes.push(AppDayOutcome {
                    app_id: target.app_id,
                    day: *day,
                    outcome,
                });
            }
        }
        Ok(batch)
    }

    async fn healthcheck(&self) -> Result<()> {
        let url = self.client.url("/v1/apps", &[("limit", "1")])?;
        self.client
            .get(&url, crate::client::ACCEPT_JSON)
            .await
            .map(|_| ())
            .map_err(|e| Error::from(e).context("App Store Connect healthcheck"))
    }
}

impl AppStoreConnectSource {
    /// The points and outcome of one app on one day.
    fn app_day(
        &self,
        req: &CollectRequest,
        app: AppId,
        info: &AppInfo,
        day: NaiveDate,
        sales: Option<&SalesDay>,
        analytics: &AnalyticsOutcome,
    ) -> (Vec<MetricPoint>, DayOutcome) {
        let mut points = Vec::new();
        let mut no_sales = false;
        match sales {
            None => {}
            Some(SalesDay::Failed(e)) => {
                // Nothing of a day whose report failed is stored.
                return (Vec::new(), DayOutcome::Failed(e.detached()));
            }
            Some(SalesDay::Report(summary)) => {
                points.extend(
                    summary
                        .for_app(&info.apple_id, info.sku.as_deref())
                        .points(app, day),
                );
            }
            Some(SalesDay::NoSales) => {
                // Apple's "no sales for the date": a real zero for every app of the vendor.
                no_sales = true;
                points.extend(crate::sales::AppSales::default().points(app, day));
            }
            Some(SalesDay::NotYet) => {}
        }
        let mut analytics_pending = false;
        let mut analytics_failed = None;
        match analytics {
            AnalyticsOutcome::NotAsked | AnalyticsOutcome::Unavailable => {}
            AnalyticsOutcome::Failed(e) => analytics_failed = Some(e),
            AnalyticsOutcome::Data(data) => {
                if data.covered_through.is_none_or(|through| through < day) {
                    analytics_pending = true;
                }
                for (metric, values) in [
                    (Metric::SESSIONS, &data.sessions),
                    (Metric::ACTIVE_DEVICES, &data.active_devices),
                    (Metric::CRASHES, &data.crashes),
                ] {
                    if let Some(v) = values.get(&day) {
                        points.push(MetricPoint::total(app, metric, day, *v));
                    }
                }
            }
        }
        points.retain(|p| req.wants(&p.metric));
        let not_yet = || DayOutcome::NotYetAvailable {
            retry_after: Some(self.retry_time()),
        };
        if matches!(sales, Some(SalesDay::NotYet)) {
            // The day is not published: nothing of it is returned yet.
            return (Vec::new(), not_yet());
        }
        let has_sales = points
            .iter()
            .any(|p| !ANALYTICS_METRICS.contains(&p.metric));
        let outcome = if has_sales {
            // Sales of the day flow even while its analytics are pending or failing; the
            // analytics metrics are simply absent and a later collection fills them in.
            if analytics_pending {
                tracing::info!(%app, %day, "analytics not produced yet; sales points returned alone");
            }
            if let Some(e) = analytics_failed {
                tracing::warn!(%app, %day, error = %e, "analytics failed; sales points returned alone");
            }
            if no_sales && points.iter().all(|p| p.value == 0.0) {
                DayOutcome::NoData
            } else {
                DayOutcome::Collected
            }
        } else if analytics_pending {
            points.clear();
            not_yet()
        } else if let Some(e) = analytics_failed {
            points.clear();
            if e.is_retryable() {
                not_yet()
            } else {
                DayOutcome::Failed(e.detached())
            }
        } else if points.is_empty() {
            DayOutcome::NoData
        } else {
            DayOutcome::Collected
        };
        (points, outcome)
    }
}
