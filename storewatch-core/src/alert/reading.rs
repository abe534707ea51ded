//! What one rule's condition says about one series on the analysed day: breached,
//! clear, or no data (see the semantics in [`rules`](super::rules)).

use crate::analysis::SeriesSummary;
use crate::model::{AbsOp, Condition, Direction, Window};

/// The numbers an event reports for a day.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Measure {
    /// v(D).
    pub(super) value: f64,
    /// What the value was compared with.
    pub(super) baseline: Option<f64>,
    /// The change against the baseline in percent, when defined.
    pub(super) change_pct: Option<f64>,
}

/// A condition's verdict on one day.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Reading {
    /// The condition's input is missing (or untrustworthy): neither breach nor recovery.
    NoData,
    /// The condition holds.
    Breach(Measure),
    /// The condition does not hold, on a day with data.
    Clear(Measure),
}

/// Reads `condition` (with the rule's `min_baseline`) on a series summary.
pub(super) fn read(
    condition: &Condition,
    min_baseline: Option<f64>,
    summary: &SeriesSummary,
) -> Reading {
    let value = summary.value;
    // Stores refuse NaN and infinities, so a non-finite number here is corrupt input;
    // acting on it would fire or resolve at random.
    if !value.is_finite() {
        return Reading::NoData;
    }
    match *condition {
        Condition::PctChange {
            window,
            direction,
            threshold_pct,
        } => {
            let (pct, baseline) = match window {
                Window::Dod => (summary.dod_pct, summary.prev_day),
                Window::Wow => (summary.wow_pct, summary.prev_week),
                Window::Yoy => (summary.yoy_pct, summary.prev_year),
            };
            let Some(pct) = pct.filter(|p| p.is_finite()) else {
                return Reading::NoData;
            };
            if below_min_baseline(min_baseline, baseline) {
                return Reading::NoData;
            }
            let measure = Measure {
                value,
                baseline,
                change_pct: Some(pct),
            };
            verdict(crosses(direction, pct, threshold_pct), measure)
        }
        Condition::Absolute { op, value: limit } => {
            let breached = match op {
                AbsOp::Above => value > limit,
                AbsOp::Below => value < limit,
            };
            let measure = Measure {
                value,
                baseline: None,
                change_pct: None,
            };
            verdict(breached, measure)
        }
        Condition::Anomaly {
            z: limit,
            direction,
        } => {
            let Some(z) = summary.seasonal_z.filter(|z| z.is_finite()) else {
                return Reading::NoData;
            };
            let median = summary.seasonal_median;
            if below_min_baseline(min_baseline, median) {
                return Reading::NoData;
            }
            // Same definition as §5's percentages: relative to the baseline, undefined at 0.
            let change_pct = median
                .filter(|m| *m != 0.0)
                .map(|m| (value - m) / m * 100.0);
            let measure = Measure {
                value,
                baseline: median,
                change_pct,
            };
            verdict(crosses(direction, z, limit), measure)
        }
    }
}

fn verdict(breached: bool, measure: Measure) -> Reading {
    if breached {
        Reading::Breach(measure)
    } else {
        Reading::Clear(measure)
    }
}

/// Whether `x` is at least `threshold` away from 0 in `direction` (bounds included).
fn crosses(direction: Direction, x: f64, threshold: f64) -> bool {
    match direction {
        Direction::Up => x >= threshold,
        Direction::Down => x <= -threshold,
        Direction::Either => x.abs() >= threshold,
    }
}

/// A change measured from a tiny (or unknown) baseline says nothing, so such a day
/// counts as no data rather than as a breach or a recovery.
fn below_min_baseline(min_baseline: Option<f64>, baseline: Option<f64>) -> bool {
    match (min_baseline, baseline) {
        (Some(min), Some(b)) => b < min,
        (Some(_), None) => true,
        (None, _) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::tests::summary;

    fn pct(window: Window, direction: Direction, threshold_pct: f64) -> Condition {
        Condition::PctChange {
            window,
            direction,
            threshold_pct,
        }
    }

    fn breached(r: Reading) -> Option<bool> {
        match r {
            Reading::NoData => None,
            Reading::Breach(_) => Some(true),
            Reading::Clear(_) => Some(false),
        }
    }

    /// A day where DoD is +50 %, WoW 0 % and YoY −50 %, so a wrong window shows.
    fn mixed() -> SeriesSummary {
        let mut s = summary("", 150.0);
        s.prev_day = Some(100.0);
        s.dod_pct = Some(50.0);
        s.prev_week = Some(150.0);
        s.wow_pct = Some(0.0);
        s.prev_year = Some(300.0);
        s.yoy_pct = Some(-50.0);
        s
    }

    #[test]
    fn pct_change_reads_its_own_window() {
        let s = mixed();
        let up = |w| breached(read(&pct(w, Direction::Up, 40.0), None, &s));
        let down = |w| breached(read(&pct(w, Direction::Down, 40.0), None, &s));
        assert_eq!(up(Window::Dod), Some(true));
        assert_eq!(up(Window::Wow), Some(false));
        assert_eq!(up(Window::Yoy), Some(false));
        assert_eq!(down(Window::Dod), Some(false));
        assert_eq!(down(Window::Wow), Some(false));
        assert_eq!(down(Window::Yoy), Some(true));
    }

    #[test]
    fn pct_change_reports_the_window_baseline_and_pct() {
        let s = mixed();
        for (window, baseline, change) in [
            (Window::Dod, 100.0, 50.0),
            (Window::Wow, 150.0, 0.0),
            (Window::Yoy, 300.0, -50.0),
        ] {
            let m = match read(&pct(window, Direction::Either, 0.0), None, &s) {
                Reading::Breach(m) => m,
                other => panic!("{window:?}: {other:?}"),
            };
            assert_eq!(
                m,
                Measure {
                    value: 150.0,
                    baseline: Some(baseline),
                    change_pct: Some(change)
                },
                "{window:?}"
            );
        }
    }

    fn with_dod(p: f64) -> SeriesSummary {
        let mut s = summary("", 100.0 + p);
        s.prev_day = Some(100.0);
        s.dod_pct = Some(p);
        s
    }

    #[test]
    fn pct_up_breaches_at_or_above_the_threshold() {
        let c = pct(Window::Dod, Direction::Up, 30.0);
        assert_eq!(breached(read(&c, None, &with_dod(30.0))), Some(true));
        assert_eq!(breached(read(&c, None, &with_dod(45.0))), Some(true));
        assert_eq!(breached(read(&c, None, &with_dod(29.9))), Some(false));
        assert_eq!(breached(read(&c, None, &with_dod(-60.0))), Some(false));
    }

    #[test]
    fn pct_down_breaches_at_or_below_minus_the_threshold() {
        let c = pct(Window::Dod, Direction::Down, 30.0);
        assert_eq!(breached(read(&c, None, &with_dod(-30.0))), Some(true));
        assert_eq!(breached(read(&c, None, &with_dod(-80.0))), Some(true));
        assert_eq!(breached(read(&c, None, &with_dod(-29.9))), Some(false));
        assert_eq!(breached(read(&c, None, &with_dod(60.0))), Some(false));
    }

    #[test]
    fn pct_either_breaches_on_the_magnitude() {
        let c = pct(Window::Dod, Direction::Either, 30.0);
        assert_eq!(breached(read(&c, None, &with_dod(30.0))), Some(true));
        assert_eq!(breached(read(&c, None, &with_dod(-30.0))), Some(true));
        assert_eq!(breached(read(&c, None, &with_dod(29.9))), Some(false));
        assert_eq!(breached(read(&c, None, &with_dod(-29.9))), Some(false));
    }

    #[test]
    fn pct_change_without_a_pct_is_no_data() {
        let mut s = with_dod(90.0);
        s.dod_pct = None;
        let c = pct(Window::Dod, Direction::Either, 0.0);
        assert_eq!(read(&c, None, &s), Reading::NoData);
    }

    #[test]
    fn absolute_above_is_strict() {
        let c = Condition::Absolute {
            op: AbsOp::Above,
            value: 0.02,
        };
        assert_eq!(breached(read(&c, None, &summary("", 0.021))), Some(true));
        assert_eq!(breached(read(&c, None, &summary("", 0.02))), Some(false));
        assert_eq!(breached(read(&c, None, &summary("", 0.01))), Some(false));
    }

    #[test]
    fn absolute_below_is_strict() {
        let c = Condition::Absolute {
            op: AbsOp::Below,
            value: 3.5,
        };
        assert_eq!(breached(read(&c, None, &summary("", 3.4))), Some(true));
        assert_eq!(breached(read(&c, None, &summary("", 3.5))), Some(false));
        assert_eq!(breached(read(&c, None, &summary("", 4.0))), Some(false));
    }

    #[test]
    fn absolute_has_no_baseline_and_ignores_min_baseline() {
        let c = Condition::Absolute {
            op: AbsOp::Above,
            value: 10.0,
        };
        let mut s = with_dod(50.0);
        s.prev_day = Some(1.0);
        assert_eq!(
            read(&c, Some(1_000.0), &s),
            Reading::Breach(Measure {
                value: 150.0,
                baseline: None,
                change_pct: None
            })
        );
    }

    fn with_z(z: f64) -> SeriesSummary {
        let mut s = summary("", 120.0);
        s.seasonal_median = Some(100.0);
        s.seasonal_mad = Some(5.0);
        s.seasonal_z = Some(z);
        s
    }

    fn anomaly(z: f64, direction: Direction) -> Condition {
        Condition::Anomaly { z, direction }
    }

    #[test]
    fn anomaly_up() {
        let c = anomaly(3.0, Direction::Up);
        assert_eq!(breached(read(&c, None, &with_z(3.0))), Some(true));
        assert_eq!(breached(read(&c, None, &with_z(2.9))), Some(false));
        assert_eq!(breached(read(&c, None, &with_z(-5.0))), Some(false));
    }

    #[test]
    fn anomaly_down() {
        let c = anomaly(3.0, Direction::Down);
        assert_eq!(breached(read(&c, None, &with_z(-3.0))), Some(true));
        assert_eq!(breached(read(&c, None, &with_z(-2.9))), Some(false));
        assert_eq!(breached(read(&c, None, &with_z(5.0))), Some(false));
    }

    #[test]
    fn anomaly_either() {
        let c = anomaly(3.0, Direction::Either);
        assert_eq!(breached(read(&c, None, &with_z(3.0))), Some(true));
        assert_eq!(breached(read(&c, None, &with_z(-3.0))), Some(true));
        assert_eq!(breached(read(&c, None, &with_z(2.9))), Some(false));
        assert_eq!(breached(read(&c, None, &with_z(-2.9))), Some(false));
    }

    #[test]
    fn anomaly_without_z_is_no_data() {
        let mut s = with_z(9.0);
        s.seasonal_z = None;
        assert_eq!(
            read(&anomaly(0.0, Direction::Either), None, &s),
            Reading::NoData
        );
    }

    #[test]
    fn anomaly_reports_the_median_and_the_change_against_it() {
        assert_eq!(
            read(&anomaly(1.0, Direction::Up), None, &with_z(4.0)),
            Reading::Breach(Measure {
                value: 120.0,
                baseline: Some(100.0),
                change_pct: Some(20.0)
            })
        );
        let mut s = with_z(4.0);
        s.seasonal_median = Some(0.0);
        assert_eq!(
            read(&anomaly(1.0, Direction::Up), None, &s),
            Reading::Breach(Measure {
                value: 120.0,
                baseline: Some(0.0),
                change_pct: None
            })
        );
    }

    #[test]
    fn min_baseline_turns_a_pct_change_from_a_small_baseline_into_no_data() {
        let c = pct(Window::Dod, Direction::Up, 10.0);
        let s = with_dod(200.0); // baseline 100
        assert_eq!(read(&c, Some(100.5), &s), Reading::NoData);
        // At the limit the baseline is large enough.
        assert_eq!(breached(read(&c, Some(100.0), &s)), Some(true));
        assert_eq!(breached(read(&c, None, &s)), Some(true));
        // Not only breaches: a clear day from a small baseline is no recovery either.
        let calm = with_dod(1.0);
        assert_eq!(read(&c, Some(500.0), &calm), Reading::NoData);
        // An unknown baseline cannot be shown to be large enough.
        let mut unknown = with_dod(200.0);
        unknown.prev_day = None;
        assert_eq!(read(&c, Some(1.0), &unknown), Reading::NoData);
    }

    #[test]
    fn min_baseline_applies_to_the_seasonal_median_of_anomalies() {
        let c = anomaly(3.0, Direction::Up);
        let s = with_z(10.0); // median 100
        assert_eq!(read(&c, Some(101.0), &s), Reading::NoData);
        assert_eq!(breached(read(&c, Some(100.0), &s)), Some(true));
    }

    #[test]
    fn non_finite_inputs_are_no_data() {
        let mut s = with_dod(50.0);
        s.value = f64::NAN;
        let abs = Condition::Absolute {
            op: AbsOp::Below,
            value: 1e300,
        };
        assert_eq!(read(&abs, None, &s), Reading::NoData);
        let mut s = with_dod(50.0);
        s.dod_pct = Some(f64::INFINITY);
        assert_eq!(
            read(&pct(Window::Dod, Direction::Up, 1.0), None, &s),
            Reading::NoData
        );
        let mut s = with_z(1.0);
        s.seasonal_z = Some(f64::NAN);
        assert_eq!(
            read(&anomaly(0.0, Direction::Either), None, &s),
            Reading::NoData
        );
    }
}
