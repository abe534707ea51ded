//! [`MemorySource`]: a [`MetricSource`] serving points held in memory — the reference
//! implementation of the trait, for tests, demos and embedding.

use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;
use chrono::NaiveDate;

use super::{AppDayOutcome, CollectBatch, CollectRequest, DayOutcome, MetricSource};
use crate::model::{AppId, BundleId, Metric, MetricPoint, Platform};
use crate::{Error, ErrorKind, Result};

type Key = (BundleId, Metric, NaiveDate, String);

/// Serves the values it was given; a day after `published_until` is not yet available,
/// an unknown bundle id fails alone, a known app's day without values is `NoData`.
///
/// ```
/// # tokio_test_block_on(async {
/// use chrono::NaiveDate;
/// use storewatch_core::model::{AppId, BundleId, Metric, Platform};
/// use storewatch_core::source::{AppTarget, CollectRequest, MemorySource, MetricSource};
///
/// let day = NaiveDate::from_ymd_opt(2026, 3, 1).unwrap();
/// let bundle = BundleId::parse(Platform::Ios, "com.example.app").unwrap();
/// let source = MemorySource::new("memory", Platform::Ios, vec![Metric::DOWNLOADS], day);
/// source.insert(&bundle, Metric::DOWNLOADS, day, "", 42.0);
/// let target = AppTarget { app_id: AppId(1), bundle_id: bundle, store_id: None };
/// let batch = source.collect(&CollectRequest::new(vec![target], day, day)).await.unwrap();
/// assert_eq!(batch.points[0].value, 42.0);
/// # });
/// # fn tokio_test_block_on<F: std::future::Future>(f: F) -> F::Output {
/// #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
/// # }
/// ```
#[derive(Debug)]
pub struct MemorySource {
    kind: &'static str,
    platform: Platform,
    metrics: Vec<Metric>,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    values: BTreeMap<Key, f64>,
    apps: Vec<BundleId>,
    published_until: Option<NaiveDate>,
    calls: usize,
}

impl MemorySource {
    /// A source of `kind` for `platform` producing `metrics`, with data published up to
    /// and including `published_until`.
    pub fn new(
        kind: &'static str,
        platform: Platform,
        metrics: Vec<Metric>,
        published_until: NaiveDate,
    ) -> Self {
        MemorySource {
            kind,
            platform,
            metrics,
            state: Mutex::new(State {
                published_until: Some(published_until),
                ..State::default()
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Adds (or replaces) a value; the app becomes known to the source.
    pub fn insert(
        &self,
        bundle: &BundleId,
        metric: Metric,
        day: NaiveDate,
        segment: &str,
        value: f64,
    ) {
        let mut st = self.lock();
        if !st.apps.contains(bundle) {
            st.apps.push(bundle.clone());
        }
        st.values
            .insert((bundle.clone(), metric, day, segment.to_owned()), value);
    }

    /// Makes an app known without values (its days are `NoData`).
    pub fn add_app(&self, bundle: &BundleId) {
        let mut st = self.lock();
        if !st.apps.contains(bundle) {
            st.apps.push(bundle.clone());
        }
    }

    /// Moves the last published day.
    pub fn publish_until(&self, day: NaiveDate) {
        self.lock().published_until = Some(day);
    }

    /// How many times `collect` was called.
    pub fn calls(&self) -> usize {
        self.lock().calls
    }
}

#[async_trait]
impl MetricSource for MemorySource {
    fn kind(&self) -> &'static str {
        self.kind
    }

    fn platform(&self) -> Platform {
        self.platform
    }

    fn metrics(&self) -> &[Metric] {
        &self.metrics
    }

    async fn collect(&self, req: &CollectRequest) -> Result<CollectBatch> {
        let mut st = self.lock();
        st.calls += 1;
        let mut batch = CollectBatch::default();
        for app in &req.apps {
            let known = st.apps.contains(&app.bundle_id);
            for day in req.days() {
                let outcome = if !known {
                    DayOutcome::Failed(Error::new(
                        ErrorKind::NotFound,
                        format!("no app with bundle id {} in this account", app.bundle_id),
                    ))
                } else if st.published_until.is_some_and(|p| day > p) {
                    DayOutcome::NotYetAvailable { retry_after: None }
                } else {
                    let before = batch.points.len();
                    batch.points.extend(points_of(
                        &st.values,
                        app.app_id,
                        &app.bundle_id,
                        day,
                        req,
                    ));
                    if batch.points.len() > before {
                        DayOutcome::Collected
                    } else {
                        DayOutcome::NoData
                    }
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
        Ok(())
    }
}

fn points_of<'a>(
    values: &'a BTreeMap<Key, f64>,
    app_id: AppId,
    bundle: &'a BundleId,
    day: NaiveDate,
    req: &'a CollectRequest,
) -> impl Iterator<Item = MetricPoint> + 'a {
    values
        .iter()
        .filter(move |((b, m, d, _), _)| b == bundle && *d == day && req.wants(m))
        .map(move |((_, m, d, seg), v)| MetricPoint {
            app_id,
            metric: m.clone(),
            date: *d,
            segment: seg.clone(),
            value: *v,
        })
}
