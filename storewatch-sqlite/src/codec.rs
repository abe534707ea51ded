//! How values are laid out in SQLite columns.
//!
//! - Instants are `TEXT` in one fixed-width UTC format with nanoseconds
//!   (`2026-03-01T04:00:00.000000000Z`), so they round-trip exactly, compare correctly
//!   as text (which is what the queue and lease queries do) and read well in `sqlite3`.
//! - Days are `INTEGER` days since 1970-01-01 (`date(day * 86400, 'unixepoch')` shows
//!   them), which keeps the point table and its indexes small.
//! - Durations are `INTEGER` nanoseconds.

use std::time::Duration;

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, Utc};
use storewatch_core::{Error, ErrorKind, Result};

/// 1970-01-01 as days from the common era.
const EPOCH_DAYS_FROM_CE: i32 = 719_163;

const TIME_FORMAT: &str = "%Y-%m-%dT%H:%M:%S%.9fZ";

/// An instant as stored.
pub(crate) fn time(t: DateTime<Utc>) -> String {
    t.format(TIME_FORMAT).to_string()
}

/// A stored instant back; `column` names it in the error.
pub(crate) fn parse_time(s: &str, column: &str) -> Result<DateTime<Utc>> {
    NaiveDateTime::parse_from_str(s, TIME_FORMAT)
        .map(|t| t.and_utc())
        .map_err(|e| corrupt(column, s, &e.to_string()))
}

/// An optional stored instant back.
pub(crate) fn parse_opt_time(s: Option<&str>, column: &str) -> Result<Option<DateTime<Utc>>> {
    s.map(|s| parse_time(s, column)).transpose()
}

/// A day as stored.
pub(crate) fn day(d: NaiveDate) -> i64 {
    i64::from(d.num_days_from_ce() - EPOCH_DAYS_FROM_CE)
}

/// A stored day back.
pub(crate) fn parse_day(n: i64, column: &str) -> Result<NaiveDate> {
    i32::try_from(n)
        .ok()
        .and_then(|n| n.checked_add(EPOCH_DAYS_FROM_CE))
        .and_then(NaiveDate::from_num_days_from_ce_opt)
        .ok_or_else(|| corrupt(column, n, "a day number"))
}

/// A duration as stored; `field` names it when it does not fit.
pub(crate) fn duration(d: Duration, field: &str) -> Result<i64> {
    i64::try_from(d.as_nanos())
        .map_err(|_| Error::invalid_field(field, d, "a duration shorter than 292 years"))
}

/// A stored duration back.
pub(crate) fn parse_duration(n: i64, column: &str) -> Result<Duration> {
    u64::try_from(n)
        .map(Duration::from_nanos)
        .map_err(|_| corrupt(column, n, "a non-negative duration"))
}

/// `start + d` as an instant, or `InvalidInput` naming `field` when it overflows.
pub(crate) fn add(start: DateTime<Utc>, d: Duration, field: &str) -> Result<DateTime<Utc>> {
    chrono::Duration::from_std(d)
        .ok()
        .and_then(|d| start.checked_add_signed(d))
        .ok_or_else(|| Error::invalid_field(field, d, "a duration that ends before year 262143"))
}

/// A stored count back as `u32`.
pub(crate) fn count(n: i64, column: &str) -> Result<u32> {
    u32::try_from(n).map_err(|_| corrupt(column, n, "a count from 0 to 4294967295"))
}

/// A stored value that does not decode: the file was changed outside storewatch.
pub(crate) fn corrupt(column: &str, value: impl std::fmt::Debug, expected: &str) -> Error {
    Error::new(
        ErrorKind::Storage,
        format!("stored {column} {value:?} is unreadable: expected {expected}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_round_trip_exactly_and_sort_as_text() {
        let a: DateTime<Utc> = "2026-03-29T01:59:59.123456789Z".parse().unwrap();
        let b: DateTime<Utc> = "2026-03-29T02:00:00Z".parse().unwrap();
        assert_eq!(parse_time(&time(a), "t").unwrap(), a);
        assert_eq!(time(b), "2026-03-29T02:00:00.000000000Z");
        assert!(time(a) < time(b));
        let err = parse_time("yesterday", "executions.run_after").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Storage);
        assert!(err.message().contains("executions.run_after"), "{err}");
    }

    #[test]
    fn days_are_unix_day_numbers() {
        let d = NaiveDate::from_ymd_opt(1970, 1, 2).unwrap();
        assert_eq!(day(d), 1);
        let d = NaiveDate::from_ymd_opt(2026, 3, 1).unwrap();
        assert_eq!(parse_day(day(d), "day").unwrap(), d);
        assert!(parse_day(i64::MAX, "day").is_err());
    }

    #[test]
    fn durations_round_trip() {
        let d = Duration::new(1800, 5);
        assert_eq!(
            parse_duration(duration(d, "timeout").unwrap(), "t").unwrap(),
            d
        );
        let err = duration(Duration::MAX, "timeout").unwrap_err();
        assert!(err.message().contains("timeout"));
        assert!(parse_duration(-1, "t").is_err());
    }
}
