//! Enums stored as their serde names (`"pending"`, `"data-collection"`, …), so the
//! database reads the same words as the JSON API.

use serde::Serialize;
use serde::de::DeserializeOwned;
use storewatch_core::{Error, ErrorKind, Result};

/// The serde name of a unit variant.
pub(crate) fn to_text<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        other => format!("{other:?}"),
    }
}

/// Parses a stored serde name; `what` names the column in the error.
pub(crate) fn from_text<T: DeserializeOwned>(what: &str, text: &str) -> Result<T> {
    serde_json::from_value(serde_json::Value::String(text.to_owned())).map_err(|_| {
        Error::new(
            ErrorKind::Storage,
            format!("stored {what} {text:?} is not one storewatch knows"),
        )
    })
}

/// A stored count as `u32`; `what` names the column in the error.
pub(crate) fn to_u32(what: &str, value: i64) -> Result<u32> {
    u32::try_from(value).map_err(|_| {
        Error::new(
            ErrorKind::Storage,
            format!("stored {what} {value} is out of range"),
        )
    })
}

#[cfg(test)]
mod tests {
    use storewatch_core::model::{ExecutionStatus, Task, Trigger};

    use super::*;

    #[test]
    fn round_trips_serde_names() {
        assert_eq!(to_text(&Task::DataCollection), "data-collection");
        assert_eq!(to_text(&Trigger::Retry), "retry");
        assert_eq!(
            from_text::<ExecutionStatus>("status", "running").unwrap(),
            ExecutionStatus::Running
        );
        let err = from_text::<Task>("task", "backup").unwrap_err();
        assert!(err.message().contains("task") && err.message().contains("backup"));
    }
}
