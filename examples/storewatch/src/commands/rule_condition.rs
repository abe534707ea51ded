//! A rule's condition from `--condition` and its parameter flags; on update, the
//! parameters not given keep the rule's current values.

use clap::ValueEnum as _;
use storewatch_core::model::{Condition, Direction};
use storewatch_core::{Error, ErrorKind, Result};

use super::flags::{DirectionArg, OpArg, WindowArg, flag_error};

/// `--condition`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum ConditionKind {
    /// A change of at least --threshold-pct percent against the --window's day.
    PctChange,
    /// The value itself --op above|below --value (e.g. crash_rate above 0.02).
    Absolute,
    /// The seasonal z-score (the same weekday over 8 weeks) at least --z from 0.
    Anomaly,
}

impl ConditionKind {
    fn of(c: &Condition) -> ConditionKind {
        match c {
            Condition::PctChange { .. } => ConditionKind::PctChange,
            Condition::Absolute { .. } => ConditionKind::Absolute,
            Condition::Anomaly { .. } => ConditionKind::Anomaly,
        }
    }

    fn name(self) -> String {
        self.to_possible_value()
            .map(|v| v.get_name().to_owned())
            .unwrap_or_default()
    }
}

/// The z of an anomaly condition when `--z` is not given.
const DEFAULT_Z: f64 = 3.0;

/// The parameters of the conditions.
#[derive(Debug, clap::Args)]
#[command(next_help_heading = "Condition parameters")]
pub(crate) struct ConditionParams {
    /// pct-change: the day compared with.
    #[arg(long, value_enum)]
    window: Option<WindowArg>,
    /// pct-change, anomaly: which way counts [default: any].
    #[arg(long, value_enum)]
    direction: Option<DirectionArg>,
    /// pct-change: the least change in percent (200 = a change of at least 200 %).
    #[arg(long, value_name = "PCT", allow_negative_numbers = true)]
    threshold_pct: Option<f64>,
    /// absolute: breached above or below --value.
    #[arg(long, value_enum)]
    op: Option<OpArg>,
    /// absolute: the limit, e.g. 0.02 for a crash rate of 2 %.
    #[arg(long, allow_negative_numbers = true)]
    value: Option<f64>,
    /// anomaly: the least |z| [default: 3].
    #[arg(long, allow_negative_numbers = true)]
    z: Option<f64>,
}

impl ConditionParams {
    /// The condition of `kind` (default: `current`'s kind) from these flags, the values
    /// of `current` when it is of that kind, and defaults; `None` when nothing is given.
    pub(crate) fn condition(
        &self,
        kind: Option<ConditionKind>,
        current: Option<&Condition>,
    ) -> Result<Option<Condition>> {
        use ConditionKind::{Absolute, Anomaly, PctChange};
        let given = [
            ("--window", self.window.is_some(), [PctChange, PctChange]),
            (
                "--direction",
                self.direction.is_some(),
                [PctChange, Anomaly],
            ),
            (
                "--threshold-pct",
                self.threshold_pct.is_some(),
                [PctChange, PctChange],
            ),
            ("--op", self.op.is_some(), [Absolute, Absolute]),
            ("--value", self.value.is_some(), [Absolute, Absolute]),
            ("--z", self.z.is_some(), [Anomaly, Anomaly]),
        ];
        let Some(kind) = kind.or_else(|| {
            given
                .iter()
                .any(|g| g.1)
                .then(|| current.map(ConditionKind::of))
                .flatten()
        }) else {
            return Ok(None);
        };
        if let Some((flag, _, kinds)) = given.iter().find(|g| g.1 && !g.2.contains(&kind)) {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                format!(
                    "{flag} applies to --condition {}, not {}",
                    kinds[0].name(),
                    kind.name()
                ),
            ));
        }
        let need = |flag: &str| {
            Error::new(
                ErrorKind::InvalidInput,
                format!("{flag} is required for --condition {}", kind.name()),
            )
        };
        let current = current.cloned();
        let direction = self.direction.map(Direction::from);
        let condition = match (kind, current) {
            (PctChange, current) => {
                let (w, d, t) = match current {
                    Some(Condition::PctChange {
                        window,
                        direction,
                        threshold_pct,
                    }) => (Some(window), Some(direction), Some(threshold_pct)),
                    _ => (None, None, None),
                };
                Condition::PctChange {
                    window: self
                        .window
                        .map(Into::into)
                        .or(w)
                        .ok_or_else(|| need("--window"))?,
                    direction: direction.or(d).unwrap_or(Direction::Either),
                    threshold_pct: self
                        .threshold_pct
                        .or(t)
                        .ok_or_else(|| need("--threshold-pct"))?,
                }
            }
            (Absolute, current) => {
                let (o, v) = match current {
                    Some(Condition::Absolute { op, value }) => (Some(op), Some(value)),
                    _ => (None, None),
                };
                Condition::Absolute {
                    op: self.op.map(Into::into).or(o).ok_or_else(|| need("--op"))?,
                    value: self.value.or(v).ok_or_else(|| need("--value"))?,
                }
            }
            (Anomaly, current) => {
                let (z, d) = match current {
                    Some(Condition::Anomaly { z, direction }) => (Some(z), Some(direction)),
                    _ => (None, None),
                };
                Condition::Anomaly {
                    z: self.z.or(z).unwrap_or(DEFAULT_Z),
                    direction: direction.or(d).unwrap_or(Direction::Either),
                }
            }
        };
        condition.validate().map_err(flag_error)?;
        Ok(Some(condition))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use storewatch_core::model::{AbsOp, Window};

    use super::*;

    fn params() -> ConditionParams {
        ConditionParams {
            window: None,
            direction: None,
            threshold_pct: None,
            op: None,
            value: None,
            z: None,
        }
    }

    #[test]
    fn a_new_condition_needs_its_parameters() {
        let p = ConditionParams {
            window: Some(WindowArg::Wow),
            threshold_pct: Some(30.0),
            ..params()
        };
        assert_eq!(
            p.condition(Some(ConditionKind::PctChange), None).unwrap(),
            Some(Condition::PctChange {
                window: Window::Wow,
                direction: Direction::Either,
                threshold_pct: 30.0
            })
        );
        let err = params()
            .condition(Some(ConditionKind::Absolute), None)
            .unwrap_err();
        assert!(err.message().contains("--op is required"), "{err}");
        assert_eq!(
            params()
                .condition(Some(ConditionKind::Anomaly), None)
                .unwrap(),
            Some(Condition::Anomaly {
                z: DEFAULT_Z,
                direction: Direction::Either
            })
        );
    }

    #[test]
    fn flags_of_another_condition_are_refused() {
        let p = ConditionParams {
            window: Some(WindowArg::Dod),
            ..params()
        };
        let err = p
            .condition(Some(ConditionKind::Absolute), None)
            .unwrap_err();
        assert!(
            err.message()
                .contains("--window applies to --condition pct-change, not absolute"),
            "{err}"
        );
    }

    #[test]
    fn an_update_keeps_what_is_not_given() {
        let current = Condition::Absolute {
            op: AbsOp::Above,
            value: 0.02,
        };
        assert_eq!(params().condition(None, Some(&current)).unwrap(), None);
        let p = ConditionParams {
            value: Some(0.05),
            ..params()
        };
        assert_eq!(
            p.condition(None, Some(&current)).unwrap(),
            Some(Condition::Absolute {
                op: AbsOp::Above,
                value: 0.05
            })
        );
        let p = ConditionParams {
            threshold_pct: Some(-5.0),
            window: Some(WindowArg::Dod),
            ..params()
        };
        let err = p
            .condition(Some(ConditionKind::PctChange), Some(&current))
            .unwrap_err();
        assert!(err.message().contains("--threshold-pct"), "{err}");
    }
}
