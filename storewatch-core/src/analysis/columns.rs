//! [`DayColumns`]: a [`MetricHistory`] validated and flattened into three columns for the
//! analysis of one day — series index, day offset and value — keeping only the days the
//! analysis reads.

use chrono::{Datelike, NaiveDate};

use super::{MetricHistory, SeriesKey, required_days};
use crate::{Error, ErrorKind, Result};

/// A history as columns for the analysis of day D.
///
/// Series are numbered in [`SeriesKey`] order, so sorting by index is the output order;
/// [`Series`](super::Series) entries with equal keys share one index. Only the rows on
/// [`required_days`] are kept: the §5 definitions read nothing else, and this cuts
/// a year of history (≈400 rows per series) to at most 34 rows per series before any
/// frame is built.
#[derive(Debug)]
pub(crate) struct DayColumns<'a> {
    /// The key of each series index.
    pub(crate) keys: Vec<&'a SeriesKey>,
    /// The series index of each row.
    pub(crate) series: Vec<u32>,
    /// D − date of each row, in days (0 = D, 1 = D−1, …).
    pub(crate) offsets: Vec<i32>,
    /// The value of each row.
    pub(crate) values: Vec<f64>,
}

impl<'a> DayColumns<'a> {
    /// Validates `history` and flattens the rows the analysis of `day` reads.
    ///
    /// Every point is checked, not only the kept ones: a non-finite value or two values
    /// for one (series, day) — within one [`Series`](super::Series) or across two with
    /// equal keys — is an `InvalidInput` naming the series and the day.
    pub(crate) fn build(history: &'a MetricHistory, day: NaiveDate) -> Result<Self> {
        let d = day.num_days_from_ce();
        // `kept[o]` says whether offset `o` is read by the analysis.
        let required = required_days(day);
        let max_offset = required
            .iter()
            .map(|r| d - r.num_days_from_ce())
            .max()
            .unwrap_or(0);
        let mut kept = vec![false; usize::try_from(max_offset).unwrap_or(0) + 1];
        for r in &required {
            if let Ok(o) = usize::try_from(d - r.num_days_from_ce()) {
                kept[o] = true;
            }
        }

        let mut order: Vec<usize> = (0..history.series.len()).collect();
        order.sort_unstable_by(|&a, &b| history.series[a].key.cmp(&history.series[b].key));

        let estimate = history.series.len() * required.len();
        let mut cols = DayColumns {
            keys: Vec::new(),
            series: Vec::with_capacity(estimate),
            offsets: Vec::with_capacity(estimate),
            values: Vec::with_capacity(estimate),
        };
        let mut days: Vec<i32> = Vec::new();
        let mut dups = DuplicateFinder::default();
        let mut start = 0;
        while start < order.len() {
            let key = &history.series[order[start]].key;
            let mut end = start + 1;
            while end < order.len() && history.series[order[end]].key == *key {
                end += 1;
            }
            let index = u32::try_from(cols.keys.len()).map_err(|_| {
                Error::invalid_field(
                    "history",
                    format!("{} series", cols.keys.len()),
                    "at most 2^32 series",
                )
            })?;
            cols.keys.push(key);

            days.clear();
            for &i in &order[start..end] {
                for &(date, value) in &history.series[i].points {
                    if !value.is_finite() {
                        return Err(Error::invalid_field("value", value, "a finite number")
                            .context(format!("series {key} on {date}")));
                    }
                    let n = date.num_days_from_ce();
                    days.push(n);
                    let o = d - n;
                    if usize::try_from(o).is_ok_and(|o| kept.get(o).copied().unwrap_or(false)) {
                        cols.series.push(index);
                        cols.offsets.push(o);
                        cols.values.push(value);
                    }
                }
            }
            if let Some(n) = dups.find(&days) {
                let date = NaiveDate::from_num_days_from_ce_opt(n)
                    .map_or_else(|| format!("day number {n}"), |d| d.to_string());
                return Err(Error::new(
                    ErrorKind::InvalidInput,
                    format!(
                        "duplicate value for series {key} on {date}: expected at most one value per series and day"
                    ),
                ));
            }
            start = end;
        }
        Ok(cols)
    }
}

/// Finds a repeated day number in a series, in linear time for the usual dense series.
#[derive(Debug, Default)]
struct DuplicateFinder {
    bits: Vec<u64>,
    sorted: Vec<i32>,
}

impl DuplicateFinder {
    /// A day number that occurs more than once in `days`, if any.
    fn find(&mut self, days: &[i32]) -> Option<i32> {
        let (Some(&min), Some(&max)) = (days.iter().min(), days.iter().max()) else {
            return None;
        };
        let span = usize::try_from(i64::from(max) - i64::from(min) + 1).unwrap_or(usize::MAX);
        // A bitmap over the series' span costs span/8 bytes; sparse series (a few points
        // years apart) sort instead.
        if span <= 64 * days.len() + 4096 {
            self.bits.clear();
            self.bits.resize(span.div_ceil(64), 0);
            for &n in days {
                let bit = usize::try_from(n - min).unwrap_or(0);
                let (word, mask) = (bit / 64, 1u64 << (bit % 64));
                if self.bits[word] & mask != 0 {
                    return Some(n);
                }
                self.bits[word] |= mask;
            }
            None
        } else {
            self.sorted.clear();
            self.sorted.extend_from_slice(days);
            self.sorted.sort_unstable();
            self.sorted.windows(2).find(|w| w[0] == w[1]).map(|w| w[0])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_finder_dense_and_sparse() {
        let mut f = DuplicateFinder::default();
        assert_eq!(f.find(&[]), None);
        assert_eq!(f.find(&[5, 3, 4, 1]), None);
        assert_eq!(f.find(&[5, 3, 4, 3]), Some(3));
        // Sparse: span far larger than the bitmap budget.
        assert_eq!(f.find(&[0, 1_000_000, 2]), None);
        assert_eq!(f.find(&[0, 1_000_000, 2, 1_000_000]), Some(1_000_000));
        // The scratch bitmap is reset between calls.
        assert_eq!(f.find(&[5, 3, 4, 1]), None);
    }
}
