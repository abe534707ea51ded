//! [`Schedule`]: when a task runs, in which time zone, with which retry and timeout policy.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use chrono::Weekday;
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::app::validate_name;
use super::{AppId, Record, ScheduleId, Spec};
use crate::{Error, Result};

/// What an execution does (DESIGN §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Task {
    /// Collect the target day (and missing and restated days) from the providers.
    DataCollection,
    /// Collection, then alert check, then the daily reports.
    FullAnalysis,
    /// Analyse the target day, evaluate the rules, send alert cards.
    AlertCheck,
}

impl Task {
    /// `data-collection`, `full-analysis` or `alert-check`.
    pub fn as_str(self) -> &'static str {
        match self {
            Task::DataCollection => "data-collection",
            Task::FullAnalysis => "full-analysis",
            Task::AlertCheck => "alert-check",
        }
    }
}

impl fmt::Display for Task {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Task {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().replace('_', "-").as_str() {
            "data-collection" => Ok(Task::DataCollection),
            "full-analysis" => Ok(Task::FullAnalysis),
            "alert-check" => Ok(Task::AlertCheck),
            _ => Err(Error::invalid_field(
                "task",
                s,
                "one of data-collection, full-analysis, alert-check",
            )),
        }
    }
}

/// How often a schedule fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "every", rename_all = "lowercase", deny_unknown_fields)]
pub enum Frequency {
    /// Every day.
    Daily,
    /// Every week on `weekday`.
    Weekly {
        /// The day of the week.
        #[serde(with = "weekday_number")]
        weekday: Weekday,
    },
    /// Every month on `day`; 29–31 fall on the month's last day when it is shorter.
    Monthly {
        /// Day of the month, 1–31.
        day: u8,
    },
}

impl Frequency {
    /// Weekly on ISO weekday `n` (1 = Monday … 7 = Sunday).
    pub fn weekly(n: u8) -> Result<Self> {
        weekday_from_number(n).map(|weekday| Frequency::Weekly { weekday })
    }

    /// Monthly on day `day` (1–31).
    pub fn monthly(day: u8) -> Result<Self> {
        let f = Frequency::Monthly { day };
        f.validate()?;
        Ok(f)
    }

    /// Checks the day of the month.
    pub fn validate(&self) -> Result<()> {
        match *self {
            Frequency::Monthly { day } if !(1..=31).contains(&day) => Err(Error::invalid_field(
                "day",
                day,
                "a day of the month from 1 to 31",
            )),
            _ => Ok(()),
        }
    }
}

fn weekday_from_number(n: u8) -> Result<Weekday> {
    match n {
        1..=7 => Ok(Weekday::try_from(n - 1).map_err(|_| Error::internal("weekday out of range"))?),
        _ => Err(Error::invalid_field(
            "weekday",
            n,
            "an ISO weekday from 1 (Monday) to 7 (Sunday)",
        )),
    }
}

mod weekday_number {
    use chrono::Weekday;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(w: &Weekday, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u8(w.number_from_monday() as u8)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Weekday, D::Error> {
        let n = u8::deserialize(d)?;
        super::weekday_from_number(n).map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for Frequency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Frequency::Daily => f.write_str("daily"),
            Frequency::Weekly { weekday } => write!(f, "weekly on {weekday}"),
            Frequency::Monthly { day } => write!(f, "monthly on day {day}"),
        }
    }
}

/// Parses an IANA time zone name such as `Europe/Berlin`.
pub fn parse_timezone(s: &str) -> Result<Tz> {
    s.parse::<Tz>().map_err(|_| {
        Error::invalid_field(
            "timezone",
            s,
            "an IANA time zone name like \"Europe/Berlin\"",
        )
    })
}

/// A schedule; stored as a [`Schedule`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleSpec {
    /// Display name, unique.
    pub name: String,
    /// What runs.
    pub task: Task,
    /// One app, or `None` for every active app.
    #[serde(default)]
    pub app_id: Option<AppId>,
    /// How often.
    pub frequency: Frequency,
    /// Hour of day (0–23) in `timezone`.
    pub hour: u8,
    /// Minute (0–59).
    pub minute: u8,
    /// IANA time zone of `hour:minute`.
    pub timezone: Tz,
    /// Inactive schedules do not fire.
    #[serde(default = "super::app::yes")]
    pub is_active: bool,
    /// Run without sending any message.
    #[serde(default)]
    pub skip_notifications: bool,
    /// Retries after a failure (0 = none).
    #[serde(default = "default_max_retries")]
    pub max_retries: u32,
    /// A run taking longer is cancelled and marked `Timeout`.
    #[serde(with = "super::durations", default = "default_timeout")]
    pub timeout: Duration,
    /// A slot missed by more than this is recorded as skipped, not run.
    #[serde(with = "super::durations", default = "default_misfire_grace")]
    pub misfire_grace: Duration,
    /// The target day is today − this many days in `timezone` (1 = yesterday).
    #[serde(default = "default_offset")]
    pub target_offset_days: u32,
}

fn default_max_retries() -> u32 {
    3
}
fn default_timeout() -> Duration {
    Duration::from_secs(30 * 60)
}
fn default_misfire_grace() -> Duration {
    Duration::from_secs(60 * 60)
}
fn default_offset() -> u32 {
    1
}

impl ScheduleSpec {
    /// A schedule with the defaults: active, 3 retries, 30 min timeout, 1 h misfire
    /// grace, yesterday as the target day.
    pub fn new(
        name: impl Into<String>,
        task: Task,
        frequency: Frequency,
        hour: u8,
        minute: u8,
        timezone: &str,
    ) -> Result<Self> {
        let spec = ScheduleSpec {
            name: name.into(),
            task,
            app_id: None,
            frequency,
            hour,
            minute,
            timezone: parse_timezone(timezone)?,
            is_active: true,
            skip_notifications: false,
            max_retries: default_max_retries(),
            timeout: default_timeout(),
            misfire_grace: default_misfire_grace(),
            target_offset_days: default_offset(),
        };
        spec.validate()?;
        Ok(spec)
    }
}

impl Spec for ScheduleSpec {
    type Id = ScheduleId;
    const KIND: &'static str = "schedule";

    fn validate(&self) -> Result<()> {
        validate_name("name", &self.name)?;
        if self.hour > 23 {
            return Err(Error::invalid_field(
                "hour",
                self.hour,
                "an hour from 0 to 23",
            ));
        }
        if self.minute > 59 {
            return Err(Error::invalid_field(
                "minute",
                self.minute,
                "a minute from 0 to 59",
            ));
        }
        self.frequency.validate()?;
        if self.timeout.is_zero() {
            return Err(Error::invalid_field(
                "timeout",
                self.timeout.as_secs(),
                "at least 1 second",
            ));
        }
        if self.target_offset_days > 366 {
            return Err(Error::invalid_field(
                "target_offset_days",
                self.target_offset_days,
                "at most 366 days",
            ));
        }
        Ok(())
    }
}

/// A stored schedule.
pub type Schedule = Record<ScheduleSpec>;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    fn named(err: Error, field: &str, value: &str) {
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert!(
            err.message().contains(field) && err.message().contains(value),
            "{err}"
        );
    }

    #[test]
    fn bad_values_name_field_and_value() {
        named(
            ScheduleSpec::new("s", Task::AlertCheck, Frequency::Daily, 24, 0, "UTC").unwrap_err(),
            "hour",
            "24",
        );
        named(
            ScheduleSpec::new("s", Task::AlertCheck, Frequency::Daily, 1, 60, "UTC").unwrap_err(),
            "minute",
            "60",
        );
        named(
            ScheduleSpec::new(
                "s",
                Task::AlertCheck,
                Frequency::Daily,
                1,
                0,
                "Mars/Olympus",
            )
            .unwrap_err(),
            "timezone",
            "Mars/Olympus",
        );
        named(Frequency::weekly(8).unwrap_err(), "weekday", "8");
        named(Frequency::weekly(0).unwrap_err(), "weekday", "0");
        named(Frequency::monthly(0).unwrap_err(), "day", "0");
        named(Frequency::monthly(32).unwrap_err(), "day", "32");
        assert_eq!(
            Frequency::weekly(1).unwrap(),
            Frequency::Weekly {
                weekday: Weekday::Mon
            }
        );
        assert_eq!(
            Frequency::weekly(7).unwrap(),
            Frequency::Weekly {
                weekday: Weekday::Sun
            }
        );
    }

    #[test]
    fn serde_validates_weekday_and_round_trips() {
        let spec = ScheduleSpec::new(
            "s",
            Task::FullAnalysis,
            Frequency::weekly(3).unwrap(),
            6,
            30,
            "Europe/Berlin",
        )
        .unwrap();
        let json = serde_json::to_value(&spec).unwrap();
        assert_eq!(
            json["frequency"],
            serde_json::json!({"every": "weekly", "weekday": 3})
        );
        assert_eq!(serde_json::from_value::<ScheduleSpec>(json).unwrap(), spec);
        let bad = serde_json::json!({"every": "weekly", "weekday": 8});
        assert!(
            serde_json::from_value::<Frequency>(bad)
                .unwrap_err()
                .to_string()
                .contains("weekday")
        );
    }

    #[test]
    fn task_names() {
        for t in [Task::DataCollection, Task::FullAnalysis, Task::AlertCheck] {
            assert_eq!(t.to_string().parse::<Task>().unwrap(), t);
        }
        assert!("backup".parse::<Task>().is_err());
    }
}
