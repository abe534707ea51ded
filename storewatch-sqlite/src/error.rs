//! The one place where sqlx and SQLite errors become storewatch [`Error`]s.

use storewatch_core::{Error, ErrorKind};

/// SQLite primary result codes (the low byte of an extended code) this mapping needs.
mod code {
    pub(super) const BUSY: i64 = 5;
    pub(super) const LOCKED: i64 = 6;
    pub(super) const NOMEM: i64 = 7;
    pub(super) const READONLY: i64 = 8;
    pub(super) const IOERR: i64 = 10;
    pub(super) const CORRUPT: i64 = 11;
    pub(super) const FULL: i64 = 13;
    pub(super) const CANTOPEN: i64 = 14;
    pub(super) const CONSTRAINT: i64 = 19;
    pub(super) const TOOBIG: i64 = 18;
    pub(super) const NOTADB: i64 = 26;
}

/// Maps an sqlx error to a storewatch error, `what` naming the operation (it becomes
/// the error's context).
///
/// Unique violations are `Conflict`; a database that is busy or locked by another
/// connection or process past the busy timeout, a pool that timed out or closed, and
/// I/O failures are `Unavailable` (retryable); a corrupt file or a broken invariant is
/// `Storage`.
pub(crate) fn map_sqlx(err: sqlx::Error, what: &str) -> Error {
    let (kind, message) = classify(&err);
    Error::new(kind, message)
        .context(what.to_owned())
        .with_source(err)
}

fn classify(err: &sqlx::Error) -> (ErrorKind, String) {
    match err {
        sqlx::Error::Database(db) => {
            let extended = db
                .code()
                .and_then(|c| c.parse::<i64>().ok())
                .unwrap_or_default();
            let kind = match (db.kind(), extended & 0xff) {
                (sqlx::error::ErrorKind::UniqueViolation, _) => ErrorKind::Conflict,
                (sqlx::error::ErrorKind::ForeignKeyViolation, _)
                | (sqlx::error::ErrorKind::NotNullViolation, _)
                | (sqlx::error::ErrorKind::CheckViolation, _) => ErrorKind::InvalidInput,
                (_, code::BUSY | code::LOCKED | code::IOERR | code::FULL | code::CANTOPEN) => {
                    ErrorKind::Unavailable
                }
                (_, code::CONSTRAINT | code::TOOBIG) => ErrorKind::InvalidInput,
                (_, code::NOMEM | code::READONLY | code::CORRUPT | code::NOTADB) => {
                    ErrorKind::Storage
                }
                _ => ErrorKind::Storage,
            };
            (kind, format!("SQLite error {extended}: {}", db.message()))
        }
        sqlx::Error::PoolTimedOut => (
            ErrorKind::Unavailable,
            "timed out waiting for a SQLite connection".to_owned(),
        ),
        sqlx::Error::PoolClosed => (
            ErrorKind::Unavailable,
            "the SQLite connection pool is closed".to_owned(),
        ),
        sqlx::Error::Io(e) => (ErrorKind::Unavailable, format!("I/O error: {e}")),
        sqlx::Error::WorkerCrashed => (
            ErrorKind::Unavailable,
            "the SQLite worker thread stopped".to_owned(),
        ),
        sqlx::Error::Configuration(e) => (
            ErrorKind::Config,
            format!("invalid SQLite configuration: {e}"),
        ),
        sqlx::Error::Migrate(e) => (ErrorKind::Storage, format!("migration failed: {e}")),
        sqlx::Error::RowNotFound => (ErrorKind::NotFound, "no such row".to_owned()),
        sqlx::Error::ColumnDecode { index, source } => (
            ErrorKind::Storage,
            format!("stored column {index} is unreadable: {source}"),
        ),
        other => (ErrorKind::Storage, other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn unique_violation_is_conflict_and_busy_is_unavailable() {
        use sqlx::Connection;
        let mut conn = sqlx::SqliteConnection::connect("sqlite::memory:")
            .await
            .unwrap();
        sqlx::query("CREATE TABLE t (k INTEGER PRIMARY KEY)")
            .execute(&mut conn)
            .await
            .unwrap();
        sqlx::query("INSERT INTO t VALUES (1)")
            .execute(&mut conn)
            .await
            .unwrap();
        let err = sqlx::query("INSERT INTO t VALUES (1)")
            .execute(&mut conn)
            .await
            .unwrap_err();
        let mapped = map_sqlx(err, "inserting t");
        assert_eq!(mapped.kind(), ErrorKind::Conflict);
        assert_eq!(mapped.contexts(), ["inserting t"]);

        assert_eq!(
            map_sqlx(sqlx::Error::PoolTimedOut, "x").kind(),
            ErrorKind::Unavailable
        );
        assert!(map_sqlx(sqlx::Error::PoolClosed, "x").is_retryable());
        let err = sqlx::query("SELECT * FROM missing")
            .execute(&mut conn)
            .await
            .unwrap_err();
        let mapped = map_sqlx(err, "x");
        assert_eq!(mapped.kind(), ErrorKind::Storage);
        assert!(mapped.message().contains("missing"), "{mapped}");
    }
}
