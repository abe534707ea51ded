//! When a schedule fires: its slots in its own time zone, DST-correct (DESIGN §7).
//!
//! A slot is the instant the wall time `hour:minute` of a firing day reaches in the
//! schedule's zone. A wall time skipped by a spring-forward transition fires at the
//! transition (the next valid instant); a wall time that happens twice in a fall-back
//! transition fires once, at the earlier instant. Monthly days 29–31 fall on the last
//! day of shorter months.

use chrono::{
    DateTime, Datelike, Days, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc,
};
use chrono_tz::Tz;

use crate::model::{Frequency, ScheduleSpec};

/// The first slot of `schedule` strictly after `after`.
///
/// Returns [`DateTime::<Utc>::MAX_UTC`] when the calendar has no later slot (only at
/// the end of chrono's date range).
///
/// ```
/// use storewatch_core::model::{Frequency, ScheduleSpec, Task};
/// use storewatch_core::schedule::next_fire;
///
/// let s = ScheduleSpec::new("daily", Task::AlertCheck, Frequency::Daily, 2, 30, "Europe/Berlin")
///     .unwrap();
/// // 02:30 does not exist on 2026-03-29 in Berlin: the slot is 03:00 CEST.
/// let after = "2026-03-28T12:00:00Z".parse().unwrap();
/// assert_eq!(next_fire(&s, after).to_rfc3339(), "2026-03-29T01:00:00+00:00");
/// ```
pub fn next_fire(schedule: &ScheduleSpec, after: DateTime<Utc>) -> DateTime<Utc> {
    let tz = schedule.timezone;
    // A slot lies on its firing day's local date or, pushed by a gap, a little later, so
    // starting a day before `after`'s local date finds every candidate.
    let mut day = after.with_timezone(&tz).date_naive().pred_opt();
    // Each firing day's slot is later than the previous one's, so a handful of steps
    // suffices; the bound only guards against the end of chrono's range.
    for _ in 0..8 {
        let Some(from) = day else { break };
        let Some(fire_day) = fire_day_on_or_after(schedule.frequency, from) else {
            break;
        };
        let Some(slot) = slot_on(schedule, fire_day) else {
            break;
        };
        if slot > after {
            return slot;
        }
        day = fire_day.succ_opt();
    }
    DateTime::<Utc>::MAX_UTC
}

/// The latest slot of `schedule` at or before `t`; `None` only at the start of chrono's
/// date range.
pub fn latest_slot_at_or_before(
    schedule: &ScheduleSpec,
    t: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let tz = schedule.timezone;
    let mut day = t.with_timezone(&tz).date_naive().succ_opt();
    for _ in 0..8 {
        let fire_day = fire_day_on_or_before(schedule.frequency, day?)?;
        let slot = slot_on(schedule, fire_day)?;
        if slot <= t {
            return Some(slot);
        }
        day = fire_day.pred_opt();
    }
    None
}

/// The reporting day of the slot `slot`: its local date in the schedule's zone minus
/// `target_offset_days`.
pub fn target_date(schedule: &ScheduleSpec, slot: DateTime<Utc>) -> NaiveDate {
    let local = slot.with_timezone(&schedule.timezone).date_naive();
    local
        .checked_sub_days(Days::new(u64::from(schedule.target_offset_days)))
        .unwrap_or(local)
}

/// The slot of `schedule` on local date `day` (which must be a firing day).
fn slot_on(schedule: &ScheduleSpec, day: NaiveDate) -> Option<DateTime<Utc>> {
    let time = NaiveTime::from_hms_opt(u32::from(schedule.hour), u32::from(schedule.minute), 0)?;
    resolve_wall_time(schedule.timezone, day.and_time(time))
}

/// The instant wall time `wall` happens in `tz`: the earlier one when it happens twice,
/// the end of the gap when it does not happen at all.
pub(crate) fn resolve_wall_time(tz: Tz, wall: NaiveDateTime) -> Option<DateTime<Utc>> {
    match tz.from_local_datetime(&wall) {
        LocalResult::Single(t) => Some(t.with_timezone(&Utc)),
        LocalResult::Ambiguous(a, b) => Some(a.min(b).with_timezone(&Utc)),
        LocalResult::None => gap_end(tz, wall),
    }
}

/// The first instant whose wall time in `tz` is at or past `wall`, for a `wall` inside a
/// gap: the transition that skipped it.
fn gap_end(tz: Tz, wall: NaiveDateTime) -> Option<DateTime<Utc>> {
    // UTC offsets lie within ±26 h, so the wall time at `lo` is before `wall` and at
    // `hi` after it; bisect to the second (transitions fall on whole seconds).
    let naive_utc = wall.and_utc().timestamp();
    let (mut lo, mut hi) = (naive_utc - 26 * 3600, naive_utc + 26 * 3600);
    let reached = |secs: i64| {
        DateTime::from_timestamp(secs, 0).map(|t| t.with_timezone(&tz).naive_local() >= wall)
    };
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if reached(mid)? {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    DateTime::from_timestamp(hi, 0)
}

/// The day a monthly schedule on day `d` fires in a month: `d`, or the month's last day.
fn monthly_day(d: u8, year: i32, month: u32) -> u32 {
    u32::from(d).clamp(1, days_in_month(year, month))
}

fn days_in_month(year: i32, month: u32) -> u32 {
    let first = NaiveDate::from_ymd_opt(year, month, 1);
    let next = if month == 12 {
        NaiveDate::from_ymd_opt(year + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(year, month + 1, 1)
    };
    match (first, next) {
        (Some(a), Some(b)) => u32::try_from((b - a).num_days()).unwrap_or(31),
        _ => 31,
    }
}

/// The first firing day on or after `day`.
fn fire_day_on_or_after(frequency: Frequency, day: NaiveDate) -> Option<NaiveDate> {
    match frequency {
        Frequency::Daily => Some(day),
        Frequency::Weekly { weekday } => {
            let ahead =
                (7 + weekday.num_days_from_monday() - day.weekday().num_days_from_monday()) % 7;
            day.checked_add_days(Days::new(u64::from(ahead)))
        }
        Frequency::Monthly { day: d } => {
            let this = NaiveDate::from_ymd_opt(
                day.year(),
                day.month(),
                monthly_day(d, day.year(), day.month()),
            )?;
            if this >= day {
                return Some(this);
            }
            let (y, m) = if day.month() == 12 {
                (day.year() + 1, 1)
            } else {
                (day.year(), day.month() + 1)
            };
            NaiveDate::from_ymd_opt(y, m, monthly_day(d, y, m))
        }
    }
}

/// The last firing day on or before `day`.
fn fire_day_on_or_before(frequency: Frequency, day: NaiveDate) -> Option<NaiveDate> {
    match frequency {
        Frequency::Daily => Some(day),
        Frequency::Weekly { weekday } => {
            let back =
                (7 + day.weekday().num_days_from_monday() - weekday.num_days_from_monday()) % 7;
            day.checked_sub_days(Days::new(u64::from(back)))
        }
        Frequency::Monthly { day: d } => {
            let this = NaiveDate::from_ymd_opt(
                day.year(),
                day.month(),
                monthly_day(d, day.year(), day.month()),
            )?;
            if this <= day {
                return Some(this);
            }
            let (y, m) = if day.month() == 1 {
                (day.year() - 1, 12)
            } else {
                (day.year(), day.month() - 1)
            };
            NaiveDate::from_ymd_opt(y, m, monthly_day(d, y, m))
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, Weekday};
    use proptest::prelude::*;

    use super::*;
    use crate::model::Task;

    fn spec(frequency: Frequency, hour: u8, minute: u8, tz: &str) -> ScheduleSpec {
        ScheduleSpec::new("s", Task::FullAnalysis, frequency, hour, minute, tz).unwrap()
    }

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn fires(s: &ScheduleSpec, from: &str, n: usize) -> Vec<String> {
        let mut t = utc(from);
        (0..n)
            .map(|_| {
                t = next_fire(s, t);
                t.to_rfc3339()
            })
            .collect()
    }

    #[test]
    fn spring_forward_fires_once_at_the_end_of_the_gap() {
        let s = spec(Frequency::Daily, 2, 30, "Europe/Berlin");
        assert_eq!(
            fires(&s, "2026-03-27T12:00:00Z", 3),
            [
                "2026-03-28T01:30:00+00:00", // 02:30 CET
                "2026-03-29T01:00:00+00:00", // 02:30 does not exist: 03:00 CEST
                "2026-03-30T00:30:00+00:00", // 02:30 CEST
            ]
        );
        let slot = utc("2026-03-29T01:00:00Z");
        assert_eq!(
            slot.with_timezone(&s.timezone).naive_local().to_string(),
            "2026-03-29 03:00:00"
        );
        assert_eq!(latest_slot_at_or_before(&s, slot), Some(slot));
        assert_eq!(
            latest_slot_at_or_before(&s, slot - Duration::seconds(1)),
            Some(utc("2026-03-28T01:30:00Z"))
        );
    }

    #[test]
    fn fall_back_fires_once_at_the_earlier_instant() {
        let s = spec(Frequency::Daily, 1, 30, "America/New_York");
        assert_eq!(
            fires(&s, "2026-10-31T12:00:00Z", 2),
            [
                "2026-11-01T05:30:00+00:00", // 01:30 EDT, not 01:30 EST at 06:30Z
                "2026-11-02T06:30:00+00:00",
            ]
        );
        // Between the two 01:30s the latest slot is still the first one.
        assert_eq!(
            latest_slot_at_or_before(&s, utc("2026-11-01T06:45:00Z")),
            Some(utc("2026-11-01T05:30:00Z"))
        );
    }

    #[test]
    fn monthly_late_days_fall_on_the_last_day_of_short_months() {
        let s = spec(Frequency::monthly(31).unwrap(), 9, 0, "UTC");
        assert_eq!(
            fires(&s, "2027-01-31T09:00:00Z", 3),
            [
                "2027-02-28T09:00:00+00:00",
                "2027-03-31T09:00:00+00:00",
                "2027-04-30T09:00:00+00:00",
            ]
        );
        assert_eq!(
            fires(&s, "2028-01-31T09:00:00Z", 1),
            ["2028-02-29T09:00:00+00:00"]
        );
        let s29 = spec(Frequency::monthly(29).unwrap(), 9, 0, "UTC");
        assert_eq!(
            fires(&s29, "2027-02-01T00:00:00Z", 2),
            ["2027-02-28T09:00:00+00:00", "2027-03-29T09:00:00+00:00"]
        );
    }

    #[test]
    fn weekly_fires_on_its_weekday_in_its_zone() {
        let s = spec(
            Frequency::Weekly {
                weekday: Weekday::Mon,
            },
            6,
            0,
            "Asia/Tokyo",
        );
        // Monday 06:00 in Tokyo is Sunday 21:00 UTC.
        assert_eq!(
            fires(&s, "2026-06-01T00:00:00Z", 2),
            ["2026-06-07T21:00:00+00:00", "2026-06-14T21:00:00+00:00"]
        );
    }

    #[test]
    fn target_date_is_the_local_slot_date_minus_the_offset() {
        let mut s = spec(Frequency::Daily, 0, 30, "Asia/Tokyo");
        let slot = next_fire(&s, utc("2026-06-01T00:00:00Z"));
        // 00:30 on June 2 in Tokyo is still June 1 in UTC.
        assert_eq!(slot, utc("2026-06-01T15:30:00Z"));
        assert_eq!(target_date(&s, slot).to_string(), "2026-06-01");
        s.target_offset_days = 0;
        assert_eq!(target_date(&s, slot).to_string(), "2026-06-02");
    }

    /// The slots in `(from, to]` by brute force: walk UTC minute by minute and fire
    /// whenever the wall clock newly covers a firing day's `hour:minute` — the first time
    /// it is reached, or jumped over by a gap.
    fn brute_force(s: &ScheduleSpec, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<DateTime<Utc>> {
        let tz = s.timezone;
        let time = NaiveTime::from_hms_opt(u32::from(s.hour), u32::from(s.minute), 0).unwrap();
        let mut seen = from.with_timezone(&tz).naive_local();
        let mut out = Vec::new();
        let mut t = from;
        while t < to {
            t += Duration::minutes(1);
            let wall = t.with_timezone(&tz).naive_local();
            if wall > seen {
                let mut day = seen.date();
                let covered = loop {
                    let candidate = day.and_time(time);
                    if fires_on_by_definition(s.frequency, day)
                        && candidate > seen
                        && candidate <= wall
                    {
                        break true;
                    }
                    if day >= wall.date() {
                        break false;
                    }
                    day = day.succ_opt().unwrap();
                };
                if covered {
                    out.push(t);
                }
                seen = wall;
            }
        }
        out
    }

    /// Firing days straight from the rules, independent of the stepping helpers above.
    fn fires_on_by_definition(f: Frequency, day: NaiveDate) -> bool {
        match f {
            Frequency::Daily => true,
            Frequency::Weekly { weekday } => day.weekday() == weekday,
            Frequency::Monthly { day: d } => {
                let last = (28..=31)
                    .rev()
                    .find(|n| NaiveDate::from_ymd_opt(day.year(), day.month(), *n).is_some())
                    .unwrap();
                day.day() == u32::from(d).min(last)
            }
        }
    }

    const ZONES: &[&str] = &[
        "UTC",
        "Europe/Berlin",
        "America/New_York",
        "America/Sao_Paulo",
        "Australia/Lord_Howe",
        "Australia/Sydney",
        "Asia/Kolkata",
        "Asia/Tokyo",
        "Pacific/Chatham",
        "America/Santiago",
        "Europe/London",
        "Africa/Casablanca",
        "Pacific/Apia",
        "Asia/Tehran",
    ];

    fn frequency() -> impl Strategy<Value = Frequency> {
        prop_oneof![
            Just(Frequency::Daily),
            (1u8..=7).prop_map(|n| Frequency::weekly(n).unwrap()),
            (1u8..=31).prop_map(|d| Frequency::monthly(d).unwrap()),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(20))]

        #[test]
        fn next_fire_matches_a_minute_by_minute_scan(
            freq in frequency(),
            // Hours around the usual transition times show up more often.
            hour in prop_oneof![0u8..=3, 0u8..=23],
            minute in prop_oneof![Just(0u8), Just(30u8), 0u8..=59],
            zone in 0..ZONES.len(),
            start_days in 0i64..(40 * 365),
        ) {
            let s = spec(freq, hour, minute, ZONES[zone]);
            let from = utc("2000-01-01T00:00:00Z") + Duration::days(start_days)
                + Duration::minutes(start_days * 37 % 1440);
            let to = from + Duration::days(365);
            let expected = brute_force(&s, from, to);
            let mut got = Vec::new();
            let mut t = from;
            loop {
                let next = next_fire(&s, t);
                prop_assert!(next > t, "next_fire({t}) = {next} is not after it");
                if next > to {
                    break;
                }
                prop_assert_eq!(latest_slot_at_or_before(&s, next), Some(next));
                prop_assert_eq!(
                    latest_slot_at_or_before(&s, next - Duration::seconds(1)),
                    got.last().copied().or_else(|| latest_slot_at_or_before(&s, from))
                        .filter(|p| *p < next)
                );
                got.push(next);
                t = next;
            }
            prop_assert_eq!(got, expected, "{:?} in {}", freq, ZONES[zone]);
        }
    }
}
