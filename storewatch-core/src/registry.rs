//! [`Registry`]: which credential kinds build which [`MetricSource`], which channel
//! kinds build which [`Notifier`].
//!
//! Adapters export `register(&mut Registry)`; the binary (or an embedding service)
//! calls each adapter's `register` once, and the pipeline builds sources and notifiers
//! from stored, opened configs.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use secrecy::SecretString;

use crate::notify::Notifier;
use crate::source::MetricSource;
use crate::{Error, ErrorKind, Result};

/// Builds a source from a credential's opened JSON config.
pub type SourceFactory = Arc<dyn Fn(&SecretString) -> Result<Arc<dyn MetricSource>> + Send + Sync>;
/// Builds a notifier from a channel's opened JSON config.
pub type NotifierFactory = Arc<dyn Fn(&SecretString) -> Result<Arc<dyn Notifier>> + Send + Sync>;

/// Maps kinds to factories.
///
/// ```
/// use std::sync::Arc;
/// use storewatch_core::{ErrorKind, Registry};
///
/// let registry = Registry::new();
/// let err = registry.build_notifier("slack_webhook", &"{}".to_string().into()).unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::Config);
/// assert!(err.message().contains("slack_webhook"));
/// ```
#[derive(Clone, Default)]
pub struct Registry {
    sources: BTreeMap<String, SourceFactory>,
    notifiers: BTreeMap<String, NotifierFactory>,
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registry")
            .field("sources", &self.sources.keys().collect::<Vec<_>>())
            .field("notifiers", &self.notifiers.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers the source factory of a credential kind (replacing any earlier one).
    pub fn register_source<F>(&mut self, kind: &str, factory: F) -> &mut Self
    where
        F: Fn(&SecretString) -> Result<Arc<dyn MetricSource>> + Send + Sync + 'static,
    {
        self.sources.insert(kind.to_owned(), Arc::new(factory));
        self
    }

    /// Registers the notifier factory of a channel kind (replacing any earlier one).
    pub fn register_notifier<F>(&mut self, kind: &str, factory: F) -> &mut Self
    where
        F: Fn(&SecretString) -> Result<Arc<dyn Notifier>> + Send + Sync + 'static,
    {
        self.notifiers.insert(kind.to_owned(), Arc::new(factory));
        self
    }

    /// The registered credential kinds.
    pub fn source_kinds(&self) -> impl Iterator<Item = &str> {
        self.sources.keys().map(String::as_str)
    }

    /// The registered channel kinds.
    pub fn notifier_kinds(&self) -> impl Iterator<Item = &str> {
        self.notifiers.keys().map(String::as_str)
    }

    /// Builds the source of a credential of `kind`; an unknown kind is a `Config` error
    /// listing the known ones.
    pub fn build_source(&self, kind: &str, config: &SecretString) -> Result<Arc<dyn MetricSource>> {
        let factory = self
            .sources
            .get(kind)
            .ok_or_else(|| unknown("credential", kind, self.source_kinds()))?;
        factory(config).map_err(|e| e.context(format!("{kind} credential")))
    }

    /// Builds the notifier of a channel of `kind`; an unknown kind is a `Config` error
    /// listing the known ones.
    pub fn build_notifier(&self, kind: &str, config: &SecretString) -> Result<Arc<dyn Notifier>> {
        let factory = self
            .notifiers
            .get(kind)
            .ok_or_else(|| unknown("channel", kind, self.notifier_kinds()))?;
        factory(config).map_err(|e| e.context(format!("{kind} channel")))
    }
}

fn unknown<'a>(what: &str, kind: &str, known: impl Iterator<Item = &'a str>) -> Error {
    let known: Vec<&str> = known.collect();
    let known = if known.is_empty() {
        "none registered".to_owned()
    } else {
        known.join(", ")
    };
    Error::new(
        ErrorKind::Config,
        format!("unknown {what} kind {kind:?}: known kinds are {known}"),
    )
}
