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
        let mut day_numbers = DayNumbers::default();
        let mut seen = SeenDays::default();
        for (g, range) in ranges.iter().enumerate() {
            let key = keys[first + g];
            // Checked against 2^32 series above.
            let index = u32::try_from(first + g).unwrap_or(u32::MAX);
            seen.clear();
            for &i in &self.order[range.clone()] {
                for &(date, value) in &self.history.series[i].points {
                    if !value.is_finite() {
                        return Err(Error::invalid_field("value", value, "a finite number")
                            .context(format!("series {key} on {date}")));
                    }
                    let o = self.d - day_numbers.of(date);
                    if !seen.insert(o) {
                        return Err(duplicate_error(key, date));
                    }
                    if usize::try_from(o).is_ok_and(|o| self.kept.get(o).copied().unwrap_or(false))
                    {
                        part.series.push(index);
                        part.offsets.push(o);
                        part.values.push(value);
                    }
                }
            }
            if let Some(date) = seen
                .far_duplicate()
                .and_then(|o| NaiveDate::from_num_days_from_ce_opt(self.d - o))
            {
                return Err(duplicate_error(key, date));
            }
        }
        Ok(part)
    }
}

fn duplicate_error(key: &SeriesKey, date: NaiveDate) -> Error {
    Error::new(
        ErrorKind::InvalidInput,
        format!(
            "duplicate value for series {key} on {date}: expected at most one value per series and day"
        ),
    )
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

/// The days seen in one series, to find a repeated one in a single pass: a bitmap over
/// the offsets around D where real histories live, and a list, checked at the end, for
/// the rare points far from D.
#[derive(Debug)]
struct SeenDays {
    bits: Vec<u64>,
    far: Vec<i32>,
}

/// Offsets in `NEAR_FIRST..NEAR_FIRST + NEAR_LEN` (about 11 years before D to 2 years
/// after) go to the bitmap.
const NEAR_FIRST: i32 = -1024;
const NEAR_LEN: usize = 64 * 64;

impl Default for SeenDays {
    fn default() -> Self {
        SeenDays {
            bits: vec![0; NEAR_LEN / 64],
            far: Vec::new(),
        }
    }
}

impl SeenDays {
    fn clear(&mut self) {
        self.bits.fill(0);
        self.far.clear();
    }

    /// Records offset `o`; `false` when it was already recorded in the bitmap. Far
    /// offsets are only checked by [`SeenDays::far_duplicate`].
    fn insert(&mut self, o: i32) -> bool {
        match usize::try_from(i64::from(o) - i64::from(NEAR_FIRST)) {
            Ok(bit) if bit < NEAR_LEN => {
                let (word, mask) = (bit / 64, 1u64 << (bit % 64));
                let fresh = self.bits[word] & mask == 0;
                self.bits[word] |= mask;
                fresh
            }
            _ => {
                self.far.push(o);
                true
            }
        }
    }

    /// A far offset recorded more than once, if any.
    fn far_duplicate(&mut self) -> Option<i32> {
        self.far.sort_unstable();
        self.far.windows(2).find(|w| w[0] == w[1]).map(|w| w[0])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seen_days_near_and_far() {
        let mut seen = SeenDays::default();
        for o in [0, 1, 364, -3, NEAR_FIRST, NEAR_FIRST + NEAR_LEN as i32 - 1] {
            assert!(seen.insert(o), "{o}");
        }
        assert!(!seen.insert(364));
        assert!(!seen.insert(NEAR_FIRST));
        // Far offsets, before and after the bitmap.
        for o in [100_000, NEAR_FIRST - 1, NEAR_FIRST + NEAR_LEN as i32] {
            assert!(seen.insert(o));
        }
        assert_eq!(seen.far_duplicate(), None);
        assert!(seen.insert(100_000));
        assert_eq!(seen.far_duplicate(), Some(100_000));
        // Cleared between series.
        seen.clear();
        assert!(seen.insert(364));
        assert!(seen.insert(100_000));
        assert_eq!(seen.far_duplicate(), None);
    }
}
