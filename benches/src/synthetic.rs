//! Synthetic metric histories of a chosen size, deterministic and realistic enough for
//! the analysis to do all its work: weekly seasonality, noise, trends, zeros and gaps.

use chrono::{Days, NaiveDate};
use storewatch_core::Result;
use storewatch_core::analysis::{MetricHistory, Series, SeriesKey};
use storewatch_core::model::{AppId, BundleId, Metric, Platform};

/// The shape of a synthetic history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    /// Number of apps (half iOS, half Android).
    pub apps: usize,
    /// Metrics per app (at most the 12 well-known ones).
    pub metrics: usize,
    /// Consecutive days per series, ending on the target day.
    pub days: usize,
}

impl Shape {
    /// Total points: apps × metrics × days.
    pub fn points(&self) -> usize {
        self.apps * self.metrics * self.days
    }
}

/// A history of `shape` ending on `day`, the same for the same arguments.
///
/// Every series has a value on every day, so [`Shape::points`] is exact; values follow
/// a weekly cycle with noise, and one in fifty values is 0 (a baseline the changes must
/// skip).
///
/// ```
/// use chrono::NaiveDate;
/// use storewatch_benches::synthetic::{Shape, history};
///
/// let day = NaiveDate::from_ymd_opt(2026, 3, 1).unwrap();
/// let shape = Shape { apps: 3, metrics: 2, days: 10 };
/// let h = history(shape, day).unwrap();
/// assert_eq!(h.len(), shape.points());
/// assert_eq!(h.series.len(), 6);
/// ```
pub fn history(shape: Shape, day: NaiveDate) -> Result<MetricHistory> {
    let metrics = &Metric::WELL_KNOWN[..shape.metrics.min(Metric::WELL_KNOWN.len())];
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    let mut series = Vec::with_capacity(shape.apps * metrics.len());
    for app in 0..shape.apps {
        let platform = if app % 2 == 0 {
            Platform::Ios
        } else {
            Platform::Android
        };
        let bundle = BundleId::parse(platform, &format!("com.bench.app{app:06}"))?;
        for metric in metrics {
            let base = 10.0 + rng.unit() * 10_000.0;
            let points = (0..shape.days)
                .map(|back| {
                    let date = day - Days::new(back as u64);
                    let weekly = 1.0 + 0.2 * ((back % 7) as f64 - 3.0) / 3.0;
                    let noise = 0.9 + 0.2 * rng.unit();
                    let value = if rng.next().is_multiple_of(50) {
                        0.0
                    } else {
                        (base * weekly * noise).round()
                    };
                    (date, value)
                })
                .collect();
            series.push(Series {
                key: SeriesKey {
                    platform,
                    bundle_id: bundle.clone(),
                    metric: metric.clone(),
                    segment: String::new(),
                    app_id: AppId(app as i64 + 1),
                },
                points,
            });
        }
    }
    Ok(MetricHistory { series })
}

/// A small fast generator: the bench needs reproducible numbers, not good randomness.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}
