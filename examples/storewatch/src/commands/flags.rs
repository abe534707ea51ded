//! Parsing flag values into model types: enums whose values `--help` lists, times of
//! day, weekdays, durations, `none` to clear an optional field, files and secrets.
//!
//! Parsers given to clap return storewatch errors; clap prefixes them with the flag and
//! the value (`invalid value '25:00' for '--at <HH:MM>': …`).

use std::convert::Infallible;
use std::io::Read as _;
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use chrono::Weekday;
use secrecy::SecretString;
use storewatch_core::model::{AbsOp, Direction, Frequency, Platform, Severity, Task, Window};
use storewatch_core::{Error, ErrorKind, Result};

/// A clap value enum standing for a model enum, so `--help` lists the values.
macro_rules! value_enum {
    ($(#[$doc:meta])* $name:ident => $model:ty {
        $($(#[$vmeta:meta])* $variant:ident => $target:expr),+ $(,)?
    }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
        pub(crate) enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl From<$name> for $model {
            fn from(v: $name) -> $model {
                match v {
                    $($name::$variant => $target),+
                }
            }
        }
    };
}

value_enum!(
    /// `--platform`.
    PlatformArg => Platform {
        /// Apple App Store.
        Ios => Platform::Ios,
        /// Google Play.
        Android => Platform::Android,
    }
);

value_enum!(
    /// `--task`.
    TaskArg => Task {
        /// Collect the target day (and missing days) from the stores.
        DataCollection => Task::DataCollection,
        /// Collection, then the alert check, then the daily reports.
        FullAnalysis => Task::FullAnalysis,
        /// Analyse the target day, evaluate the rules, send alert cards.
        AlertCheck => Task::AlertCheck,
    }
);

value_enum!(
    /// `--severity`.
    SeverityArg => Severity {
        /// For information.
        Info => Severity::Info,
        /// Someone should look.
        Warning => Severity::Warning,
        /// Someone must act now.
        Critical => Severity::Critical,
    }
);

value_enum!(
    /// `--window`.
    WindowArg => Window {
        /// Day over day (D-1).
        Dod => Window::Dod,
        /// Week over week (D-7).
        Wow => Window::Wow,
        /// Year over year (D-364, the same weekday).
        Yoy => Window::Yoy,
    }
);

value_enum!(
    /// `--direction`.
    DirectionArg => Direction {
        /// Only increases count.
        Up => Direction::Up,
        /// Only decreases count.
        Down => Direction::Down,
        /// Either way counts.
        #[value(alias = "either")]
        Any => Direction::Either,
    }
);

value_enum!(
    /// `--op`.
    OpArg => AbsOp {
        /// Breached when the value is above `--value`.
        Above => AbsOp::Above,
        /// Breached when the value is below `--value`.
        Below => AbsOp::Below,
    }
);

/// A value, or `none` to clear an optional field.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct OrNone<T>(pub(crate) Option<T>);

impl<T: FromStr> FromStr for OrNone<T> {
    type Err = T::Err;

    fn from_str(s: &str) -> std::result::Result<Self, T::Err> {
        if s == "none" {
            Ok(OrNone(None))
        } else {
            s.parse().map(|v| OrNone(Some(v)))
        }
    }
}

/// `--at HH:MM`: hour and minute of the day.
pub(crate) fn time_of_day(s: &str) -> Result<(u8, u8)> {
    let expected = "a time of day HH:MM, like 06:30";
    let (h, m) = s
        .split_once(':')
        .ok_or_else(|| Error::invalid_field("time", s, expected))?;
    let hour: u8 = h
        .parse()
        .map_err(|_| Error::invalid_field("time", s, expected))?;
    let minute: u8 = m
        .parse()
        .map_err(|_| Error::invalid_field("time", s, expected))?;
    if hour > 23 {
        return Err(Error::invalid_field("hour", hour, "an hour from 0 to 23"));
    }
    if minute > 59 || m.len() != 2 {
        return Err(Error::invalid_field(
            "minute",
            m,
            "two digits from 00 to 59",
        ));
    }
    Ok((hour, minute))
}

/// `--weekly <weekday>`: `mon`…`sun`, `monday`…, or 1 (Monday) to 7 (Sunday).
pub(crate) fn weekly(s: &str) -> Result<Frequency> {
    if let Ok(n) = s.parse::<u8>() {
        return Frequency::weekly(n);
    }
    s.parse::<Weekday>()
        .map(|weekday| Frequency::Weekly { weekday })
        .map_err(|_| {
            Error::invalid_field(
                "weekday",
                s,
                "a weekday: mon…sun, monday…sunday, or 1 (Monday) to 7 (Sunday)",
            )
        })
}

/// `--monthly <day>`: a day of the month, 1–31 (29–31 fall on a shorter month's last day).
pub(crate) fn monthly(s: &str) -> Result<Frequency> {
    let day = s
        .parse::<u8>()
        .map_err(|_| Error::invalid_field("day", s, "a day of the month from 1 to 31"))?;
    Frequency::monthly(day)
}

/// A duration such as `30m`, `6h`, `1d` or `1h 30m`.
pub(crate) fn duration(s: &str) -> Result<Duration> {
    humantime::parse_duration(s).map_err(|e| {
        Error::invalid_field(
            "duration",
            s,
            format_args!("a duration like 30m, 6h, 1d or 1h 30m ({e})"),
        )
    })
}

/// A duration as people write it (`6h`, `1day 2h`), for listings.
pub(crate) fn show_duration(d: Duration) -> String {
    humantime::format_duration(d).to_string()
}

/// A secret given on the command line or in the environment, kept as a `SecretString`.
pub(crate) fn secret(s: &str) -> std::result::Result<SecretString, Infallible> {
    Ok(SecretString::from(s))
}

/// The content of the file a flag names (`-` = standard input).
pub(crate) fn read_text(flag: &str, path: &Path) -> Result<String> {
    let read = if path == Path::new("-") {
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text).map(|_| text)
    } else {
        std::fs::read_to_string(path)
    };
    read.map_err(|e| {
        Error::invalid_field(
            flag,
            path.display().to_string(),
            format_args!("a readable UTF-8 text file ({e})"),
        )
    })
}

/// A secret from its flag (or environment variable) or from its file flag; never both.
/// A file's surrounding white space (the newline an editor adds) is dropped.
pub(crate) fn secret_from(
    (flag, value): (&str, Option<&SecretString>),
    (file_flag, file): (&str, Option<&Path>),
) -> Result<Option<SecretString>> {
    match (value, file) {
        (Some(_), Some(_)) => Err(Error::new(
            ErrorKind::InvalidInput,
            format!(
                "{flag} (or its environment variable) and {file_flag} are both given: give one"
            ),
        )),
        (Some(v), None) => Ok(Some(v.clone())),
        (None, Some(path)) => Ok(Some(SecretString::from(
            read_text(file_flag, path)?.trim().to_owned(),
        ))),
        (None, None) => Ok(None),
    }
}

/// Fields whose flag is not the field's name with `-` for `_`.
const FIELD_FLAGS: [(&str, &str); 9] = [
    ("metrics", "--metric"),
    ("channels", "--channel"),
    ("mentions", "--mention"),
    ("timezone", "--tz"),
    ("hour", "--at"),
    ("minute", "--at"),
    ("weekday", "--weekly"),
    ("day", "--monthly"),
    ("private_key", "--private-key-file"),
];

/// Names the flag instead of the model's field in a validation error
/// (`invalid bundle_id "x"` → `invalid --bundle-id "x"`), so the message says what to fix
/// on the command line.
pub(crate) fn flag_error(e: Error) -> Error {
    let Some(rest) = e.message().strip_prefix("invalid ") else {
        return e;
    };
    let Some((field, tail)) = rest.split_once(' ') else {
        return e;
    };
    if e.kind() != ErrorKind::InvalidInput
        || !field.chars().all(|c| c.is_ascii_lowercase() || c == '_')
    {
        return e;
    }
    let flag = FIELD_FLAGS.iter().find(|(f, _)| *f == field).map_or_else(
        || format!("--{}", field.replace('_', "-")),
        |(_, f)| (*f).to_owned(),
    );
    Error::new(ErrorKind::InvalidInput, format!("invalid {flag} {tail}"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn times_of_day() {
        assert_eq!(time_of_day("06:30").unwrap(), (6, 30));
        assert_eq!(time_of_day("0:00").unwrap(), (0, 0));
        let err = time_of_day("25:00").unwrap_err().to_string();
        assert!(err.contains("hour 25") && err.contains("0 to 23"), "{err}");
        assert!(
            time_of_day("12:60")
                .unwrap_err()
                .to_string()
                .contains("minute")
        );
        assert!(time_of_day("12:5").is_err());
        assert!(
            time_of_day("noon")
                .unwrap_err()
                .to_string()
                .contains("HH:MM")
        );
    }

    #[test]
    fn weekdays_and_month_days() {
        let monday = Frequency::Weekly {
            weekday: Weekday::Mon,
        };
        assert_eq!(weekly("1").unwrap(), monday);
        assert_eq!(weekly("mon").unwrap(), monday);
        assert_eq!(weekly("Monday").unwrap(), monday);
        assert!(weekly("8").unwrap_err().to_string().contains("weekday"));
        assert!(
            weekly("someday")
                .unwrap_err()
                .to_string()
                .contains("someday")
        );
        assert_eq!(monthly("31").unwrap(), Frequency::Monthly { day: 31 });
        assert!(monthly("32").unwrap_err().to_string().contains("32"));
    }

    #[test]
    fn durations_round_trip() {
        assert_eq!(duration("6h").unwrap(), Duration::from_secs(6 * 3600));
        assert_eq!(duration("1h 30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(show_duration(Duration::from_secs(86_400)), "1day");
        assert!(duration("soon").unwrap_err().to_string().contains("soon"));
    }

    #[test]
    fn none_clears() {
        assert_eq!("none".parse::<OrNone<String>>().unwrap(), OrNone(None));
        assert_eq!("7".parse::<OrNone<u32>>().unwrap(), OrNone(Some(7)));
        assert!("x".parse::<OrNone<u32>>().is_err());
    }

    #[test]
    fn errors_name_the_flag() {
        let e = flag_error(Error::invalid_field("bundle_id", "a..b", "a bundle id"));
        assert_eq!(
            e.message(),
            "invalid --bundle-id \"a..b\": expected a bundle id"
        );
        let e = flag_error(Error::invalid_field("metrics", "[]", "at least one"));
        assert!(e.message().starts_with("invalid --metric "), "{e}");
        let other = Error::new(ErrorKind::Conflict, "invalid name taken");
        assert_eq!(flag_error(other).kind(), ErrorKind::Conflict);
    }
}
