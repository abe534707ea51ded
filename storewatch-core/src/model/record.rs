//! [`Record`]: a stored configuration record — id, version and timestamps around a spec.

use std::ops::{Deref, DerefMut};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A configuration spec that a store keeps as a [`Record`].
pub trait Spec: Clone + std::fmt::Debug + Send + Sync + 'static {
    /// The id type of records of this spec.
    type Id: Copy + Eq + Ord + std::hash::Hash + std::fmt::Debug + std::fmt::Display + Send + Sync;

    /// The record kind, e.g. `"app"`: used in messages and to bind sealed secrets.
    const KIND: &'static str;

    /// Checks every field; the error names the field and the value.
    fn validate(&self) -> crate::Result<()>;
}

/// A stored record: the store assigns the id, the version and the timestamps.
///
/// `version` starts at 1 and grows by one with every update; an update naming a
/// stale version is refused with `ErrorKind::Conflict` (optimistic concurrency).
/// Fields of the spec are reachable directly through `Deref`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record<S: Spec> {
    /// The id the store assigned.
    pub id: S::Id,
    /// Optimistic concurrency version, 1 on creation.
    pub version: i64,
    /// When the record was created.
    pub created_at: DateTime<Utc>,
    /// When the record was last changed.
    pub updated_at: DateTime<Utc>,
    /// The record's content.
    #[serde(flatten)]
    pub spec: S,
}

impl<S: Spec> Deref for Record<S> {
    type Target = S;

    fn deref(&self) -> &S {
        &self.spec
    }
}

impl<S: Spec> DerefMut for Record<S> {
    fn deref_mut(&mut self) -> &mut S {
        &mut self.spec
    }
}
