//! Identifier newtypes, so an app id can never be passed where a rule id is meant.

use std::fmt;

use serde::{Deserialize, Serialize};

macro_rules! id_type {
    ($(#[$meta:meta])* $name:ident, $label:literal) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl $name {
            /// The record kind this id names, as used in messages and sealing.
            pub const LABEL: &'static str = $label;
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }

        impl std::str::FromStr for $name {
            type Err = crate::Error;

            fn from_str(s: &str) -> crate::Result<Self> {
                s.trim()
                    .parse::<i64>()
                    .map($name)
                    .map_err(|_| crate::Error::invalid_field(concat!($label, " id"), s, "an integer id"))
            }
        }
    };
}

id_type!(
    /// Identifies an [`App`](super::App).
    AppId,
    "app"
);
id_type!(
    /// Identifies a [`Credential`](super::Credential).
    CredentialId,
    "credential"
);
id_type!(
    /// Identifies a [`Channel`](super::Channel).
    ChannelId,
    "channel"
);
id_type!(
    /// Identifies an [`AlertRule`](super::AlertRule).
    RuleId,
    "rule"
);
id_type!(
    /// Identifies a [`ReportConfig`](super::ReportConfig).
    ReportId,
    "report"
);
id_type!(
    /// Identifies a [`Schedule`](super::Schedule).
    ScheduleId,
    "schedule"
);
id_type!(
    /// Identifies an [`Execution`](super::Execution).
    ExecutionId,
    "execution"
);
id_type!(
    /// Identifies a delivery record ([`DeliveryRecord`](super::DeliveryRecord)).
    DeliveryId,
    "delivery"
);

/// Identifies one running scheduler instance (a process), unique across restarts.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct InstanceId(pub String);

impl InstanceId {
    /// A fresh random instance id.
    pub fn random() -> Self {
        InstanceId(uuid::Uuid::new_v4().to_string())
    }
}

impl fmt::Display for InstanceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for InstanceId {
    fn from(s: &str) -> Self {
        InstanceId(s.to_owned())
    }
}
