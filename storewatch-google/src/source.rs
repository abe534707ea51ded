//! [`GooglePlaySource`]: the [`MetricSource`] of a Google Play service account.
//!
//! Per app, four parts run side by side: the crash and ANR metric sets of the Reporting
//! API (one query each for the whole range; freshness is read only when Google refuses
//! the range as not published yet) and the installs and ratings overview files (one
//! object per month). Each part marks the days it covered; a day's outcome is the worst
//! mark: failed, then not yet available, then collected. Only collected days keep their
//! points, so a day is never half stored.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Days, NaiveDate, Utc};
use secrecy::SecretString;
use storewatch_core::clock::{Clock, SystemClock};
use storewatch_core::model::{Metric, MetricPoint, Platform};
use storewatch_core::source::{
    AppDayOutcome, AppTarget, CollectBatch, CollectRequest, DayOutcome, MetricSource,
};
use storewatch_core::{Error, ErrorKind, Registry, Result};

use crate::client::{Call, GoogleClient};
use crate::config::GooglePlayConfig;
use crate::csv::{ReportKind, ReportRow};
use crate::error::Surface;
use crate::reporting::{self, MetricSet, next_day};
use crate::reports;

/// The credential kind this source serves.
pub const KIND: &str = "google_play";

/// Registers [`GooglePlaySource`] for credentials of kind [`KIND`]; the factory reads
/// the credential's opened JSON as a [`GooglePlayConfig`].
pub fn register(registry: &mut Registry) {
    registry.register_source(KIND, |config: &SecretString| {
        let source: Arc<dyn MetricSource> = Arc::new(GooglePlaySource::from_json(config)?);
        Ok(source)
    });
}

/// Daily Google Play metrics of the apps one service account can see.
pub struct GooglePlaySource {
    config: GooglePlayConfig,
    client: GoogleClient,
    metrics: Vec<Metric>,
}

impl fmt::Debug for GooglePlaySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GooglePlaySource")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// Builds a [`GooglePlaySource`] with a clock or HTTP client of one's own.
#[derive(Debug)]
pub struct GooglePlaySourceBuilder {
    config: GooglePlayConfig,
    clock: Arc<dyn Clock>,
    http: Option<reqwest::Client>,
}

impl GooglePlaySourceBuilder {
    /// Reads "today" from this clock (the default is the system clock).
    #[must_use]
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Sends requests through this client (its own timeout then applies).
    #[must_use]
    pub fn http_client(mut self, http: reqwest::Client) -> Self {
        self.http = Some(http);
        self
    }

    /// Validates the config and builds the source.
    pub fn build(self) -> Result<GooglePlaySource> {
        self.config.validate()?;
        let client = GoogleClient::new(&self.config, self.http, self.clock)?;
        Ok(GooglePlaySource {
            config: self.config,
            client,
            metrics: crate::metrics::all(),
        })
    }
}

impl GooglePlaySource {
    /// A source with the system clock and a default HTTP client.
    pub fn new(config: GooglePlayConfig) -> Result<Self> {
        Self::builder(config).build()
    }

    /// A builder, to inject a clock or an HTTP client.
    pub fn builder(config: GooglePlayConfig) -> GooglePlaySourceBuilder {
        GooglePlaySourceBuilder {
            config,
            clock: Arc::new(SystemClock),
            http: None,
        }
    }

    /// A source from a credential's opened JSON config.
    pub fn from_json(json: &SecretString) -> Result<Self> {
        Self::new(GooglePlayConfig::from_json(json)?)
    }

    /// The config it runs with.
    pub fn config(&self) -> &GooglePlayConfig {
        &self.config
    }

    /// "Today" where Google's days are cut (America/Los_Angeles).
    fn today(&self) -> NaiveDate {
        self.client
            .clock()
            .now()
            .with_timezone(&chrono_tz::America::Los_Angeles)
            .date_naive()
    }

    async fn collect_app_limited(
        &self,
        limit: &tokio::sync::Semaphore,
        app: &AppTarget,
        req: &CollectRequest,
    ) -> (Vec<MetricPoint>, Marks) {
        // The semaphore is never closed, so acquiring only waits.
        let _permit = limit.acquire().await.ok();
        self.collect_app(app, req).await
    }

    /// When a pending Reporting day is worth asking again: freshness moves at most hourly.
    fn reporting_retry(&self) -> Option<DateTime<Utc>> {
        Some(self.client.clock().now() + chrono::TimeDelta::hours(1))
    }

    /// When a pending bulk-report day is worth asking again: files are rewritten a few
    /// times a day.
    fn bulk_retry(&self) -> Option<DateTime<Utc>> {
        Some(self.client.clock().now() + chrono::TimeDelta::hours(6))
    }

    async fn collect_app(
        &self,
        app: &AppTarget,
        req: &CollectRequest,
    ) -> (Vec<MetricPoint>, Marks) {
        let mut parts = Vec::new();
        for set in MetricSet::ALL {
            let wanted: Vec<(&'static str, Metric)> = set
                .metrics()
                .into_iter()
                .filter(|(_, m)| req.wants(m))
                .collect();
            if !wanted.is_empty() {
                parts.push(futures::future::Either::Left(
                    self.collect_set(app, set, wanted, req),
                ));
            }
        }
        for kind in ReportKind::ALL {
            let wanted: Vec<Metric> = kind
                .columns()
                .iter()
                .map(|(m, _)| m.clone())
                .filter(|m| req.wants(m))
                .collect();
            if wanted.is_empty() {
                continue;
            }
            for month in reports::months(req.from, req.to) {
                parts.push(futures::future::Either::Right(self.collect_month(
                    app,
                    kind,
                    month,
                    wanted.clone(),
                    req,
                )));
            }
        }
        let mut points = Vec::new();
        let mut marks = Marks::default();
        for (p, m) in futures::future::join_all(parts).await {
            points.extend(p);
            marks.merge(m);
        }
        (points, marks)
    }

    async fn collect_set(
        &self,
        app: &AppTarget,
        set: MetricSet,
        wanted: Vec<(&'static str, Metric)>,
        req: &CollectRequest,
    ) -> (Vec<MetricPoint>, Marks) {
        let package = app.bundle_id.as_str();
        let base = &self.config.reporting_base_url;
        let mut marks = Marks::default();
        let mut points = Vec::new();
        let context = || format!("{} of {package}", set.name());
        let api: Vec<&str> = wanted.iter().map(|(a, _)| *a).collect();
        let query = |end| reporting::query(&self.client, base, package, set, &api, req.from, end);
        // The whole range first: on a daily run Google has usually published it, and one
        // query is then all it takes (the Reporting quota of 10/s is what bounds a large
        // portfolio). A range past freshness is refused with a 400; only then is
        // freshness read and the query repeated up to it. Any 400 takes that path, so a
        // reworded freshness refusal still ends in the clamped query, and a request that
        // is wrong for another reason fails there with Google's message.
        let mut end = next_day(req.to);
        let mut result = Some(query(end).await);
        if let Some(Err(e)) = &result
            && matches!(
                e.kind(),
                ErrorKind::NotYetAvailable | ErrorKind::InvalidInput
            )
        {
            let fresh = match reporting::freshness(&self.client, base, package, set).await {
                Ok(day) => day,
                Err(e) => {
                    marks.fail(req.days(), &e.context(context()));
                    return (points, marks);
                }
            };
            end = fresh.min(end);
            result = if req.from < end {
                Some(query(end).await)
            } else {
                None
            };
        }
        if let Some(result) = result {
            match result {
                Ok(days) => {
                    for day in req.days().take_while(|d| *d < end) {
                        match days.get(&day) {
                            Some(values) => {
                                for (name, value) in values {
                                    if let Some((_, metric)) =
                                        wanted.iter().find(|(a, _)| a == name)
                                    {
                                        points.push(MetricPoint::total(
                                            app.app_id,
                                            metric.clone(),
                                            day,
                                            *value,
                                        ));
                                    }
                                }
                                marks.set(day, Mark::Collected);
                            }
                            // Vitals are suppressed for small apps: no rows is "no data", not zero.
                            None => marks.set(day, Mark::NoData),
                        }
                    }
                }
                Err(e) if e.kind() == ErrorKind::NotYetAvailable => {
                    for day in req.days().take_while(|d| *d < end) {
                        marks.set(day, Mark::Pending(self.reporting_retry()));
                    }
                }
                Err(e) => marks.fail(req.days().take_while(|d| *d < end), &e.context(context())),
            }
        }
        for day in req.days().filter(|d| *d >= end) {
            marks.set(day, Mark::Pending(self.reporting_retry()));
        }
        (points, marks)
    }

    async fn collect_month(
        &self,
        app: &AppTarget,
        kind: ReportKind,
        month: NaiveDate,
        wanted: Vec<Metric>,
        req: &CollectRequest,
    ) -> (Vec<MetricPoint>, Marks) {
        let package = app.bundle_id.as_str();
        let month_days: Vec<NaiveDate> = req
            .days()
            .filter(|d| reports::yyyymm(*d) == reports::yyyymm(month))
            .collect();
        let recent_from = self
            .today()
            .checked_sub_days(Days::new(u64::from(
                self.client.options().bulk_report_lag_days,
            )))
            .unwrap_or(NaiveDate::MIN);
        let mut marks = Marks::default();
        let mut points = Vec::new();
        let result = reports::fetch_month(
            &self.client,
            &self.config.storage_base_url,
            &self.config.bucket,
            kind,
            package,
            month,
            &wanted,
        )
        .await;
        match result {
            Ok(rows) => {
                // A day listed twice keeps its last row, so a point is emitted once.
                let by_day: BTreeMap<NaiveDate, &ReportRow> = rows
                    .iter()
                    .filter(|r| month_days.contains(&r.date))
                    .map(|r| (r.date, r))
                    .collect();
                for (day, row) in &by_day {
                    let mut any = false;
                    for (metric, value) in &row.values {
                        if let Some(value) = value {
                            points.push(MetricPoint::total(
                                app.app_id,
                                metric.clone(),
                                *day,
                                *value,
                            ));
                            any = true;
                        }
                    }
                    marks.set(*day, if any { Mark::Collected } else { Mark::NoData });
                }
                for day in month_days.iter().filter(|d| !by_day.contains_key(d)) {
                    // The month's file grows day by day; a recent day missing from it is late.
                    let mark = if *day >= recent_from {
                        Mark::Pending(self.bulk_retry())
                    } else {
                        Mark::NoData
                    };
                    marks.set(*day, mark);
                }
            }
            Err(e) if e.kind() == ErrorKind::NotFound => {
                tracing::info!(package, object = %kind.object_name(package, &reports::yyyymm(month)), "bulk report not found");
                for day in &month_days {
                    if *day >= recent_from {
                        marks.set(*day, Mark::Pending(self.bulk_retry()));
                    } else {
                        marks.fail([*day], &e);
                    }
                }
            }
            Err(e) => marks.fail(month_days.iter().copied(), &e),
        }
        (points, marks)
    }
}

/// What one part says about a day; a day's outcome is the worst part's mark.
#[derive(Debug)]
enum Mark {
    NoData,
    Collected,
    Pending(Option<DateTime<Utc>>),
    Failed(Error),
}

impl Mark {
    fn rank(&self) -> u8 {
        match self {
            Mark::NoData => 0,
            Mark::Collected => 1,
            Mark::Pending(_) => 2,
            Mark::Failed(_) => 3,
        }
    }
}

#[derive(Debug, Default)]
struct Marks(BTreeMap<NaiveDate, Mark>);

impl Marks {
    fn set(&mut self, day: NaiveDate, mark: Mark) {
        match self.0.get(&day) {
            Some(old) if old.rank() >= mark.rank() => {}
            _ => {
                self.0.insert(day, mark);
            }
        }
    }

    fn fail(&mut self, days: impl IntoIterator<Item = NaiveDate>, err: &Error) {
        for day in days {
            self.set(day, Mark::Failed(err.detached()));
        }
    }

    fn merge(&mut self, other: Marks) {
        for (day, mark) in other.0 {
            self.set(day, mark);
        }
    }
}

#[async_trait]
impl MetricSource for GooglePlaySource {
    fn kind(&self) -> &'static str {
        KIND
    }

    fn platform(&self) -> Platform {
        Platform::Android
    }

    fn metrics(&self) -> &[Metric] {
        &self.metrics
    }

    async fn collect(&self, req: &CollectRequest) -> Result<CollectBatch> {
        if req.from > req.to {
            return Err(Error::invalid_field(
                "from",
                req.from,
                format!("a day on or before to ({})", req.to),
            ));
        }
        let mut batch = CollectBatch::default();
        if req.apps.is_empty() {
            return Ok(batch);
        }
        // Refused credentials fail the whole batch: nothing could be asked for any app.
        self.client.ensure_token().await?;
        let limit = tokio::sync::Semaphore::new(self.client.options().concurrency);
        let results = futures::future::join_all(
            req.apps
                .iter()
                .map(|app| self.collect_app_limited(&limit, app, req)),
        )
        .await;
        for (app, (points, mut marks)) in req.apps.iter().zip(results) {
            // A day is stored whole or not at all: a day still pending or failed in one part
            // keeps none of the others' points, so its retry redoes the whole day and no
            // half-collected day looks complete.
            let complete: Vec<NaiveDate> = marks
                .0
                .iter()
                .filter(|(_, m)| matches!(m, Mark::Collected))
                .map(|(d, _)| *d)
                .collect();
            batch.points.extend(
                points
                    .into_iter()
                    .filter(|p| complete.binary_search(&p.date).is_ok()),
            );
            for day in req.days() {
                let outcome = match marks.0.remove(&day) {
                    Some(Mark::Collected) => DayOutcome::Collected,
                    Some(Mark::Pending(retry_after)) => DayOutcome::NotYetAvailable { retry_after },
                    Some(Mark::Failed(e)) => {
                        DayOutcome::Failed(e.context(format!("app {}", app.bundle_id.as_str())))
                    }
                    Some(Mark::NoData) | None => DayOutcome::NoData,
                };
                batch.outcomes.push(AppDayOutcome {
                    app_id: app.app_id,
                    day,
                    outcome,
                });
            }
        }
        Ok(batch)
    }

    async fn healthcheck(&self) -> Result<()> {
        self.client.ensure_token().await?;
        let mut url = self.config.reporting_base_url.clone();
        url.path_segments_mut()
            .map_err(|()| Error::internal("reporting URL lost its path"))?
            .pop_if_empty()
            .extend(["v1beta1", "apps:search"]);
        url.query_pairs_mut().append_pair("pageSize", "1");
        let _: serde_json::Value = self.client.json(Call::get(Surface::Reporting, url)).await?;
        reports::probe(
            &self.client,
            &self.config.storage_base_url,
            &self.config.bucket,
            "stats/installs/",
        )
        .await
    }
}
