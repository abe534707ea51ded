//! [`Points`]: daily metric values, indexed by app, series and day.

use std::collections::BTreeMap;

use chrono::NaiveDate;

use crate::analysis::{MetricHistory, Series, SeriesKey};
use crate::model::{App, AppId, Metric, MetricPoint, Segment};
use crate::store::{DaySelection, HistoryQuery};
use crate::{Error, Result};

/// One series' values by day.
type Days = BTreeMap<NaiveDate, f64>;

/// Every stored point: app → (metric, segment) → day → value, so an upsert is a few
/// `O(log n)` steps, a range of days is one ordered scan per series, and deleting an
/// app drops one entry.
#[derive(Debug, Default)]
pub(super) struct Points {
    by_app: BTreeMap<AppId, BTreeMap<(Metric, Segment), Days>>,
}

impl Points {
    /// Writes every point, or none: each is checked (finite value, segment, known app)
    /// before the first is written.
    pub(super) fn upsert(
        &mut self,
        points: &[MetricPoint],
        app_exists: impl Fn(AppId) -> bool,
    ) -> Result<u64> {
        for p in points {
            p.validate()?;
            if !app_exists(p.app_id) {
                return Err(
                    Error::invalid_field("app_id", p.app_id.0, "the id of a stored app").context(
                        format!(
                            "point of app {} metric {} on {}",
                            p.app_id, p.metric, p.date
                        ),
                    ),
                );
            }
        }
        for p in points {
            self.by_app
                .entry(p.app_id)
                .or_default()
                .entry((p.metric.clone(), p.segment.clone()))
                .or_default()
                .insert(p.date, p.value);
        }
        Ok(points.len() as u64)
    }

    /// The points of `apps` selected by `query`, one [`Series`] per (app, metric,
    /// segment) with at least one point, ordered by series key and day.
    pub(super) fn history<'a>(
        &self,
        apps: impl Iterator<Item = &'a App>,
        query: &HistoryQuery,
    ) -> MetricHistory {
        // Sorted and deduplicated once, so a day listed twice yields one point.
        let listed_days = match &query.days {
            DaySelection::Days(days) => {
                let mut days = days.clone();
                days.sort_unstable();
                days.dedup();
                days
            }
            DaySelection::Range { .. } => Vec::new(),
        };
        let mut series = Vec::new();
        for app in apps {
            let Some(app_series) = self.by_app.get(&app.id) else {
                continue;
            };
            for ((metric, segment), days) in app_series {
                if query.metrics.as_ref().is_some_and(|m| !m.contains(metric)) {
                    continue;
                }
                let points: Vec<(NaiveDate, f64)> = match &query.days {
                    DaySelection::Range { from, to } if from <= to => {
                        days.range(*from..=*to).map(|(d, v)| (*d, *v)).collect()
                    }
                    DaySelection::Range { .. } => Vec::new(),
                    DaySelection::Days(_) => listed_days
                        .iter()
                        .filter_map(|d| days.get(d).map(|v| (*d, *v)))
                        .collect(),
                };
                if points.is_empty() {
                    continue;
                }
                series.push(Series {
                    key: SeriesKey {
                        platform: app.platform,
                        bundle_id: app.bundle_id.clone(),
                        metric: metric.clone(),
                        segment: segment.clone(),
                        app_id: app.id,
                    },
                    points,
                });
            }
        }
        series.sort_by(|a, b| a.key.cmp(&b.key));
        MetricHistory { series }
    }

    /// The latest day with any point, per app of `apps` that has one.
    pub(super) fn latest_dates(&self, apps: &[AppId]) -> BTreeMap<AppId, NaiveDate> {
        apps.iter()
            .filter_map(|app| {
                let latest = self
                    .by_app
                    .get(app)?
                    .values()
                    .filter_map(|days| days.last_key_value().map(|(d, _)| *d))
                    .max()?;
                Some((*app, latest))
            })
            .collect()
    }

    /// Drops every point of `app`.
    pub(super) fn remove_app(&mut self, app: AppId) {
        self.by_app.remove(&app);
    }

    /// The number of points of each app that has any.
    pub(super) fn counts(&self) -> BTreeMap<AppId, u64> {
        self.by_app
            .iter()
            .map(|(app, series)| (*app, series.values().map(|d| d.len() as u64).sum()))
            .filter(|(_, n)| *n > 0)
            .collect()
    }

    /// How many points are stored.
    pub(super) fn len(&self) -> usize {
        self.by_app
            .values()
            .flat_map(BTreeMap::values)
            .map(BTreeMap::len)
            .sum()
    }
}
