//! The one error type of storewatch: a matchable [`ErrorKind`], a message, context and a source.

use std::fmt;
use std::time::Duration;

/// `Result` with storewatch's [`Error`] as the default error.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong, in terms a caller can act on.
///
/// Adapters map their providers' errors into these kinds in one place, so a caller
/// matches on the kind and never on a provider's status code or body.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// A configuration value is missing or wrong.
    Config,
    /// An input (argument, record, file, API body) failed validation.
    InvalidInput,
    /// Credentials were refused or have expired.
    Unauthenticated,
    /// Credentials are valid but lack a permission.
    PermissionDenied,
    /// The thing asked for does not exist.
    NotFound,
    /// The provider has not published the data yet; try again later.
    NotYetAvailable,
    /// The provider asked us to slow down.
    RateLimited {
        /// How long the provider asked us to wait, when it said.
        retry_after: Option<Duration>,
    },
    /// The provider or the database is temporarily unreachable or failing.
    Unavailable,
    /// An operation ran out of time.
    Timeout,
    /// An operation was cancelled on request.
    Cancelled,
    /// A concurrent change won: a stale version, a lease held by another instance, a duplicate.
    Conflict,
    /// The store failed in a way that is not the caller's fault.
    Storage,
    /// A sealed secret could not be sealed or opened.
    Crypto,
    /// A bug: an invariant of storewatch itself broke.
    Internal,
}

impl ErrorKind {
    /// Whether trying the same operation again later may succeed.
    pub fn is_retryable(self) -> bool {
        matches!(
            self,
            ErrorKind::NotYetAvailable
                | ErrorKind::RateLimited { .. }
                | ErrorKind::Unavailable
                | ErrorKind::Timeout
        )
    }

    /// A short lowercase name, stable for logs and metrics labels.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Config => "config",
            ErrorKind::InvalidInput => "invalid_input",
            ErrorKind::Unauthenticated => "unauthenticated",
            ErrorKind::PermissionDenied => "permission_denied",
            ErrorKind::NotFound => "not_found",
            ErrorKind::NotYetAvailable => "not_yet_available",
            ErrorKind::RateLimited { .. } => "rate_limited",
            ErrorKind::Unavailable => "unavailable",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Cancelled => "cancelled",
            ErrorKind::Conflict => "conflict",
            ErrorKind::Storage => "storage",
            ErrorKind::Crypto => "crypto",
            ErrorKind::Internal => "internal",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// storewatch's error: a kind to match on, a message for people, the context it
/// happened in (outermost last) and the underlying error, if any.
///
/// Messages never contain secrets: adapters build them from status codes, provider
/// error codes and field names, never from request bodies or headers.
///
/// ```
/// use storewatch_core::{Error, ErrorKind};
///
/// let err = Error::invalid_field("hour", 24, "an hour from 0 to 23").context("schedule \"nightly\"");
/// assert_eq!(err.kind(), ErrorKind::InvalidInput);
/// assert!(!err.is_retryable());
/// assert_eq!(err.to_string(), "invalid_input: invalid hour 24: expected an hour from 0 to 23 (in schedule \"nightly\")");
/// ```
#[derive(thiserror::Error)]
pub struct Error {
    kind: ErrorKind,
    message: String,
    context: Vec<String>,
    #[source]
    source: Option<BoxError>,
}

impl Error {
    /// An error of `kind` with a message.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
            context: Vec::new(),
            source: None,
        }
    }

    /// `InvalidInput` naming the field, the value given and what was expected.
    pub fn invalid_field(field: &str, value: impl fmt::Debug, expected: impl fmt::Display) -> Self {
        Error::new(
            ErrorKind::InvalidInput,
            format!("invalid {field} {value:?}: expected {expected}"),
        )
    }

    /// `NotFound` for a record kind and id.
    pub fn not_found(what: &str, id: impl fmt::Display) -> Self {
        Error::new(ErrorKind::NotFound, format!("{what} {id} not found"))
    }

    /// `Internal`: an invariant of storewatch broke.
    pub fn internal(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Internal, message)
    }

    /// Adds the context the error happened in (e.g. `app com.example.app`).
    #[must_use]
    pub fn context(mut self, context: impl Into<String>) -> Self {
        self.context.push(context.into());
        self
    }

    /// Attaches the underlying error.
    #[must_use]
    pub fn with_source(mut self, source: impl Into<BoxError>) -> Self {
        self.source = Some(source.into());
        self
    }

    /// What went wrong.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The message, without kind or context.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The contexts, innermost first.
    pub fn contexts(&self) -> &[String] {
        &self.context
    }

    /// Whether trying again later may succeed (see [`ErrorKind::is_retryable`]).
    pub fn is_retryable(&self) -> bool {
        self.kind.is_retryable()
    }

    /// How long the provider asked to wait, for `RateLimited` errors that said so.
    pub fn retry_after(&self) -> Option<Duration> {
        match self.kind {
            ErrorKind::RateLimited { retry_after } => retry_after,
            _ => None,
        }
    }

    /// A copy of this error without its source (sources are not `Clone`); the
    /// source's text is kept in the message.
    pub fn detached(&self) -> Error {
        let message = match &self.source {
            Some(source) => format!("{}: {source}", self.message),
            None => self.message.clone(),
        };
        Error {
            kind: self.kind,
            message,
            context: self.context.clone(),
            source: None,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind, self.message)?;
        for context in &self.context {
            write!(f, " (in {context})")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Error");
        d.field("kind", &self.kind).field("message", &self.message);
        if !self.context.is_empty() {
            d.field("context", &self.context);
        }
        if let Some(source) = &self.source {
            d.field("source", &format_args!("{source}"));
        }
        d.finish()
    }
}

impl PartialEq for Error {
    /// Errors compare by kind, message and context; sources are ignored.
    fn eq(&self, other: &Self) -> bool {
        self.kind == other.kind && self.message == other.message && self.context == other.context
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retryable_kinds() {
        assert!(ErrorKind::Unavailable.is_retryable());
        assert!(ErrorKind::RateLimited { retry_after: None }.is_retryable());
        assert!(ErrorKind::NotYetAvailable.is_retryable());
        assert!(!ErrorKind::PermissionDenied.is_retryable());
        assert!(!ErrorKind::InvalidInput.is_retryable());
    }

    #[test]
    fn display_has_kind_message_and_context() {
        let err = Error::new(ErrorKind::NotFound, "app 7 not found").context("pipeline");
        assert_eq!(err.to_string(), "not_found: app 7 not found (in pipeline)");
    }

    #[test]
    fn detached_keeps_source_text() {
        let io = std::io::Error::other("disk full");
        let err = Error::new(ErrorKind::Storage, "write failed").with_source(io);
        assert_eq!(err.detached().message(), "write failed: disk full");
        assert_eq!(
            Error::new(
                ErrorKind::RateLimited {
                    retry_after: Some(Duration::from_secs(3))
                },
                "x"
            )
            .retry_after(),
            Some(Duration::from_secs(3))
        );
    }
}
