//! [`NaiveAnalyzer`]: DESIGN §5 read literally, with plain loops over one
//! `BTreeMap<NaiveDate, f64>` per series — the reference other analyzers are checked
//! against.

use std::collections::BTreeMap;

use chrono::{Days, NaiveDate};

use super::{Analysis, Analyzer, MetricHistory, SeriesKey, SeriesSummary};
use crate::{Error, ErrorKind, Result};

/// The plain-loop reference implementation of DESIGN §5 (crate feature `testkit`).
///
/// Each series' values go into a `BTreeMap` keyed by day, and every field is computed
/// the obvious way from it. It is slow and builds a map of the whole history, so it is
/// meant for checking other [`Analyzer`]s (the property tests of `PolarsAnalyzer` and
/// the analysis bench use it), not for production.
///
/// It refuses the same bad input as every analyzer must: a non-finite value, or two
/// values for one (series, day) — also across two [`Series`](super::Series) entries with
/// equal keys, which are otherwise merged — is an `InvalidInput` naming the series.
///
/// ```
/// use chrono::{Days, NaiveDate};
/// use storewatch_core::analysis::{Analyzer, MetricHistory, NaiveAnalyzer, Series, SeriesKey};
/// use storewatch_core::model::{AppId, BundleId, Metric, Platform};
///
/// let day = NaiveDate::from_ymd_opt(2026, 3, 1).unwrap();
/// let key = SeriesKey {
///     platform: Platform::Android,
///     bundle_id: BundleId::parse(Platform::Android, "com.example.app").unwrap(),
///     metric: Metric::DOWNLOADS,
///     segment: String::new(),
///     app_id: AppId(7),
/// };
/// let points = vec![(day - Days::new(1), 80.0), (day, 100.0)];
/// let history = MetricHistory { series: vec![Series { key, points }] };
/// let s = &NaiveAnalyzer::new().analyze(&history, day).unwrap().summaries[0];
/// assert_eq!(s.dod_pct, Some(25.0));
/// assert_eq!(s.avg_7d, 90.0);
/// assert_eq!(s.seasonal_median, None); // fewer than 4 same-weekday values
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct NaiveAnalyzer {
    _private: (),
}

impl NaiveAnalyzer {
    /// A new reference analyzer.
    pub fn new() -> Self {
        Self::default()
    }
}

impl Analyzer for NaiveAnalyzer {
    fn analyze(&self, history: &MetricHistory, day: NaiveDate) -> Result<Analysis> {
        let mut by_key: BTreeMap<&SeriesKey, BTreeMap<NaiveDate, f64>> = BTreeMap::new();
        for series in &history.series {
            let values = by_key.entry(&series.key).or_default();
            for &(date, value) in &series.points {
                if !value.is_finite() {
                    return Err(Error::invalid_field("value", value, "a finite number")
                        .context(format!("series {} on {date}", series.key)));
                }
                if values.insert(date, value).is_some() {
                    return Err(Error::new(
                        ErrorKind::InvalidInput,
                        format!(
                            "duplicate value for series {} on {date}: expected at most one value per series and day",
                            series.key
                        ),
                    ));
                }
            }
        }
        let summaries = by_key
            .into_iter()
            .filter_map(|(key, values)| summarize(key, &values, day))
            .collect();
        Ok(Analysis { day, summaries })
    }
}

/// The §5 summary of one series, or `None` when v(D) is missing.
fn summarize(
    key: &SeriesKey,
    values: &BTreeMap<NaiveDate, f64>,
    day: NaiveDate,
) -> Option<SeriesSummary> {
    let back = |days: u64| day.checked_sub_days(Days::new(days));
    let at = |days: u64| back(days).and_then(|d| values.get(&d).copied());
    let value = at(0)?;

    let change = |previous: Option<f64>| match previous {
        Some(p) if p != 0.0 => Some((value - p) / p * 100.0),
        _ => None,
    };
    let mean_of_last = |days: u64| {
        let first = back(days - 1).unwrap_or(NaiveDate::MIN);
        let (mut sum, mut n) = (0.0, 0u32);
        for (_, v) in values.range(first..=day) {
            sum += v;
            n += 1;
        }
        sum / f64::from(n)
    };

    let mut same_weekday = Vec::new();
    for k in 1..=8 {
        if let Some(v) = at(7 * k) {
            same_weekday.push(v);
        }
    }
    let (seasonal_median, seasonal_mad, seasonal_z) = if same_weekday.len() >= 4 {
        let m = median(&same_weekday);
        let deviations: Vec<f64> = same_weekday.iter().map(|v| (v - m).abs()).collect();
        let mad = median(&deviations);
        let z = (mad != 0.0).then(|| (value - m) / (1.4826 * mad));
        (Some(m), Some(mad), z)
    } else {
        (None, None, None)
    };

    let (prev_day, prev_week, prev_year) = (at(1), at(7), at(364));
    Some(SeriesSummary {
        key: key.clone(),
        value,
        prev_day,
        dod_pct: change(prev_day),
        prev_week,
        wow_pct: change(prev_week),
        prev_year,
        yoy_pct: change(prev_year),
        avg_7d: mean_of_last(7),
        avg_28d: mean_of_last(28),
        seasonal_median,
        seasonal_mad,
        seasonal_z,
    })
}

/// The median of a non-empty slice: the middle value, or the mean of the two middle ones.
fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    if sorted.len() % 2 == 1 {
        sorted[mid]
    } else {
        (sorted[mid - 1] + sorted[mid]) / 2.0
    }
}
