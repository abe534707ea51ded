//! Generic storage of configuration [`Record`]s: one table per spec kind, the spec as
//! JSON beside the columns that carry its uniqueness.

use serde::Serialize;
use serde::de::DeserializeOwned;
use sqlx::Row;
use sqlx::sqlite::SqliteRow;
use storewatch_core::model::{
    AlertRuleSpec, AppSpec, ChannelSpec, CredentialSpec, Record, ReportSpec, ScheduleSpec, Spec,
};
use storewatch_core::secrets::SealedSecret;
use storewatch_core::{Error, ErrorKind, Result};

use crate::SqliteStore;
use crate::codec;
use crate::error::map_sqlx;
use crate::store::commit;

/// A spec kind as laid out in SQLite.
pub(crate) trait StoredSpec: Spec + Serialize + DeserializeOwned {
    /// Its table.
    const TABLE: &'static str;
    /// The table its ids are reserved in, for kinds created under a reserved id.
    const RESERVED_IDS: Option<&'static str> = None;
    /// Columns beside `name` that are unique together.
    const KEY_COLUMNS: &'static [&'static str] = &[];
    /// Whether the spec holds a `sealed` secret.
    const SEALED: bool = false;

    /// The id as stored.
    fn raw_id(id: Self::Id) -> i64;
    /// A stored id back.
    fn typed_id(raw: i64) -> Self::Id;
    /// The unique display name.
    fn name(&self) -> &str;
    /// Values of [`KEY_COLUMNS`](Self::KEY_COLUMNS), in order.
    fn key_values(&self) -> Vec<String> {
        Vec::new()
    }
    /// What a unique violation on the key columns means, in words.
    fn key_conflict(&self) -> String {
        String::new()
    }
}

macro_rules! stored_spec {
    ($spec:ty, $table:literal, $id:ident) => {
        impl StoredSpec for $spec {
            const TABLE: &'static str = $table;
            fn raw_id(id: Self::Id) -> i64 {
                id.0
            }
            fn typed_id(raw: i64) -> Self::Id {
                storewatch_core::model::$id(raw)
            }
            fn name(&self) -> &str {
                &self.name
            }
        }
    };
}

stored_spec!(AlertRuleSpec, "rules", RuleId);
stored_spec!(ReportSpec, "reports", ReportId);
stored_spec!(ScheduleSpec, "schedules", ScheduleId);

impl StoredSpec for AppSpec {
    const TABLE: &'static str = "apps";
    const KEY_COLUMNS: &'static [&'static str] = &["platform", "bundle_id"];
    fn raw_id(id: Self::Id) -> i64 {
        id.0
    }
    fn typed_id(raw: i64) -> Self::Id {
        storewatch_core::model::AppId(raw)
    }
    fn name(&self) -> &str {
        &self.name
    }
    fn key_values(&self) -> Vec<String> {
        vec![
            self.platform.as_str().to_owned(),
            self.bundle_id.as_str().to_owned(),
        ]
    }
    fn key_conflict(&self) -> String {
        format!(
            "an app with {} bundle id {} already exists",
            self.platform, self.bundle_id
        )
    }
}

impl StoredSpec for CredentialSpec {
    const TABLE: &'static str = "credentials";
    const RESERVED_IDS: Option<&'static str> = Some("credential_ids");
    const SEALED: bool = true;
    fn raw_id(id: Self::Id) -> i64 {
        id.0
    }
    fn typed_id(raw: i64) -> Self::Id {
        storewatch_core::model::CredentialId(raw)
    }
    fn name(&self) -> &str {
        &self.name
    }
}

impl StoredSpec for ChannelSpec {
    const TABLE: &'static str = "channels";
    const RESERVED_IDS: Option<&'static str> = Some("channel_ids");
    const SEALED: bool = true;
    fn raw_id(id: Self::Id) -> i64 {
        id.0
    }
    fn typed_id(raw: i64) -> Self::Id {
        storewatch_core::model::ChannelId(raw)
    }
    fn name(&self) -> &str {
        &self.name
    }
}

const RECORD_COLUMNS: &str = "id, version, created_at, updated_at, spec";

/// A stored row back as a record.
fn decode<S: StoredSpec>(row: &SqliteRow) -> Result<Record<S>> {
    let raw: i64 = row.try_get(0).map_err(|e| map_sqlx(e, S::TABLE))?;
    let version: i64 = row.try_get(1).map_err(|e| map_sqlx(e, S::TABLE))?;
    let created: &str = row.try_get(2).map_err(|e| map_sqlx(e, S::TABLE))?;
    let updated: &str = row.try_get(3).map_err(|e| map_sqlx(e, S::TABLE))?;
    let spec: &str = row.try_get(4).map_err(|e| map_sqlx(e, S::TABLE))?;
    let record = format!("{} {raw}", S::KIND);
    Ok(Record {
        id: S::typed_id(raw),
        version,
        created_at: codec::parse_time(created, "created_at").map_err(|e| e.context(&record))?,
        updated_at: codec::parse_time(updated, "updated_at").map_err(|e| e.context(&record))?,
        spec: decode_spec::<S>(spec, &record)?,
    })
}

/// A stored spec back. A sealed value that is not a sealed value is `Crypto` naming
/// the record, so a damaged secret is reported as what it is.
pub(crate) fn decode_spec<S: StoredSpec>(json: &str, record: &str) -> Result<S> {
    let unreadable = |e: serde_json::Error| {
        Error::new(
            ErrorKind::Storage,
            format!("stored {record} is unreadable: {e}"),
        )
    };
    if S::SEALED {
        let value: serde_json::Value = serde_json::from_str(json).map_err(unreadable)?;
        let sealed = value
            .get("sealed")
            .and_then(serde_json::Value::as_str)
            .unwrap_or_default();
        SealedSecret::parse(sealed).map_err(|e| e.context(record.to_owned()))?;
        return serde_json::from_value(value).map_err(unreadable);
    }
    serde_json::from_str(json).map_err(unreadable)
}

pub(crate) fn encode_spec<S: StoredSpec>(spec: &S) -> Result<String> {
    serde_json::to_string(spec)
        .map_err(|e| Error::internal(format!("cannot encode a {} spec: {e}", S::KIND)))
}

/// The conflict error for a unique violation `err` when writing `spec`.
fn conflict<S: StoredSpec>(err: Error, spec: &S, id: Option<i64>) -> Error {
    if err.kind() != ErrorKind::Conflict {
        return err;
    }
    let text = err.message();
    let message = if text.contains(&format!("{}.name", S::TABLE)) {
        format!("a {} named {:?} already exists", S::KIND, spec.name())
    } else if !S::KEY_COLUMNS.is_empty()
        && text.contains(&format!("{}.{}", S::TABLE, S::KEY_COLUMNS[0]))
    {
        spec.key_conflict()
    } else {
        match id {
            Some(id) => format!("{} {id} already exists", S::KIND),
            None => format!("{} already exists", S::KIND),
        }
    };
    Error::new(ErrorKind::Conflict, message)
}

impl SqliteStore {
    /// Reserves an id in `S`'s reservation table.
    pub(crate) async fn reserve_id<S: StoredSpec>(&self) -> Result<i64> {
        let table = S::RESERVED_IDS
            .ok_or_else(|| Error::internal(format!("{} ids are not reserved", S::KIND)))?;
        let what = format!("reserving a {} id", S::KIND);
        sqlx::query_scalar::<_, i64>(&format!("INSERT INTO {table} DEFAULT VALUES RETURNING id"))
            .fetch_one(&self.pool)
            .await
            .map_err(|e| map_sqlx(e, &what))
    }

    /// Creates a record, under `id` when given (a reserved id).
    pub(crate) async fn create_record<S: StoredSpec>(
        &self,
        id: Option<S::Id>,
        spec: S,
    ) -> Result<Record<S>> {
        spec.validate()?;
        let what = format!("creating {} {:?}", S::KIND, spec.name());
        let json = encode_spec(&spec)?;
        let now = codec::time(self.clock_now());
        let raw = id.map(S::raw_id);
        let mut tx = self.write_tx(&what).await?;
        if let (Some(raw), Some(reserved)) = (raw, S::RESERVED_IDS) {
            let known: Option<i64> =
                sqlx::query_scalar(&format!("SELECT id FROM {reserved} WHERE id = ?"))
                    .bind(raw)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(|e| map_sqlx(e, &what))?;
            if known.is_none() {
                return Err(Error::invalid_field(
                    &format!("{} id", S::KIND),
                    raw,
                    format_args!("an id reserved with reserve_{}_id", S::KIND),
                ));
            }
        }
        let mut columns = vec!["id", "version", "created_at", "updated_at", "name", "spec"];
        columns.extend_from_slice(S::KEY_COLUMNS);
        let marks = vec!["?"; columns.len()].join(", ");
        let sql = format!(
            "INSERT INTO {} ({}) VALUES ({marks}) RETURNING {RECORD_COLUMNS}",
            S::TABLE,
            columns.join(", ")
        );
        let mut query = sqlx::query(&sql)
            .bind(raw)
            .bind(1_i64)
            .bind(&now)
            .bind(&now)
            .bind(spec.name())
            .bind(&json);
        for value in spec.key_values() {
            query = query.bind(value);
        }
        let row = query
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| conflict(map_sqlx(e, &what), &spec, raw))?;
        let record = decode::<S>(&row)?;
        commit(tx, &what).await?;
        Ok(record)
    }

    /// Replaces a record's spec if it is still at `version`.
    pub(crate) async fn update_record<S: StoredSpec>(
        &self,
        id: S::Id,
        version: i64,
        spec: S,
    ) -> Result<Record<S>> {
        spec.validate()?;
        let raw = S::raw_id(id);
        let what = format!("updating {} {raw}", S::KIND);
        let json = encode_spec(&spec)?;
        let now = codec::time(self.clock_now());
        let mut sets = vec![
            "version = version + 1",
            "updated_at = ?",
            "name = ?",
            "spec = ?",
        ]
        .into_iter()
        .map(str::to_owned)
        .collect::<Vec<_>>();
        sets.extend(S::KEY_COLUMNS.iter().map(|c| format!("{c} = ?")));
        let sql = format!(
            "UPDATE {} SET {} WHERE id = ? AND version = ? RETURNING {RECORD_COLUMNS}",
            S::TABLE,
            sets.join(", ")
        );
        let mut tx = self.write_tx(&what).await?;
        let mut query = sqlx::query(&sql).bind(&now).bind(spec.name()).bind(&json);
        for value in spec.key_values() {
            query = query.bind(value);
        }
        let row = query
            .bind(raw)
            .bind(version)
            .fetch_optional(&mut *tx)
            .await
            .map_err(|e| conflict(map_sqlx(e, &what), &spec, Some(raw)))?;
        let Some(row) = row else {
            let current: Option<i64> =
                sqlx::query_scalar(&format!("SELECT version FROM {} WHERE id = ?", S::TABLE))
                    .bind(raw)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(|e| map_sqlx(e, &what))?;
            return Err(match current {
                None => Error::not_found(S::KIND, raw),
                Some(current) => Error::new(
                    ErrorKind::Conflict,
                    format!(
                        "{} {raw} was changed meanwhile: it is at version {current}, not {version}",
                        S::KIND
                    ),
                ),
            });
        };
        let record = decode::<S>(&row)?;
        commit(tx, &what).await?;
        Ok(record)
    }

    /// One record.
    pub(crate) async fn get_record<S: StoredSpec>(&self, id: S::Id) -> Result<Record<S>> {
        let raw = S::raw_id(id);
        let what = format!("reading {} {raw}", S::KIND);
        let row = sqlx::query(&format!(
            "SELECT {RECORD_COLUMNS} FROM {} WHERE id = ?",
            S::TABLE
        ))
        .bind(raw)
        .fetch_optional(&self.pool)
        .await
        .map_err(|e| map_sqlx(e, &what))?
        .ok_or_else(|| Error::not_found(S::KIND, raw))?;
        decode(&row)
    }

    /// Every record, by id.
    pub(crate) async fn list_records<S: StoredSpec>(&self) -> Result<Vec<Record<S>>> {
        let what = format!("listing {}", S::TABLE);
        let rows = sqlx::query(&format!(
            "SELECT {RECORD_COLUMNS} FROM {} ORDER BY id",
            S::TABLE
        ))
        .fetch_all(&self.pool)
        .await
        .map_err(|e| map_sqlx(e, &what))?;
        rows.iter().map(decode).collect()
    }

    /// Deletes a record, running `cleanup` statements (each binding the id) first in
    /// the same transaction.
    pub(crate) async fn delete_record<S: StoredSpec>(
        &self,
        id: S::Id,
        cleanup: &[&str],
    ) -> Result<()> {
        let raw = S::raw_id(id);
        let what = format!("deleting {} {raw}", S::KIND);
        let mut tx = self.write_tx(&what).await?;
        for sql in cleanup {
            sqlx::query(sql)
                .bind(raw)
                .execute(&mut *tx)
                .await
                .map_err(|e| map_sqlx(e, &what))?;
        }
        let deleted = sqlx::query(&format!("DELETE FROM {} WHERE id = ?", S::TABLE))
            .bind(raw)
            .execute(&mut *tx)
            .await
            .map_err(|e| map_sqlx(e, &what))?
            .rows_affected();
        if deleted == 0 {
            return Err(Error::not_found(S::KIND, raw));
        }
        commit(tx, &what).await
    }
}
