//! The one place where sqlx errors become storewatch [`ErrorKind`]s.

use storewatch_core::{Error, ErrorKind};

/// Maps a sqlx error to a storewatch error of the kind a caller can act on.
///
/// - unique violation (23505), serialization failure (40001), deadlock (40P01) →
///   `Conflict` (the constraint is named in the message);
/// - other integrity violations (class 23), bad values (class 22) → `InvalidInput`;
/// - the server unreachable, shutting down or out of connections (I/O, TLS, pool
///   timeout or closed, classes 08, 53, 57P) → `Unavailable`, so callers retry;
/// - a statement timeout or cancel (57014) → `Timeout`;
/// - authentication (class 28) → `Unauthenticated`, a missing database (3D000) or a
///   bad URL → `Config`;
/// - a missing row → `NotFound`; anything else → `Storage`.
///
/// The message carries the server's text, which never contains bound values.
pub fn map_sqlx_error(err: sqlx::Error) -> Error {
    let kind = match &err {
        sqlx::Error::Database(db) => match db.code().as_deref() {
            Some("23505") | Some("40001") | Some("40P01") => ErrorKind::Conflict,
            Some(code) if code.starts_with("23") || code.starts_with("22") => {
                ErrorKind::InvalidInput
            }
            Some("57014") => ErrorKind::Timeout,
            Some(code)
                if code.starts_with("08") || code.starts_with("53") || code.starts_with("57P") =>
            {
                ErrorKind::Unavailable
            }
            Some(code) if code.starts_with("28") => ErrorKind::Unauthenticated,
            Some("3D000") => ErrorKind::Config,
            _ => ErrorKind::Storage,
        },
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => ErrorKind::Unavailable,
        sqlx::Error::Configuration(_) => ErrorKind::Config,
        sqlx::Error::RowNotFound => ErrorKind::NotFound,
        // A connection cut mid-message surfaces as a protocol error.
        sqlx::Error::Protocol(_) => ErrorKind::Unavailable,
        _ => ErrorKind::Storage,
    };
    let message = match &err {
        sqlx::Error::Database(db) => match db.constraint() {
            Some(constraint) => format!("PostgreSQL: {} (constraint {constraint})", db.message()),
            None => format!("PostgreSQL: {}", db.message()),
        },
        sqlx::Error::PoolTimedOut => {
            "PostgreSQL unreachable: no connection could be had within the acquire timeout"
                .to_owned()
        }
        other => format!("PostgreSQL: {other}"),
    };
    Error::new(kind, message).with_source(err)
}

/// The constraint a unique violation names, if `err` is one.
pub(crate) fn unique_violation(err: &sqlx::Error) -> Option<String> {
    match err {
        sqlx::Error::Database(db) if db.code().as_deref() == Some("23505") => {
            Some(db.constraint().unwrap_or_default().to_owned())
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_failures_are_unavailable() {
        let io = sqlx::Error::Io(std::io::Error::new(
            std::io::ErrorKind::ConnectionRefused,
            "refused",
        ));
        let err = map_sqlx_error(io);
        assert_eq!(err.kind(), ErrorKind::Unavailable);
        assert!(err.is_retryable());
        assert_eq!(
            map_sqlx_error(sqlx::Error::PoolTimedOut).kind(),
            ErrorKind::Unavailable
        );
        assert_eq!(
            map_sqlx_error(sqlx::Error::PoolClosed).kind(),
            ErrorKind::Unavailable
        );
        assert_eq!(
            map_sqlx_error(sqlx::Error::RowNotFound).kind(),
            ErrorKind::NotFound
        );
    }
}
