//! [`DayColumns`]: a [`MetricHistory`] validated and flattened into three columns for the
//! analysis of one day — series index, day offset and value — keeping only the days the
//! analysis reads.

use std::ops::Range;

use chrono::{Datelike, NaiveDate};
use rayon::prelude::*;

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
        // One group per distinct key: a range of `order`.
        let mut keys = Vec::new();
        let mut groups = Vec::new();
        let mut start = 0;
        while start < order.len() {
            let key = &history.series[order[start]].key;
            let mut end = start + 1;
            while end < order.len() && history.series[order[end]].key == *key {
                end += 1;
            }
            keys.push(key);
            groups.push(start..end);
            start = end;
        }
        if u32::try_from(keys.len()).is_err() {
            return Err(Error::invalid_field(
                "history",
                format!("{} series", keys.len()),
                "at most 2^32 series",
            ));
        }

        // Validation dominates the cost of the whole analysis, so chunks of series are
        // scanned in parallel and concatenated in order; the first error in key order
        // wins, whatever the scheduling.
        let scan = Scan {
            history,
            order: &order,
            d,
            kept: &kept,
        };
        let chunk = groups
            .len()
            .div_ceil(rayon::current_num_threads() * 8)
            .max(64);
        let parts: Vec<Result<Part>> = groups
            .par_chunks(chunk)
            .enumerate()
            .map(|(c, ranges)| scan.chunk(c * chunk, ranges, &keys))
            .collect();
        let mut cols = DayColumns {
            keys,
            series: Vec::new(),
            offsets: Vec::new(),
            values: Vec::new(),
        };
        let rows = parts
            .iter()
            .map(|p| p.as_ref().map_or(0, |p| p.series.len()))
            .sum();
        cols.series.reserve_exact(rows);
        cols.offsets.reserve_exact(rows);
        cols.values.reserve_exact(rows);
        for part in parts {
            let part = part?;
            cols.series.extend_from_slice(&part.series);
            cols.offsets.extend_from_slice(&part.offsets);
            cols.values.extend_from_slice(&part.values);
        }
        Ok(cols)
    }
}

/// What scanning needs to know, shared by the parallel chunks.
struct Scan<'h, 'o> {
    history: &'h MetricHistory,
    /// Indices of `history.series` in key order.
    order: &'o [usize],
    /// D as a day number.
    d: i32,
    /// Whether each offset is read by the analysis.
    kept: &'o [bool],
}

/// The kept rows of a run of consecutive series.
#[derive(Default)]
struct Part {
    series: Vec<u32>,
    offsets: Vec<i32>,
    values: Vec<f64>,
}

impl Scan<'_, '_> {
    /// Validates the series of `ranges` (groups `first`, `first + 1`, …) and keeps the
    /// rows the analysis reads.
    fn chunk(&self, first: usize, ranges: &[Range<usize>], keys: &[&SeriesKey]) -> Result<Part> {
        let mut part = Part::default();
        let mut days: Vec<i32> = Vec::new();
        let mut day_numbers = DayNumbers::default();
        let mut dups = DuplicateFinder::default();
        for (g, range) in ranges.iter().enumerate() {
            let key = keys[first + g];
            // Checked against 2^32 series above.
            let index = u32::try_from(first + g).unwrap_or(u32::MAX);
            days.clear();
            for &i in &self.order[range.clone()] {
                for &(date, value) in &self.history.series[i].points {
                    if !value.is_finite() {
                        return Err(Error::invalid_field("value", value, "a finite number")
                            .context(format!("series {key} on {date}")));
                    }
                    let n = day_numbers.of(date);
                    days.push(n);
                    let o = self.d - n;
                    if usize::try_from(o).is_ok_and(|o| self.kept.get(o).copied().unwrap_or(false))
                    {
                        part.series.push(index);
                        part.offsets.push(o);
                        part.values.push(value);
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
        }
        Ok(part)
    }
}

/// `NaiveDate::num_days_from_ce` with the year's part cached: a series' points share a
/// year or two, and the full conversion is the most expensive step per point.
#[derive(Default)]
struct DayNumbers {
    year: Option<i32>,
    /// Day number of the cached year's day 0 (the day before 1 January).
    base: i32,
}

impl DayNumbers {
    fn of(&mut self, date: NaiveDate) -> i32 {
        let year = date.year();
        if self.year != Some(year) {
            self.year = Some(year);
            self.base = date.num_days_from_ce() - i32::try_from(date.ordinal()).unwrap_or(0);
        }
        self.base + i32::try_from(date.ordinal()).unwrap_or(0)
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
