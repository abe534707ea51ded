//! Analysis (DESIGN §5): the [`Analyzer`] trait, the history it reads and the
//! per-series summaries it produces.
//!
//! Implementations:
//! - `PolarsAnalyzer` (crate feature `polars`): the default, one vectorized polars query
//!   over every series;
//! - `NaiveAnalyzer` (crate feature `testkit`, and in this crate's tests): the plain-loop
//!   reference the property tests compare `PolarsAnalyzer` with, and the baseline of the
//!   analysis bench. It is correct but slow; use it to check another implementation.

#[cfg(all(test, feature = "polars"))]
mod agreement;
#[cfg(test)]
mod cases;
#[cfg(feature = "polars")]
mod columns;
mod history;
#[cfg(any(test, feature = "testkit"))]
mod naive;
#[cfg(feature = "polars")]
mod polars;

use std::fmt::Debug;
use std::sync::Arc;

use chrono::{Days, NaiveDate};
use serde::{Deserialize, Serialize};

#[cfg(feature = "polars")]
pub use self::polars::PolarsAnalyzer;
pub use history::{MetricHistory, Series, SeriesKey};
#[cfg(any(test, feature = "testkit"))]
pub use naive::NaiveAnalyzer;

use crate::Result;

/// The days the §5 analysis of `day` reads: D, D−1…D−27, D−7k for k ≤ 8 and D−364,
/// sorted and without duplicates (34 days).
///
/// ```
/// use chrono::NaiveDate;
/// use storewatch_core::analysis::required_days;
///
/// let d = NaiveDate::from_ymd_opt(2026, 3, 1).unwrap();
/// let days = required_days(d);
/// assert_eq!(days.len(), 34);
/// assert_eq!(*days.last().unwrap(), d);
/// assert_eq!(days[0], NaiveDate::from_ymd_opt(2025, 3, 2).unwrap()); // D−364
/// ```
pub fn required_days(day: NaiveDate) -> Vec<NaiveDate> {
    let mut offsets: Vec<u64> = (0..28).collect();
    offsets.extend((1..=8).map(|k| 7 * k));
    offsets.push(364);
    offsets.sort_unstable();
    offsets.dedup();
    let mut days: Vec<NaiveDate> = offsets
        .into_iter()
        .filter_map(|o| day.checked_sub_days(Days::new(o)))
        .collect();
    days.sort_unstable();
    days
}

/// The §5 summary of one series on the target day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeriesSummary {
    /// Which series.
    pub key: SeriesKey,
    /// v(D).
    pub value: f64,
    /// v(D−1).
    pub prev_day: Option<f64>,
    /// (v(D) − v(D−1)) / v(D−1) × 100; null when v(D−1) is missing or 0.
    pub dod_pct: Option<f64>,
    /// v(D−7).
    pub prev_week: Option<f64>,
    /// Change against D−7, in percent.
    pub wow_pct: Option<f64>,
    /// v(D−364).
    pub prev_year: Option<f64>,
    /// Change against D−364, in percent.
    pub yoy_pct: Option<f64>,
    /// Mean of the present values in [D−6, D].
    pub avg_7d: f64,
    /// Mean of the present values in [D−27, D].
    pub avg_28d: f64,
    /// Median of the present v(D−7k), k = 1..8; null with fewer than 4.
    pub seasonal_median: Option<f64>,
    /// Median absolute deviation of the same values.
    pub seasonal_mad: Option<f64>,
    /// (v(D) − median) / (1.4826 × MAD); null with fewer than 4 values or MAD = 0.
    pub seasonal_z: Option<f64>,
}

/// The analysis of one day: a summary for every series with a value that day, ordered
/// by (platform, bundle id, metric, segment).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Analysis {
    /// The target day D.
    pub day: NaiveDate,
    /// One per series with v(D) present.
    pub summaries: Vec<SeriesSummary>,
}

/// Computes §5 summaries of a history for a day. CPU-bound: run it in
/// `spawn_blocking`.
pub trait Analyzer: Send + Sync + Debug {
    /// The summaries of every series of `history` with a value on `day`.
    ///
    /// Duplicate (series, day) entries are an `InvalidInput` naming the series.
    fn analyze(&self, history: &MetricHistory, day: NaiveDate) -> Result<Analysis>;

    /// The days `analyze(_, day)` reads; the pipeline loads only these from the store.
    fn required_days(&self, day: NaiveDate) -> Vec<NaiveDate> {
        required_days(day)
    }
}

impl<T: Analyzer + ?Sized> Analyzer for Arc<T> {
    fn analyze(&self, history: &MetricHistory, day: NaiveDate) -> Result<Analysis> {
        (**self).analyze(history, day)
    }
    fn required_days(&self, day: NaiveDate) -> Vec<NaiveDate> {
        (**self).required_days(day)
    }
}

impl<T: Analyzer + ?Sized> Analyzer for Box<T> {
    fn analyze(&self, history: &MetricHistory, day: NaiveDate) -> Result<Analysis> {
        (**self).analyze(history, day)
    }
    fn required_days(&self, day: NaiveDate) -> Vec<NaiveDate> {
        (**self).required_days(day)
    }
}
