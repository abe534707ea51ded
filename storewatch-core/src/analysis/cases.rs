//! Hand-computed DESIGN §5 cases and bad-input cases that every [`Analyzer`] of this
//! crate must pass; run here against `NaiveAnalyzer` and, with the `polars` feature,
//! against `PolarsAnalyzer`.

use chrono::{Days, NaiveDate};

use super::{Analyzer, MetricHistory, Series, SeriesKey, SeriesSummary};
use crate::ErrorKind;
use crate::model::{AppId, BundleId, Metric, Platform};

/// D: a Sunday.
pub(crate) fn day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 3, 1).unwrap()
}

pub(crate) fn key(platform: Platform, bundle: &str, metric: Metric, segment: &str) -> SeriesKey {
    SeriesKey {
        platform,
        bundle_id: BundleId::parse(platform, bundle).unwrap(),
        metric,
        segment: segment.to_owned(),
        app_id: AppId(bundle.len() as i64),
    }
}

/// A series from `(days before D, value)` pairs; negative offsets are after D.
fn series(key: &SeriesKey, values: &[(i64, f64)]) -> Series {
    let points = values
        .iter()
        .map(|&(back, v)| {
            let date = if back >= 0 {
                day() - Days::new(back.unsigned_abs())
            } else {
                day() + Days::new(back.unsigned_abs())
            };
            (date, v)
        })
        .collect();
    Series {
        key: key.clone(),
        points,
    }
}

fn close(actual: f64, expected: f64) -> bool {
    (actual - expected).abs() <= 1e-12 * expected.abs().max(1.0)
}

#[track_caller]
fn assert_close(what: &str, actual: Option<f64>, expected: Option<f64>) {
    match (actual, expected) {
        (Some(a), Some(e)) => assert!(close(a, e), "{what}: got {a}, expected {e}"),
        (a, e) => assert_eq!(a, e, "{what}"),
    }
}

fn a_key() -> SeriesKey {
    key(Platform::Ios, "com.example.a", Metric::DOWNLOADS, "")
}

/// Series A: every field present, computed by hand.
///
/// Same weekday (k = 1..8): 100, 110, 90, 120, 100, —, 80, 105 → sorted 80 90 100 100
/// 105 110 120, median 100; |deviations| 0 0 5 10 10 20 20, MAD 10;
/// z = (130 − 100) / (1.4826 × 10).
fn a_history() -> Vec<Series> {
    vec![series(
        &a_key(),
        &[
            (-1, 1000.0), // after D: ignored
            (0, 130.0),
            (1, 100.0),
            (2, 90.0),
            (4, 0.0), // a zero is a value
            (5, 110.0),
            (6, 95.0),
            (7, 100.0),
            (10, 50.0),
            (14, 110.0),
            (20, 70.0),
            (21, 90.0),
            (27, 40.0),
            (28, 120.0), // outside the 28-day window, inside the seasonal one
            (35, 100.0),
            (49, 80.0),
            (56, 105.0),
            (63, 1.0e6), // k = 9: not seasonal
            (364, 65.0),
            (365, 999.0),
        ],
    )]
}

fn check_a(s: &SeriesSummary) {
    assert_eq!(s.key, a_key());
    assert_eq!(s.value, 130.0);
    assert_eq!(s.prev_day, Some(100.0));
    assert_close("dod_pct", s.dod_pct, Some(30.0));
    assert_eq!(s.prev_week, Some(100.0));
    assert_close("wow_pct", s.wow_pct, Some(30.0));
    assert_eq!(s.prev_year, Some(65.0));
    assert_close("yoy_pct", s.yoy_pct, Some(100.0));
    // (130 + 100 + 90 + 0 + 110 + 95) / 6
    assert_close("avg_7d", Some(s.avg_7d), Some(87.5));
    // the 7-day values plus 100, 50, 110, 70, 90, 40 → 985 / 12
    assert_close("avg_28d", Some(s.avg_28d), Some(82.083_333_333_333_33));
    assert_close("seasonal_median", s.seasonal_median, Some(100.0));
    assert_close("seasonal_mad", s.seasonal_mad, Some(10.0));
    assert_close("seasonal_z", s.seasonal_z, Some(2.023_472_278_429_786));
}

/// Every field of a fully populated series matches the hand computation.
pub(crate) fn hand_computed_fields(analyzer: &dyn Analyzer) {
    let history = MetricHistory {
        series: a_history(),
    };
    let analysis = analyzer.analyze(&history, day()).unwrap();
    assert_eq!(analysis.day, day());
    assert_eq!(analysis.summaries.len(), 1);
    check_a(&analysis.summaries[0]);
}

/// Zero and missing baselines give null changes; too few same-weekday values give null
/// seasonal fields; exactly 4 values (even count) take the mean of the middle two; a
/// MAD of 0 gives a null z; a series without v(D) has no summary.
pub(crate) fn nulls_and_edges(analyzer: &dyn Analyzer) {
    let b = key(Platform::Ios, "com.example.b", Metric::DOWNLOADS, "");
    let c = key(Platform::Ios, "com.example.c", Metric::DOWNLOADS, "");
    let d = key(Platform::Ios, "com.example.d", Metric::DOWNLOADS, "");
    let e = key(Platform::Ios, "com.example.e", Metric::DOWNLOADS, "");
    let history = MetricHistory {
        series: vec![
            // prev day 0, prev week missing, prev year 0, 3 seasonal values.
            series(
                &b,
                &[
                    (0, 5.0),
                    (1, 0.0),
                    (14, 4.0),
                    (21, 6.0),
                    (56, 5.0),
                    (364, 0.0),
                ],
            ),
            // Exactly 4 seasonal values: 10 20 30 40 → median 25, MAD 10.
            series(
                &c,
                &[(0, 40.0), (7, 10.0), (14, 20.0), (21, 30.0), (28, 40.0)],
            ),
            // Constant seasonal values: MAD 0 → no z.
            series(
                &d,
                &[
                    (0, 9.0),
                    (7, 7.0),
                    (14, 7.0),
                    (21, 7.0),
                    (28, 7.0),
                    (35, 7.0),
                ],
            ),
            // No v(D): no summary.
            series(&e, &[(1, 3.0), (7, 3.0)]),
        ],
    };
    let analysis = analyzer.analyze(&history, day()).unwrap();
    let keys: Vec<&SeriesKey> = analysis.summaries.iter().map(|s| &s.key).collect();
    assert_eq!(keys, [&b, &c, &d]);

    let sb = &analysis.summaries[0];
    assert_eq!(sb.value, 5.0);
    assert_eq!((sb.prev_day, sb.dod_pct), (Some(0.0), None));
    assert_eq!((sb.prev_week, sb.wow_pct), (None, None));
    assert_eq!((sb.prev_year, sb.yoy_pct), (Some(0.0), None));
    assert_close("b avg_7d", Some(sb.avg_7d), Some(2.5));
    assert_close("b avg_28d", Some(sb.avg_28d), Some(15.0 / 4.0));
    assert_eq!(
        (sb.seasonal_median, sb.seasonal_mad, sb.seasonal_z),
        (None, None, None)
    );

    let sc = &analysis.summaries[1];
    assert_close("c avg_7d", Some(sc.avg_7d), Some(40.0));
    assert_close("c avg_28d", Some(sc.avg_28d), Some(25.0));
    assert_close("c median", sc.seasonal_median, Some(25.0));
    assert_close("c mad", sc.seasonal_mad, Some(10.0));
    assert_close("c z", sc.seasonal_z, Some(1.011_736_139_214_893));

    let sd = &analysis.summaries[2];
    assert_close("d median", sd.seasonal_median, Some(7.0));
    assert_close("d mad", sd.seasonal_mad, Some(0.0));
    assert_eq!(sd.seasonal_z, None);
}

/// Output follows `SeriesKey` order (platform, bundle id, metric, segment), whatever the
/// input order, and two `Series` entries with equal keys and distinct days are one series.
pub(crate) fn ordered_and_merged(analyzer: &dyn Analyzer) {
    let keys = [
        key(Platform::Android, "com.example.a", Metric::DOWNLOADS, ""),
        key(Platform::Ios, "com.example.b", Metric::DOWNLOADS, ""),
        key(Platform::Ios, "com.example.a", Metric::UPDATES, ""),
        key(
            Platform::Ios,
            "com.example.a",
            Metric::DOWNLOADS,
            "country:US",
        ),
        key(Platform::Ios, "com.example.a", Metric::DOWNLOADS, ""),
    ];
    let mut all = Vec::new();
    for (i, k) in keys.iter().enumerate() {
        all.push(series(k, &[(0, i as f64 + 1.0)]));
    }
    // The rest of series A's history, split off into separate entries.
    let mut a = a_history().remove(0);
    a.points.retain(|&(date, _)| date != day());
    let tail = a.points.split_off(a.points.len() / 2);
    all.push(a.clone());
    all.push(Series {
        key: a.key,
        points: tail,
    });
    // The entry holding A's v(D) is the last of `keys`; give it A's value.
    all[4].points[0].1 = 130.0;

    let analysis = analyzer
        .analyze(&MetricHistory { series: all }, day())
        .unwrap();
    let got: Vec<&SeriesKey> = analysis.summaries.iter().map(|s| &s.key).collect();
    let mut expected: Vec<&SeriesKey> = keys.iter().collect();
    expected.sort();
    assert_eq!(got, expected);
    assert_eq!(got[0], &keys[4]);
    assert_eq!(got[4], &keys[0]);
    check_a(&analysis.summaries[0]);
}

/// An empty history, or one whose values all lie elsewhere, has no summary.
pub(crate) fn empty(analyzer: &dyn Analyzer) {
    let analysis = analyzer.analyze(&MetricHistory::default(), day()).unwrap();
    assert!(analysis.summaries.is_empty());
    let history = MetricHistory {
        series: vec![series(&a_key(), &[(1, 1.0), (-1, 2.0)])],
    };
    assert!(
        analyzer
            .analyze(&history, day())
            .unwrap()
            .summaries
            .is_empty()
    );
}

#[track_caller]
fn assert_refused(analyzer: &dyn Analyzer, series: Vec<Series>, needles: &[&str]) {
    let err = analyzer
        .analyze(&MetricHistory { series }, day())
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    let text = err.to_string();
    for needle in needles {
        assert!(text.contains(needle), "{text:?} does not name {needle:?}");
    }
}

/// Duplicate (series, day) values — in one entry or across two entries with equal keys,
/// on a day the analysis reads or not — and non-finite values are refused, naming the
/// series and the day.
pub(crate) fn bad_input(analyzer: &dyn Analyzer) {
    let k = key(
        Platform::Ios,
        "com.example.a",
        Metric::PROCEEDS,
        "currency:EUR",
    );
    let name = "ios com.example.a proceeds [currency:EUR]";
    assert_eq!(k.to_string(), name);
    let other = series(&a_key(), &[(0, 1.0)]);

    // Same entry, a day the analysis reads.
    assert_refused(
        analyzer,
        vec![other.clone(), series(&k, &[(0, 1.0), (1, 2.0), (1, 2.0)])],
        &[name, "2026-02-28", "duplicate"],
    );
    // Same entry, a day the analysis does not read.
    assert_refused(
        analyzer,
        vec![
            series(&k, &[(0, 1.0), (100, 2.0), (100, 3.0)]),
            other.clone(),
        ],
        &[name, "2025-11-21", "duplicate"],
    );
    // Same entry, a day far from D.
    assert_refused(
        analyzer,
        vec![series(&k, &[(0, 1.0), (5000, 2.0), (1, 1.0), (5000, 3.0)])],
        &[name, "2012-06-22", "duplicate"],
    );
    // Two entries with equal keys sharing a day.
    assert_refused(
        analyzer,
        vec![
            series(&k, &[(0, 1.0), (3, 2.0)]),
            other.clone(),
            series(&k, &[(3, 5.0), (4, 2.0)]),
        ],
        &[name, "2026-02-26", "duplicate"],
    );
    // Non-finite values.
    for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        assert_refused(
            analyzer,
            vec![other.clone(), series(&k, &[(0, 1.0), (2, bad)])],
            &[name, "2026-02-27", "finite"],
        );
    }
}

mod naive {
    use crate::analysis::NaiveAnalyzer;

    #[test]
    fn hand_computed_fields() {
        super::hand_computed_fields(&NaiveAnalyzer::new());
    }

    #[test]
    fn nulls_and_edges() {
        super::nulls_and_edges(&NaiveAnalyzer::new());
    }

    #[test]
    fn ordered_and_merged() {
        super::ordered_and_merged(&NaiveAnalyzer::new());
    }

    #[test]
    fn empty() {
        super::empty(&NaiveAnalyzer::new());
    }

    #[test]
    fn bad_input() {
        super::bad_input(&NaiveAnalyzer::new());
    }
}
