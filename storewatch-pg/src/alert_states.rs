//! Alert states, one row per fingerprint (rule, app, metric, segment).

use chrono::{DateTime, NaiveDate, Utc};
use storewatch_core::model::{AlertState, AlertStates, AppId, Fingerprint, Metric, RuleId};
use storewatch_core::{Error, Result};

use crate::PostgresStore;
use crate::error::map_sqlx_error;
use crate::text::{from_text, to_text, to_u32};

type StateRow = (
    i64,
    i64,
    String,
    String,
    String,
    i64,
    Option<NaiveDate>,
    DateTime<Utc>,
    Option<DateTime<Utc>>,
    Option<String>,
);

impl PostgresStore {
    pub(crate) async fn load_alert_states(&self) -> Result<AlertStates> {
        let rows: Vec<StateRow> = sqlx::query_as(
            "SELECT rule_id, app_id, metric, segment, status, breach_days, last_day, since,
                    last_notified, last_severity
             FROM alert_states",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(map_sqlx_error)?;
        let mut states = AlertStates::with_capacity(rows.len());
        for (
            rule,
            app,
            metric,
            segment,
            status,
            breach_days,
            last_day,
            since,
            notified,
            severity,
        ) in rows
        {
            let fingerprint = Fingerprint {
                rule_id: RuleId(rule),
                app_id: AppId(app),
                metric: Metric::new(metric).map_err(|e| e.context("stored alert state"))?,
                segment,
            };
            let state = AlertState {
                status: from_text("alert status", &status)?,
                breach_days: to_u32("breach_days", breach_days)?,
                last_day,
                since,
                last_notified: notified,
                last_severity: severity
                    .as_deref()
                    .map(|s| from_text("severity", s))
                    .transpose()?,
                fingerprint: fingerprint.clone(),
            };
            states.insert(fingerprint, state);
        }
        Ok(states)
    }

    pub(crate) async fn store_alert_states(&self, states: &[AlertState]) -> Result<()> {
        for s in states {
            storewatch_core::model::validate_segment(&s.fingerprint.segment)
                .map_err(|e: Error| e.context(format!("alert state {}", s.fingerprint)))?;
        }
        let mut tx = self.pool.begin().await.map_err(map_sqlx_error)?;
        for s in states {
            let f = &s.fingerprint;
            sqlx::query(
                "INSERT INTO alert_states (rule_id, app_id, metric, segment, status, breach_days,
                     last_day, since, last_notified, last_severity)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
                 ON CONFLICT (rule_id, app_id, metric, segment) DO UPDATE SET
                     status = EXCLUDED.status, breach_days = EXCLUDED.breach_days,
                     last_day = EXCLUDED.last_day, since = EXCLUDED.since,
                     last_notified = EXCLUDED.last_notified,
                     last_severity = EXCLUDED.last_severity",
            )
            .bind(f.rule_id.0)
            .bind(f.app_id.0)
            .bind(f.metric.as_str())
            .bind(&f.segment)
            .bind(to_text(&s.status))
            .bind(i64::from(s.breach_days))
            .bind(s.last_day)
            .bind(s.since)
            .bind(s.last_notified)
            .bind(s.last_severity.as_ref().map(to_text))
            .execute(&mut *tx)
            .await
            .map_err(map_sqlx_error)?;
        }
        tx.commit().await.map_err(map_sqlx_error)
    }
}
