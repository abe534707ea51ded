//! `PolarsAnalyzer` against the `NaiveAnalyzer` reference: the hand-computed cases, and
//! a property test on random histories that every field agrees and nulls fall in the
//! same places.

use chrono::{Days, NaiveDate};
use proptest::prelude::*;

use super::cases::{self, day, key};
use super::{Analysis, Analyzer, MetricHistory, NaiveAnalyzer, PolarsAnalyzer, Series};
use crate::ErrorKind;
use crate::model::{Metric, Platform};

#[test]
fn hand_computed_fields() {
    cases::hand_computed_fields(&PolarsAnalyzer::new());
}

#[test]
fn nulls_and_edges() {
    cases::nulls_and_edges(&PolarsAnalyzer::new());
}

#[test]
fn ordered_and_merged() {
    cases::ordered_and_merged(&PolarsAnalyzer::new());
}

#[test]
fn empty() {
    cases::empty(&PolarsAnalyzer::new());
}

#[test]
fn bad_input() {
    cases::bad_input(&PolarsAnalyzer::new());
}

/// Generated offsets: D+2 … D−67 (dense: every window but the yearly one) and
/// D−360 … D−368 (around D−364).
const NEAR: std::ops::RangeInclusive<i64> = -2..=67;
const YEAR: std::ops::RangeInclusive<i64> = 360..=368;

/// One generated series.
#[derive(Debug, Clone)]
struct Spec {
    /// Index into the key pool.
    key: usize,
    /// Multiplies every value: spreads magnitudes from 1e-12 to 1e12.
    scale: f64,
    /// When set, every present value is this one (times `scale`).
    constant: Option<f64>,
    /// The value at each offset of `NEAR` then `YEAR`, `None` = missing.
    values: Vec<Option<f64>>,
    /// Where to split the points into two `Series` entries with the same key.
    split: Option<usize>,
}

fn key_pool() -> Vec<crate::analysis::SeriesKey> {
    let mut pool = Vec::new();
    for platform in [Platform::Ios, Platform::Android] {
        for bundle in ["com.example.one", "com.example.two"] {
            for metric in [Metric::DOWNLOADS, Metric::PROCEEDS, Metric::CRASH_RATE] {
                for segment in ["", "country:US", "currency:EUR"] {
                    pool.push(key(platform, bundle, metric.clone(), segment));
                }
            }
        }
    }
    pool
}

fn value() -> impl Strategy<Value = f64> {
    prop_oneof![
        2 => Just(0.0),
        4 => (0u32..50).prop_map(f64::from),
        4 => (0u32..1_000_000).prop_map(f64::from),
        3 => -1.0e3..1.0e3f64,
        1 => Just(1.0),
    ]
}

fn spec(pool_len: usize) -> impl Strategy<Value = Spec> {
    let days = NEAR.count() + YEAR.count();
    (
        0..pool_len,
        prop_oneof![
            Just(1.0),
            Just(1.0e12),
            Just(1.0e-12),
            Just(0.37),
            Just(-3.0)
        ],
        prop::option::weighted(0.15, value()),
        // Presence from sparse to complete.
        prop_oneof![
            3 => prop_oneof![Just(0.1), Just(0.5), Just(0.9)].prop_flat_map(move |p| {
                prop::collection::vec(prop::option::weighted(p, value()), days)
            }),
            1 => prop::collection::vec(value().prop_map(Some), days),
        ],
        prop::option::weighted(0.2, 0usize..40),
    )
        .prop_map(|(key, scale, constant, values, split)| Spec {
            key,
            scale,
            constant,
            values,
            split,
        })
}

/// A random history: up to 12 distinct series, some split over two entries.
fn history() -> impl Strategy<Value = MetricHistory> {
    let pool = key_pool();
    prop::collection::vec(spec(pool.len()), 0..12).prop_map(move |specs| {
        let mut used = std::collections::BTreeSet::new();
        let mut series = Vec::new();
        for spec in specs {
            if !used.insert(spec.key) {
                continue;
            }
            let offsets = NEAR.chain(YEAR);
            let mut points: Vec<(NaiveDate, f64)> = offsets
                .zip(&spec.values)
                .filter_map(|(back, v)| {
                    let v = spec.constant.or(*v)? * spec.scale;
                    let date = if back >= 0 {
                        day() - Days::new(back.unsigned_abs())
                    } else {
                        day() + Days::new(back.unsigned_abs())
                    };
                    Some((date, v))
                })
                .collect();
            // Points arrive in any order.
            points.reverse();
            let k = pool[spec.key].clone();
            match spec.split {
                Some(at) if at < points.len() => {
                    let tail = points.split_off(at);
                    series.push(Series {
                        key: k.clone(),
                        points,
                    });
                    series.push(Series {
                        key: k,
                        points: tail,
                    });
                }
                _ => series.push(Series { key: k, points }),
            }
        }
        series.reverse();
        MetricHistory { series }
    })
}

/// Equal within 1e-9 relative, or within 1e-9 of `scale` for values near 0 (a mean of
/// mixed signs, a median of 0): `scale` is the series' largest |value| for fields in
/// the values' unit, 1 for percentages and z-scores.
fn agree(a: f64, b: f64, scale: f64) -> bool {
    a == b || (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(scale)
}

fn compare(history: &MetricHistory, fast: &Analysis, reference: &Analysis) -> Result<(), String> {
    if fast.day != reference.day {
        return Err(format!("day {} != {}", fast.day, reference.day));
    }
    let keys = |a: &Analysis| {
        a.summaries
            .iter()
            .map(|s| s.key.clone())
            .collect::<Vec<_>>()
    };
    if keys(fast) != keys(reference) {
        return Err(format!(
            "series differ:\n{:?}\n{:?}",
            keys(fast),
            keys(reference)
        ));
    }
    for (f, r) in fast.summaries.iter().zip(&reference.summaries) {
        let magnitude = history
            .series
            .iter()
            .filter(|s| s.key == f.key)
            .flat_map(|s| s.points.iter().map(|p| p.1.abs()))
            .fold(0.0, f64::max);
        let fields = [
            ("value", Some(f.value), Some(r.value), magnitude),
            ("prev_day", f.prev_day, r.prev_day, magnitude),
            ("dod_pct", f.dod_pct, r.dod_pct, 1.0),
            ("prev_week", f.prev_week, r.prev_week, magnitude),
            ("wow_pct", f.wow_pct, r.wow_pct, 1.0),
            ("prev_year", f.prev_year, r.prev_year, magnitude),
            ("yoy_pct", f.yoy_pct, r.yoy_pct, 1.0),
            ("avg_7d", Some(f.avg_7d), Some(r.avg_7d), magnitude),
            ("avg_28d", Some(f.avg_28d), Some(r.avg_28d), magnitude),
            (
                "seasonal_median",
                f.seasonal_median,
                r.seasonal_median,
                magnitude,
            ),
            ("seasonal_mad", f.seasonal_mad, r.seasonal_mad, magnitude),
            ("seasonal_z", f.seasonal_z, r.seasonal_z, 1.0),
        ];
        for (name, a, b, scale) in fields {
            let ok = match (a, b) {
                (Some(a), Some(b)) => agree(a, b, scale),
                (None, None) => true,
                _ => false,
            };
            if !ok {
                return Err(format!(
                    "{} {name}: polars {a:?}, naive {b:?}\npolars {f:?}\nnaive  {r:?}",
                    f.key
                ));
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn polars_agrees_with_naive(history in history()) {
        let fast = PolarsAnalyzer::new().analyze(&history, day()).unwrap();
        let reference = NaiveAnalyzer::new().analyze(&history, day()).unwrap();
        if let Err(diff) = compare(&history, &fast, &reference) {
            prop_assert!(false, "{}", diff);
        }
    }

    #[test]
    fn both_refuse_a_duplicate(history in history(), which in any::<prop::sample::Index>(), point in any::<prop::sample::Index>()) {
        let mut history = history;
        let nonempty: Vec<usize> = (0..history.series.len())
            .filter(|&i| !history.series[i].points.is_empty())
            .collect();
        prop_assume!(!nonempty.is_empty());
        let s = nonempty[which.index(nonempty.len())];
        let (date, v) = history.series[s].points[point.index(history.series[s].points.len())];
        history.series[s].points.push((date, v + 1.0));
        let name = history.series[s].key.to_string();
        for analyzer in [&PolarsAnalyzer::new() as &dyn Analyzer, &NaiveAnalyzer::new()] {
            let err = analyzer.analyze(&history, day()).unwrap_err();
            prop_assert_eq!(err.kind(), ErrorKind::InvalidInput);
            let text = err.to_string();
            prop_assert!(text.contains(&name) && text.contains(&date.to_string()), "{}", text);
        }
    }
}
