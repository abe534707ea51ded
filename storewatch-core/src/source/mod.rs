//! [`MetricSource`]: where daily numbers come from (App Store Connect, Google Play, …).

mod memory;

use std::fmt::Debug;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};

use crate::model::{AppId, BundleId, Metric, MetricPoint, Platform};
pub use memory::MemorySource;

use crate::{Error, Result};

/// One app a collection is for, with what the source needs to find it.
#[derive(Debug, Clone, PartialEq)]
pub struct AppTarget {
    /// The app.
    pub app_id: AppId,
    /// Its bundle id or package name.
    pub bundle_id: BundleId,
    /// Apple's numeric id when known.
    pub store_id: Option<String>,
}

impl From<&crate::model::App> for AppTarget {
    fn from(app: &crate::model::App) -> Self {
        AppTarget {
            app_id: app.id,
            bundle_id: app.bundle_id.clone(),
            store_id: app.store_id.clone(),
        }
    }
}

/// What to collect: many apps over an inclusive range of days.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct CollectRequest {
    /// The apps (all of one credential).
    pub apps: Vec<AppTarget>,
    /// First day, inclusive.
    pub from: NaiveDate,
    /// Last day, inclusive.
    pub to: NaiveDate,
    /// Only these metrics (`None` = all the source can produce).
    pub metrics: Option<Vec<Metric>>,
}

impl CollectRequest {
    /// Every metric of `apps` from `from` to `to`, inclusive.
    pub fn new(apps: Vec<AppTarget>, from: NaiveDate, to: NaiveDate) -> Self {
        CollectRequest {
            apps,
            from,
            to,
            metrics: None,
        }
    }

    /// Only these metrics.
    #[must_use]
    pub fn with_metrics(mut self, metrics: Vec<Metric>) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// Every day of the range, in order.
    pub fn days(&self) -> impl Iterator<Item = NaiveDate> + '_ {
        self.from.iter_days().take_while(move |d| *d <= self.to)
    }

    /// Whether `metric` is asked for.
    pub fn wants(&self, metric: &Metric) -> bool {
        self.metrics.as_ref().is_none_or(|m| m.contains(metric))
    }
}

/// How one app's day went.
#[derive(Debug)]
pub enum DayOutcome {
    /// Points were collected.
    Collected,
    /// The provider answered that there is nothing for the day (a real zero where the
    /// source says so).
    NoData,
    /// The provider has not published the day yet.
    NotYetAvailable {
        /// When it is worth asking again, if known.
        retry_after: Option<DateTime<Utc>>,
    },
    /// This app's day failed; other apps and days are unaffected.
    Failed(Error),
}

/// The outcome of one app on one day.
#[derive(Debug)]
pub struct AppDayOutcome {
    /// The app.
    pub app_id: AppId,
    /// The day.
    pub day: NaiveDate,
    /// How it went.
    pub outcome: DayOutcome,
}

/// What a collection returns: points for every day that went through, and one outcome
/// per (app, day) asked for.
#[derive(Debug, Default)]
pub struct CollectBatch {
    /// Collected points.
    pub points: Vec<MetricPoint>,
    /// One per (app, day) of the request.
    pub outcomes: Vec<AppDayOutcome>,
    /// Apple numeric ids resolved from bundle ids during the collection, to cache on the apps.
    pub resolved_store_ids: Vec<(AppId, String)>,
}

/// A source of daily metrics for one provider account.
///
/// Implementations collect many apps over many days in as few provider requests as
/// possible; one app's failure is reported in its outcomes and never fails the batch.
/// `collect` returns `Err` only when nothing could be asked at all (e.g. credentials
/// refused). Run [`testkit::source::check_all`](crate::testkit) against a new source.
#[async_trait]
pub trait MetricSource: Send + Sync + Debug {
    /// The credential kind it serves, e.g. `"app_store_connect"`.
    fn kind(&self) -> &'static str;
    /// The store.
    fn platform(&self) -> Platform;
    /// The metrics it can produce.
    fn metrics(&self) -> &[Metric];
    /// Collects daily values for the request's apps and days.
    async fn collect(&self, req: &CollectRequest) -> Result<CollectBatch>;
    /// Checks that the provider answers and the credentials are accepted.
    async fn healthcheck(&self) -> Result<()>;
}

macro_rules! forward_source {
    ($ty:ty) => {
        #[async_trait]
        impl<T: MetricSource + ?Sized> MetricSource for $ty {
            fn kind(&self) -> &'static str {
                (**self).kind()
            }
            fn platform(&self) -> Platform {
                (**self).platform()
            }
            fn metrics(&self) -> &[Metric] {
                (**self).metrics()
            }
            async fn collect(&self, req: &CollectRequest) -> Result<CollectBatch> {
                (**self).collect(req).await
            }
            async fn healthcheck(&self) -> Result<()> {
                (**self).healthcheck().await
            }
        }
    };
}
forward_source!(Arc<T>);
forward_source!(Box<T>);
