//! [`Table`]: the configuration records of one kind, with ids, versions and uniqueness.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::model::{
    AlertRuleSpec, AppSpec, ChannelSpec, CredentialSpec, Record, ReportSpec, ScheduleSpec, Spec,
};
use crate::{Error, ErrorKind, Result};

/// A spec the memory store keeps in a [`Table`]: what makes two records clash.
pub(super) trait Stored: Spec {
    /// The record's name, unique per kind.
    fn name(&self) -> &str;

    /// Why `self` may not sit next to `other` (same name; for apps also the same
    /// platform and bundle id), or `None` when both may be stored.
    fn clash(&self, other: &Self) -> Option<String> {
        (self.name() == other.name()).then(|| format!("name {:?} is taken", self.name()))
    }
}

impl Stored for AppSpec {
    fn name(&self) -> &str {
        &self.name
    }

    fn clash(&self, other: &Self) -> Option<String> {
        if self.platform == other.platform && self.bundle_id == other.bundle_id {
            return Some(format!(
                "{} bundle id {} is taken",
                self.platform, self.bundle_id
            ));
        }
        (self.name == other.name).then(|| format!("name {:?} is taken", self.name))
    }
}

macro_rules! stored_by_name {
    ($($spec:ty),*) => {$(
        impl Stored for $spec {
            fn name(&self) -> &str {
                &self.name
            }
        }
    )*};
}

stored_by_name!(
    CredentialSpec,
    ChannelSpec,
    AlertRuleSpec,
    ReportSpec,
    ScheduleSpec
);

/// The records of one kind, ordered by id.
#[derive(Debug)]
pub(super) struct Table<S: Stored> {
    rows: BTreeMap<S::Id, Record<S>>,
    last_id: i64,
    make_id: fn(i64) -> S::Id,
    raw_id: fn(S::Id) -> i64,
}

impl<S: Stored> Table<S> {
    /// An empty table whose ids are built by `make_id` and read by `raw_id`.
    pub(super) fn new(make_id: fn(i64) -> S::Id, raw_id: fn(S::Id) -> i64) -> Self {
        Table {
            rows: BTreeMap::new(),
            last_id: 0,
            make_id,
            raw_id,
        }
    }

    /// Hands out an id no record has or will be given by [`Table::create`].
    pub(super) fn reserve_id(&mut self) -> S::Id {
        self.last_id += 1;
        (self.make_id)(self.last_id)
    }

    /// Stores a new record under `id` (a reserved one) or a fresh id.
    pub(super) fn create(
        &mut self,
        id: Option<S::Id>,
        spec: S,
        now: DateTime<Utc>,
    ) -> Result<Record<S>> {
        spec.validate()
            .map_err(|e| e.context(format!("new {}", S::KIND)))?;
        if let Some(id) = id
            && self.rows.contains_key(&id)
        {
            return Err(Error::new(
                ErrorKind::Conflict,
                format!("{} {id} already exists", S::KIND),
            ));
        }
        self.check_unique(None, &spec)?;
        let id = match id {
            Some(id) => {
                // An id the caller made up must never be handed out again.
                self.last_id = self.last_id.max((self.raw_id)(id));
                id
            }
            None => self.reserve_id(),
        };
        let record = Record {
            id,
            version: 1,
            created_at: now,
            updated_at: now,
            spec,
        };
        self.rows.insert(id, record.clone());
        Ok(record)
    }

    /// Replaces a record's spec if it is still at `version`.
    pub(super) fn update(
        &mut self,
        id: S::Id,
        version: i64,
        spec: S,
        now: DateTime<Utc>,
    ) -> Result<Record<S>> {
        spec.validate()
            .map_err(|e| e.context(format!("{} {id}", S::KIND)))?;
        let current = self.get(id)?.version;
        if current != version {
            return Err(Error::new(
                ErrorKind::Conflict,
                format!(
                    "{} {id} is at version {current}, not {version}: reload it and try again",
                    S::KIND
                ),
            ));
        }
        self.check_unique(Some(id), &spec)?;
        let record = self
            .rows
            .get_mut(&id)
            .ok_or_else(|| Error::not_found(S::KIND, id))?;
        record.spec = spec;
        record.version += 1;
        record.updated_at = now;
        Ok(record.clone())
    }

    /// One record.
    pub(super) fn get(&self, id: S::Id) -> Result<&Record<S>> {
        self.rows
            .get(&id)
            .ok_or_else(|| Error::not_found(S::KIND, id))
    }

    /// Whether a record has this id.
    pub(super) fn contains(&self, id: S::Id) -> bool {
        self.rows.contains_key(&id)
    }

    /// Every record, by id.
    pub(super) fn list(&self) -> Vec<Record<S>> {
        self.rows.values().cloned().collect()
    }

    /// Every record, by id, borrowed.
    pub(super) fn iter(&self) -> impl Iterator<Item = &Record<S>> {
        self.rows.values()
    }

    /// How many records there are.
    pub(super) fn len(&self) -> usize {
        self.rows.len()
    }

    /// Removes a record.
    pub(super) fn remove(&mut self, id: S::Id) -> Result<Record<S>> {
        self.rows
            .remove(&id)
            .ok_or_else(|| Error::not_found(S::KIND, id))
    }

    fn check_unique(&self, except: Option<S::Id>, spec: &S) -> Result<()> {
        for (id, other) in &self.rows {
            if Some(*id) == except {
                continue;
            }
            if let Some(why) = spec.clash(&other.spec) {
                return Err(Error::new(
                    ErrorKind::Conflict,
                    format!("{why} by {} {id}", S::KIND),
                ));
            }
        }
        Ok(())
    }
}
