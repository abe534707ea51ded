//! [`ConfigStore`] for [`PostgresStore`]: every record kind is one table holding the
//! spec as JSONB, with version-checked updates.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sqlx::postgres::PgRow;
use sqlx::{Postgres, Row, Transaction};
use storewatch_core::model::{
    AlertRule, AlertRuleSpec, App, AppId, AppSpec, Channel, ChannelId, ChannelSpec, Credential,
    CredentialId, CredentialSpec, Record, ReportConfig, ReportId, ReportSpec, RuleId, Schedule,
    ScheduleId, ScheduleSpec, Spec,
};
use storewatch_core::secrets::SealedSecret;
use storewatch_core::store::ConfigStore;
use storewatch_core::{Error, ErrorKind, Result};

use crate::PostgresStore;
use crate::error::{map_sqlx_error, unique_violation};

/// A spec kind stored in its own table.
pub(crate) trait Kind: Spec + Serialize + DeserializeOwned {
    const TABLE: &'static str;

    fn raw(id: Self::Id) -> i64;
    fn from_raw(id: i64) -> Self::Id;
    fn name(&self) -> &str;

    /// Why a unique constraint refused this spec.
    fn duplicate(&self, _constraint: &str) -> String {
        format!("a {} named {:?} already exists", Self::KIND, self.name())
    }

    /// Checks a stored spec beyond its JSON shape.
    fn check_stored(_json: &serde_json::Value) -> Result<()> {
        Ok(())
    }
}

macro_rules! kind {
    ($spec:ident, $id:ident, $table:literal) => {
        impl Kind for $spec {
            const TABLE: &'static str = $table;
            fn raw(id: $id) -> i64 {
                id.0
            }
            fn from_raw(id: i64) -> $id {
                $id(id)
            }
            fn name(&self) -> &str {
                &self.name
            }
            kind!(@extra $spec);
        }
    };
    (@extra AppSpec) => {
        fn duplicate(&self, constraint: &str) -> String {
            if constraint == "apps_platform_bundle_id_key" {
                format!(
                    "an app with platform {} and bundle id {} already exists",
                    self.platform, self.bundle_id
                )
            } else {
                format!("an app named {:?} already exists", self.name)
            }
        }
    };
    (@extra CredentialSpec) => {
        fn check_stored(json: &serde_json::Value) -> Result<()> {
            check_sealed(json)
        }
    };
    (@extra ChannelSpec) => {
        fn check_stored(json: &serde_json::Value) -> Result<()> {
            check_sealed(json)
        }
    };
    (@extra $other:ident) => {};
}

kind!(AppSpec, AppId, "apps");
kind!(CredentialSpec, CredentialId, "credentials");
kind!(ChannelSpec, ChannelId, "channels");
kind!(AlertRuleSpec, RuleId, "rules");
kind!(ReportSpec, ReportId, "reports");
kind!(ScheduleSpec, ScheduleId, "schedules");

/// A stored sealed value must at least have the sealed format; a damaged one is a
/// `Crypto` error (the caller adds which record).
fn check_sealed(json: &serde_json::Value) -> Result<()> {
    let sealed = json
        .get("sealed")
        .and_then(|s| s.as_str())
        .unwrap_or_default();
    SealedSecret::parse(sealed).map(|_| ())
}

const COLUMNS: &str = "id, version, spec, created_at, updated_at";

fn decode<S: Kind>(row: &PgRow) -> Result<Record<S>> {
    let id: i64 = row.try_get("id").map_err(map_sqlx_error)?;
    let what = || format!("{} {id}", S::KIND);
    let json: serde_json::Value = row.try_get("spec").map_err(map_sqlx_error)?;
    S::check_stored(&json).map_err(|e| e.context(what()))?;
    let spec: S = serde_json::from_value(json).map_err(|e| {
        Error::new(
            ErrorKind::Storage,
            format!("the stored spec of {} is unreadable: {e}", what()),
        )
    })?;
    Ok(Record {
        id: S::from_raw(id),
        version: row.try_get("version").map_err(map_sqlx_error)?,
        created_at: row
            .try_get::<DateTime<Utc>, _>("created_at")
            .map_err(map_sqlx_error)?,
        updated_at: row
            .try_get::<DateTime<Utc>, _>("updated_at")
            .map_err(map_sqlx_error)?,
        spec,
    })
}

fn to_json<S: Kind>(spec: &S) -> Result<serde_json::Value> {
    serde_json::to_value(spec)
        .map_err(|e| Error::internal(format!("cannot encode a {} spec as JSON: {e}", S::KIND)))
}

fn write_error<S: Kind>(spec: &S, err: sqlx::Error) -> Error {
    match unique_violation(&err) {
        Some(constraint) => Error::new(ErrorKind::Conflict, spec.duplicate(&constraint)),
        None => map_sqlx_error(err),
    }
}

impl PostgresStore {
    async fn create<S: Kind>(&self, id: Option<S::Id>, spec: S) -> Result<Record<S>> {
        spec.validate()?;
        let json = to_json(&spec)?;
        let result = match id {
            None => sqlx::query(&format!(
                "INSERT INTO {} (spec) VALUES ($1) RETURNING {COLUMNS}",
                S::TABLE
            ))
            .bind(&json)
            .fetch_one(&self.pool)
            .await
            .map(Some),
            // Only ids handed out by reserve_* are accepted, so a made-up id can never
            // collide with one the sequence hands out later.
            Some(id) => {
                sqlx::query(&format!(
                    "INSERT INTO {t} (id, spec)
                 SELECT $1, $2 FROM {t}_id_seq
                 WHERE $1 BETWEEN 1 AND CASE WHEN is_called THEN last_value ELSE 0 END
                 RETURNING {COLUMNS}",
                    t = S::TABLE
                ))
                .bind(S::raw(id))
                .bind(&json)
                .fetch_optional(&self.pool)
                .await
            }
        };
        let raw_id = id.map(S::raw).unwrap_or_default();
        match result {
            Ok(Some(row)) => decode(&row),
            Ok(None) => Err(Error::invalid_field(
                &format!("{} id", S::KIND),
                raw_id,
                format_args!("an id reserved with reserve_{}_id", S::KIND),
            )),
            Err(e) if unique_violation(&e).as_deref() == Some(&format!("{}_pkey", S::TABLE)) => {
                Err(Error::new(
                    ErrorKind::Conflict,
                    format!("{} {raw_id} already exists", S::KIND),
                ))
            }
            Err(e) => Err(write_error(&spec, e)),
        }
    }

    async fn update<S: Kind>(&self, id: S::Id, version: i64, spec: S) -> Result<Record<S>> {
        spec.validate()?;
        let json = to_json(&spec)?;
        let row = sqlx::query(&format!(
            "UPDATE {} SET spec = $3, version = version + 1, updated_at = now()
             WHERE id = $1 AND version = $2 RETURNING {COLUMNS}",
            S::TABLE
        ))
        .bind(S::raw(id))
        .bind(version)
        .bind(&json)
        .fetch_optional(&self.pool)
        .await
        .map_err(|e| write_error(&spec, e))?;
        match row {
            Some(row) => decode(&row),
            None => {
                let current: Option<i64> =
                    sqlx::query_scalar(&format!("SELECT version FROM {} WHERE id = $1", S::TABLE))
                        .bind(S::raw(id))
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(map_sqlx_error)?;
                Err(match current {
                    None => Error::not_found(S::KIND, id),
                    Some(current) => Error::new(
                        ErrorKind::Conflict,
                        format!(
                            "{} {id} was changed meanwhile: version {version} is stale, the current version is {current}",
                            S::KIND
                        ),
                    ),
                })
            }
        }
    }

    async fn get<S: Kind>(&self, id: S::Id) -> Result<Record<S>> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM {} WHERE id = $1", S::TABLE))
            .bind(S::raw(id))
            .fetch_optional(&self.pool)
            .await
            .map_err(map_sqlx_error)?;
        match row {
            Some(row) => decode(&row),
            None => Err(Error::not_found(S::KIND, id)),
        }
    }

    async fn list<S: Kind>(&self) -> Result<Vec<Record<S>>> {
        let rows = sqlx::query(&format!("SELECT {COLUMNS} FROM {} ORDER BY id", S::TABLE))
            .fetch_all(&self.pool)
            .await
            .map_err(map_sqlx_error)?;
        rows.iter().map(decode).collect()
    }

    async fn delete<S: Kind>(&self, id: S::Id) -> Result<()> {
        let mut tx = self.pool.begin().await.map_err(map_sqlx_error)?;
        let deleted = sqlx::query(&format!("DELETE FROM {} WHERE id = $1", S::TABLE))
            .bind(S::raw(id))
            .execute(&mut *tx)
            .await
            .map_err(map_sqlx_error)?
            .rows_affected();
        if deleted == 0 {
            return Err(Error::not_found(S::KIND, id));
        }
        delete_dependents::<S>(&mut tx, S::raw(id)).await?;
        tx.commit().await.map_err(map_sqlx_error)
    }

    async fn reserve<S: Kind>(&self) -> Result<S::Id> {
        let id: i64 = sqlx::query_scalar(&format!("SELECT nextval('{}_id_seq')", S::TABLE))
            .fetch_one(&self.pool)
            .await
            .map_err(map_sqlx_error)?;
        Ok(S::from_raw(id))
    }
}

/// What goes with a deleted record: an app's points and alert states, a rule's states.
async fn delete_dependents<S: Kind>(tx: &mut Transaction<'_, Postgres>, id: i64) -> Result<()> {
    let statements: &[&str] = match S::TABLE {
        "apps" => &[
            "DELETE FROM metric_points WHERE app_id = $1",
            "DELETE FROM alert_states WHERE app_id = $1",
        ],
        "rules" => &["DELETE FROM alert_states WHERE rule_id = $1"],
        _ => &[],
    };
    for statement in statements {
        sqlx::query(statement)
            .bind(id)
            .execute(&mut **tx)
            .await
            .map_err(map_sqlx_error)?;
    }
    Ok(())
}

#[async_trait]
impl ConfigStore for PostgresStore {
    async fn create_app(&self, spec: AppSpec) -> Result<App> {
        self.create(None, spec).await
    }
    async fn update_app(&self, id: AppId, version: i64, spec: AppSpec) -> Result<App> {
        self.update(id, version, spec).await
    }
    async fn get_app(&self, id: AppId) -> Result<App> {
        self.get(id).await
    }
    async fn list_apps(&self) -> Result<Vec<App>> {
        self.list().await
    }
    async fn delete_app(&self, id: AppId) -> Result<()> {
        self.delete::<AppSpec>(id).await
    }

    async fn reserve_credential_id(&self) -> Result<CredentialId> {
        self.reserve::<CredentialSpec>().await
    }
    async fn create_credential(
        &self,
        id: CredentialId,
        spec: CredentialSpec,
    ) -> Result<Credential> {
        self.create(Some(id), spec).await
    }
    async fn update_credential(
        &self,
        id: CredentialId,
        version: i64,
        spec: CredentialSpec,
    ) -> Result<Credential> {
        self.update(id, version, spec).await
    }
    async fn get_credential(&self, id: CredentialId) -> Result<Credential> {
        self.get(id).await
    }
    async fn list_credentials(&self) -> Result<Vec<Credential>> {
        self.list().await
    }
    async fn delete_credential(&self, id: CredentialId) -> Result<()> {
        self.delete::<CredentialSpec>(id).await
    }

    async fn reserve_channel_id(&self) -> Result<ChannelId> {
        self.reserve::<ChannelSpec>().await
    }
    async fn create_channel(&self, id: ChannelId, spec: ChannelSpec) -> Result<Channel> {
        self.create(Some(id), spec).await
    }
    async fn update_channel(
        &self,
        id: ChannelId,
        version: i64,
        spec: ChannelSpec,
    ) -> Result<Channel> {
        self.update(id, version, spec).await
    }
    async fn get_channel(&self, id: ChannelId) -> Result<Channel> {
        self.get(id).await
    }
    async fn list_channels(&self) -> Result<Vec<Channel>> {
        self.list().await
    }
    async fn delete_channel(&self, id: ChannelId) -> Result<()> {
        self.delete::<ChannelSpec>(id).await
    }

    async fn create_rule(&self, spec: AlertRuleSpec) -> Result<AlertRule> {
        self.create(None, spec).await
    }
    async fn update_rule(
        &self,
        id: RuleId,
        version: i64,
        spec: AlertRuleSpec,
    ) -> Result<AlertRule> {
        self.update(id, version, spec).await
    }
    async fn get_rule(&self, id: RuleId) -> Result<AlertRule> {
        self.get(id).await
    }
    async fn list_rules(&self) -> Result<Vec<AlertRule>> {
        self.list().await
    }
    async fn delete_rule(&self, id: RuleId) -> Result<()> {
        self.delete::<AlertRuleSpec>(id).await
    }

    async fn create_report(&self, spec: ReportSpec) -> Result<ReportConfig> {
        self.create(None, spec).await
    }
    async fn update_report(
        &self,
        id: ReportId,
        version: i64,
        spec: ReportSpec,
    ) -> Result<ReportConfig> {
        self.update(id, version, spec).await
    }
    async fn get_report(&self, id: ReportId) -> Result<ReportConfig> {
        self.get(id).await
    }
    async fn list_reports(&self) -> Result<Vec<ReportConfig>> {
        self.list().await
    }
    async fn delete_report(&self, id: ReportId) -> Result<()> {
        self.delete::<ReportSpec>(id).await
    }

    async fn create_schedule(&self, spec: ScheduleSpec) -> Result<Schedule> {
        self.create(None, spec).await
    }
    async fn update_schedule(
        &self,
        id: ScheduleId,
        version: i64,
        spec: ScheduleSpec,
    ) -> Result<Schedule> {
        self.update(id, version, spec).await
    }
    async fn get_schedule(&self, id: ScheduleId) -> Result<Schedule> {
        self.get(id).await
    }
    async fn list_schedules(&self) -> Result<Vec<Schedule>> {
        self.list().await
    }
    async fn delete_schedule(&self, id: ScheduleId) -> Result<()> {
        self.delete::<ScheduleSpec>(id).await
    }
}
