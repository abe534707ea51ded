//! [`AlertRule`]: when to raise an alert, how loud, and whom to tell.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::app::validate_name;
use super::{AppId, ChannelId, Metric, Record, RuleId, Spec, validate_segment};
use crate::{Error, Result};

/// Which earlier day a percentage change compares with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Window {
    /// Day over day: D−1.
    Dod,
    /// Week over week: D−7.
    Wow,
    /// Year over year: D−364 (same weekday, 52 weeks earlier).
    Yoy,
}

impl fmt::Display for Window {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Window::Dod => "day over day",
            Window::Wow => "week over week",
            Window::Yoy => "year over year",
        })
    }
}

/// Which way a change must go to count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Only increases.
    Up,
    /// Only decreases.
    Down,
    /// Either way.
    Either,
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Direction::Up => "rises",
            Direction::Down => "falls",
            Direction::Either => "changes",
        })
    }
}

/// Comparison of an absolute condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AbsOp {
    /// Breached when the value is above the limit.
    Above,
    /// Breached when the value is below the limit.
    Below,
}

/// What a rule checks on a day's analysis.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Condition {
    /// A change of at least `threshold_pct` percent against the window's day.
    PctChange {
        /// The day compared with.
        window: Window,
        /// Which way counts.
        direction: Direction,
        /// At least this many percent (200 = a change of at least 200 %).
        threshold_pct: f64,
    },
    /// The value itself above or below a limit (e.g. crash_rate above 0.02).
    Absolute {
        /// Above or below.
        op: AbsOp,
        /// The limit.
        value: f64,
    },
    /// The seasonal z-score (same weekday, 8 weeks) at least `z` away from 0.
    Anomaly {
        /// Minimum |z|.
        z: f64,
        /// Which way counts.
        direction: Direction,
    },
}

impl Condition {
    /// Checks the numbers: thresholds finite and not negative, limits finite.
    pub fn validate(&self) -> Result<()> {
        match *self {
            Condition::PctChange { threshold_pct, .. } => {
                non_negative("threshold_pct", threshold_pct)
            }
            Condition::Absolute { value, .. } => {
                if value.is_finite() {
                    Ok(())
                } else {
                    Err(Error::invalid_field("value", value, "a finite number"))
                }
            }
            Condition::Anomaly { z, .. } => non_negative("z", z),
        }
    }
}

fn non_negative(field: &str, v: f64) -> Result<()> {
    if v.is_finite() && v >= 0.0 {
        Ok(())
    } else {
        Err(Error::invalid_field(field, v, "a finite number ≥ 0"))
    }
}

impl fmt::Display for Condition {
    /// The condition in words, e.g. "falls by at least 30% week over week".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Condition::PctChange {
                window,
                direction,
                threshold_pct,
            } => {
                write!(f, "{direction} by at least {threshold_pct}% {window}")
            }
            Condition::Absolute {
                op: AbsOp::Above,
                value,
            } => write!(f, "is above {value}"),
            Condition::Absolute {
                op: AbsOp::Below,
                value,
            } => write!(f, "is below {value}"),
            Condition::Anomaly { z, direction } => {
                let way = match direction {
                    Direction::Up => "above",
                    Direction::Down => "below",
                    Direction::Either => "away from",
                };
                write!(
                    f,
                    "is at least {z} seasonal deviations {way} the usual for the weekday"
                )
            }
        }
    }
}

/// How loud an alert is; ordered, so a rise inside a cooldown can re-notify.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// For information.
    Info,
    /// Someone should look.
    Warning,
    /// Someone must act now.
    Critical,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        })
    }
}

/// Who an alert card @mentions.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mention {
    /// Everyone in the group (`@all`).
    All,
    /// One Lark user by open_id (`ou_…`).
    User(String),
}

impl Mention {
    /// Parses `all` or a Lark open_id (`ou_` followed by letters and digits).
    pub fn parse(s: &str) -> Result<Mention> {
        if s == "all" {
            return Ok(Mention::All);
        }
        let valid = s.strip_prefix("ou_").is_some_and(|rest| {
            !rest.is_empty() && rest.chars().all(|c| c.is_ascii_alphanumeric())
        });
        if valid {
            Ok(Mention::User(s.to_owned()))
        } else {
            Err(Error::invalid_field(
                "mentions",
                s,
                "\"all\" or a Lark open_id like \"ou_3f9a…\"",
            ))
        }
    }
}

impl fmt::Display for Mention {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Mention::All => f.write_str("all"),
            Mention::User(id) => f.write_str(id),
        }
    }
}

/// An alert rule; stored as an [`AlertRule`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertRuleSpec {
    /// Display name.
    pub name: String,
    /// One app, or `None` for every app.
    #[serde(default)]
    pub app_id: Option<AppId>,
    /// The metric watched.
    pub metric: Metric,
    /// One segment, or `None` for the total only.
    #[serde(default)]
    pub segment: Option<String>,
    /// What breaches.
    pub condition: Condition,
    /// How loud.
    pub severity: Severity,
    /// Fire only after this many consecutive breached days (≥ 1).
    #[serde(default = "one")]
    pub for_days: u32,
    /// Do not repeat the same alert inside this time unless severity rises.
    #[serde(with = "super::durations", default)]
    pub cooldown: Duration,
    /// Ignore changes from a baseline below this.
    #[serde(default)]
    pub min_baseline: Option<f64>,
    /// Where the alert card goes.
    pub channel_id: ChannelId,
    /// Who the card @mentions.
    #[serde(default)]
    pub mentions: Vec<Mention>,
    /// Send one "resolved" card when a firing alert clears.
    #[serde(default)]
    pub notify_resolved: bool,
    /// Inactive rules are not evaluated.
    #[serde(default = "super::app::yes")]
    pub is_active: bool,
}

fn one() -> u32 {
    1
}

impl AlertRuleSpec {
    /// A rule with the defaults: for_days 1, no cooldown, no baseline, no mentions.
    pub fn new(
        name: impl Into<String>,
        metric: Metric,
        condition: Condition,
        severity: Severity,
        channel_id: ChannelId,
    ) -> Result<Self> {
        let spec = AlertRuleSpec {
            name: name.into(),
            app_id: None,
            metric,
            segment: None,
            condition,
            severity,
            for_days: 1,
            cooldown: Duration::ZERO,
            min_baseline: None,
            channel_id,
            mentions: Vec::new(),
            notify_resolved: false,
            is_active: true,
        };
        spec.validate()?;
        Ok(spec)
    }
}

impl Spec for AlertRuleSpec {
    type Id = RuleId;
    const KIND: &'static str = "rule";

    fn validate(&self) -> Result<()> {
        validate_name("name", &self.name)?;
        self.condition.validate()?;
        if self.for_days == 0 {
            return Err(Error::invalid_field(
                "for_days",
                self.for_days,
                "at least 1 day",
            ));
        }
        if let Some(b) = self.min_baseline {
            non_negative("min_baseline", b)?;
        }
        if let Some(segment) = &self.segment {
            validate_segment(segment)?;
        }
        for m in &self.mentions {
            if let Mention::User(id) = m {
                Mention::parse(id)?;
            }
        }
        Ok(())
    }
}

/// A stored alert rule.
pub type AlertRule = Record<AlertRuleSpec>;

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(condition: Condition) -> Result<AlertRuleSpec> {
        AlertRuleSpec::new(
            "r",
            Metric::DOWNLOADS,
            condition,
            Severity::Warning,
            ChannelId(1),
        )
    }

    #[test]
    fn thresholds_must_be_finite_and_non_negative() {
        for bad in [f64::NAN, f64::INFINITY, -1.0] {
            let err = rule(Condition::PctChange {
                window: Window::Dod,
                direction: Direction::Down,
                threshold_pct: bad,
            })
            .unwrap_err();
            assert!(err.message().contains("threshold_pct"), "{err}");
            assert!(err.message().contains(&format!("{bad:?}")), "{err}");
            let err = rule(Condition::Anomaly {
                z: bad,
                direction: Direction::Either,
            })
            .unwrap_err();
            assert!(err.message().contains('z'), "{err}");
        }
        assert!(
            rule(Condition::Absolute {
                op: AbsOp::Above,
                value: f64::NAN
            })
            .is_err()
        );
        assert!(
            rule(Condition::Absolute {
                op: AbsOp::Below,
                value: -3.0
            })
            .is_ok()
        );
    }

    #[test]
    fn for_days_zero_is_refused() {
        let mut spec = rule(Condition::Absolute {
            op: AbsOp::Above,
            value: 0.02,
        })
        .unwrap();
        spec.for_days = 0;
        let err = spec.validate().unwrap_err();
        assert!(
            err.message().contains("for_days") && err.message().contains('0'),
            "{err}"
        );
    }

    #[test]
    fn condition_in_words() {
        let c = Condition::PctChange {
            window: Window::Wow,
            direction: Direction::Down,
            threshold_pct: 30.0,
        };
        assert_eq!(c.to_string(), "falls by at least 30% week over week");
        assert_eq!(
            Condition::Absolute {
                op: AbsOp::Above,
                value: 0.02
            }
            .to_string(),
            "is above 0.02"
        );
    }

    #[test]
    fn mentions() {
        assert_eq!(Mention::parse("all").unwrap(), Mention::All);
        assert!(Mention::parse("ou_abc123").is_ok());
        assert!(
            Mention::parse("bob")
                .unwrap_err()
                .message()
                .contains("mentions")
        );
    }

    #[test]
    fn rule_round_trips_through_json() {
        let spec = rule(Condition::PctChange {
            window: Window::Yoy,
            direction: Direction::Either,
            threshold_pct: 50.0,
        })
        .unwrap();
        let json = serde_json::to_string(&spec).unwrap();
        assert_eq!(serde_json::from_str::<AlertRuleSpec>(&json).unwrap(), spec);
    }
}
