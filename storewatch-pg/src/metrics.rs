//! [`MetricStore`] for [`PostgresStore`]: bulk upserts through `UNNEST` arrays and
//! history grouped by series in the database.

use std::collections::{BTreeMap, BTreeSet};

use async_trait::async_trait;
use chrono::NaiveDate;
use sqlx::Row;
use storewatch_core::analysis::{MetricHistory, Series, SeriesKey};
use storewatch_core::model::{AppId, BundleId, Metric, MetricPoint, Platform};
use storewatch_core::store::{DaySelection, HistoryQuery, MetricStore};
use storewatch_core::{Error, Result};

use crate::PostgresStore;
use crate::error::{map_sqlx_error, unique_violation};

/// Points per `INSERT … SELECT FROM UNNEST`: large enough that per-statement costs
/// vanish, small enough that one statement's arrays stay a few MB.
pub(crate) const CHUNK: usize = 50_000;

/// Memory for the history query's grouping, for its transaction only.
const HISTORY_WORK_MEM: &str = "SET LOCAL work_mem = '64MB'";

/// The fast path for points not stored yet (the daily case): a plain insert, which
/// costs about what a `COPY` does.
const INSERT: &str = "INSERT INTO metric_points (app_id, metric, segment, day, value)
    SELECT * FROM UNNEST($1::int8[], $2::text[], $3::text[], $4::date[], $5::float8[])";

/// The general path, when some points of a chunk are stored already.
const UPSERT: &str = "INSERT INTO metric_points (app_id, metric, segment, day, value)
    SELECT * FROM UNNEST($1::int8[], $2::text[], $3::text[], $4::date[], $5::float8[])
    ON CONFLICT (app_id, metric, segment, day) DO UPDATE SET value = EXCLUDED.value
    WHERE metric_points.value IS DISTINCT FROM EXCLUDED.value";

/// The points to write, in key order, the last of duplicates winning (a batch may
/// carry a restated value after the first one; `ON CONFLICT` refuses to touch one row
/// twice in a statement).
fn key(p: &MetricPoint) -> (AppId, &str, &str, NaiveDate) {
    (p.app_id, p.metric.as_str(), p.segment.as_str(), p.date)
}

fn ordered_unique(points: &[MetricPoint]) -> Vec<&MetricPoint> {
    let mut order: Vec<usize> = (0..points.len()).collect();
    // Stable, so among equal keys the later point comes last.
    order.sort_by(|&a, &b| key(&points[a]).cmp(&key(&points[b])));
    let mut out: Vec<&MetricPoint> = Vec::with_capacity(points.len());
    for i in order {
        let p = &points[i];
        match out.last_mut() {
            Some(last) if key(last) == key(p) => *last = p,
            _ => out.push(p),
        }
    }
    out
}

impl PostgresStore {
    /// Refuses the batch when it names an app that does not exist, and keeps the apps
    /// from being deleted until the transaction ends.
    async fn lock_apps(conn: &mut sqlx::PgConnection, points: &[&MetricPoint]) -> Result<()> {
        let wanted: BTreeSet<i64> = points.iter().map(|p| p.app_id.0).collect();
        let ids: Vec<i64> = wanted.iter().copied().collect();
        let found: BTreeSet<i64> =
            sqlx::query_scalar("SELECT id FROM apps WHERE id = ANY($1) FOR KEY SHARE")
                .bind(&ids)
                .fetch_all(&mut *conn)
                .await
                .map_err(map_sqlx_error)?
                .into_iter()
                .collect();
        if let Some(p) = points.iter().find(|p| !found.contains(&p.app_id.0)) {
            return Err(
                Error::invalid_field("app_id", p.app_id.0, "the id of an existing app").context(
                    format!(
                        "point of app {} metric {} on {}",
                        p.app_id, p.metric, p.date
                    ),
                ),
            );
        }
        Ok(())
    }
}

#[async_trait]
impl MetricStore for PostgresStore {
    async fn upsert_points(&self, points: &[MetricPoint]) -> Result<u64> {
        for p in points {
            p.validate()?;
        }
        if points.is_empty() {
            return Ok(0);
        }
        let unique = ordered_unique(points);
        let mut tx = self.pool.begin().await.map_err(map_sqlx_error)?;
        Self::lock_apps(&mut tx, &unique).await?;
        for chunk in unique.chunks(CHUNK) {
            let mut apps = Vec::with_capacity(chunk.len());
            let mut metrics = Vec::with_capacity(chunk.len());
            let mut segments = Vec::with_capacity(chunk.len());
            let mut days = Vec::with_capacity(chunk.len());
            let mut values = Vec::with_capacity(chunk.len());
            for p in chunk {
                apps.push(p.app_id.0);
                metrics.push(p.metric.as_str());
                segments.push(p.segment.as_str());
                days.push(p.date);
                values.push(p.value);
            }
            // Try the plain insert under a savepoint; the first stored key aborts it
            // (sorted input puts a restated series' keys together, so it fails
            // early) and the chunk goes again as an upsert.
            sqlx::query("SAVEPOINT chunk")
                .execute(&mut *tx)
                .await
                .map_err(map_sqlx_error)?;
            let plain = sqlx::query(INSERT)
                .bind(&apps)
                .bind(&metrics)
                .bind(&segments)
                .bind(&days)
                .bind(&values)
                .execute(&mut *tx)
                .await;
            match plain {
                Ok(_) => {
                    sqlx::query("RELEASE SAVEPOINT chunk")
                        .execute(&mut *tx)
                        .await
                        .map_err(map_sqlx_error)?;
                }
                Err(e) if unique_violation(&e).is_some() => {
                    sqlx::query("ROLLBACK TO SAVEPOINT chunk")
                        .execute(&mut *tx)
                        .await
                        .map_err(map_sqlx_error)?;
                    sqlx::query(UPSERT)
                        .bind(&apps)
                        .bind(&metrics)
                        .bind(&segments)
                        .bind(&days)
                        .bind(&values)
                        .execute(&mut *tx)
                        .await
                        .map_err(map_sqlx_error)?;
                }
                Err(e) => return Err(map_sqlx_error(e)),
            }
        }
        tx.commit().await.map_err(map_sqlx_error)?;
        Ok(points.len() as u64)
    }

    async fn history(&self, query: &HistoryQuery) -> Result<MetricHistory> {
        // Group in the database (one row per series with its days and values as
        // arrays), then add the apps' identity to the few grouped rows.
        let mut sql = String::from(
            "SELECT g.app_id, a.platform, a.bundle_id, g.metric, g.segment, g.days, g.vals
             FROM (SELECT app_id, metric, segment,
                          array_agg(day) AS days, array_agg(value) AS vals
                   FROM metric_points WHERE ",
        );
        sql.push_str(match query.days {
            DaySelection::Range { .. } => "day BETWEEN $1 AND $2",
            DaySelection::Days(_) => "day = ANY($1)",
        });
        let mut param = match query.days {
            DaySelection::Range { .. } => 3,
            DaySelection::Days(_) => 2,
        };
        let app_ids: Option<Vec<i64>> = query
            .apps
            .as_ref()
            .map(|a| a.iter().map(|id| id.0).collect());
        let metric_names: Option<Vec<&str>> = query
            .metrics
            .as_ref()
            .map(|m| m.iter().map(Metric::as_str).collect());
        if app_ids.is_some() {
            sql.push_str(&format!(" AND app_id = ANY(${param})"));
            param += 1;
        }
        if metric_names.is_some() {
            sql.push_str(&format!(" AND metric = ANY(${param})"));
        }
        sql.push_str(" GROUP BY app_id, metric, segment) g JOIN apps a ON a.id = g.app_id");

        let mut q = sqlx::query(&sql);
        q = match &query.days {
            DaySelection::Range { from, to } => q.bind(*from).bind(*to),
            DaySelection::Days(days) => q.bind(days.clone()),
        };
        if let Some(ids) = &app_ids {
            q = q.bind(ids);
        }
        if let Some(names) = &metric_names {
            q = q.bind(names);
        }
        let mut tx = self.pool.begin().await.map_err(map_sqlx_error)?;
        // Grouping a whole portfolio's history needs more than the default 4 MB to
        // stay in memory; SET LOCAL ends with the transaction.
        sqlx::query(HISTORY_WORK_MEM)
            .execute(&mut *tx)
            .await
            .map_err(map_sqlx_error)?;
        let rows = q.fetch_all(&mut *tx).await.map_err(map_sqlx_error)?;
        tx.commit().await.map_err(map_sqlx_error)?;

        let mut series = Vec::with_capacity(rows.len());
        for row in rows {
            let app_id = AppId(row.try_get("app_id").map_err(map_sqlx_error)?);
            let stored = |what: &str, e: Error| e.context(format!("stored {what} of app {app_id}"));
            let platform: Platform = row
                .try_get::<String, _>("platform")
                .map_err(map_sqlx_error)?
                .parse()
                .map_err(|e| stored("platform", e))?;
            let bundle_id = BundleId::parse(
                platform,
                &row.try_get::<String, _>("bundle_id")
                    .map_err(map_sqlx_error)?,
            )
            .map_err(|e| stored("bundle id", e))?;
            let metric = Metric::new(row.try_get::<String, _>("metric").map_err(map_sqlx_error)?)
                .map_err(|e| stored("metric", e))?;
            let segment: String = row.try_get("segment").map_err(map_sqlx_error)?;
            let days: Vec<NaiveDate> = row.try_get("days").map_err(map_sqlx_error)?;
            let values: Vec<f64> = row.try_get("vals").map_err(map_sqlx_error)?;
            series.push(Series {
                key: SeriesKey {
                    platform,
                    bundle_id,
                    metric,
                    segment,
                    app_id,
                },
                points: days.into_iter().zip(values).collect(),
            });
        }
        series.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(MetricHistory { series })
    }

    async fn latest_dates(&self, apps: &[AppId]) -> Result<BTreeMap<AppId, NaiveDate>> {
        let ids: Vec<i64> = apps.iter().map(|a| a.0).collect();
        // Per app, the newest day first through the day index: recent days hold every
        // active app, so each probe stops early.
        let rows: Vec<(i64, NaiveDate)> = sqlx::query_as(
            "SELECT a.id, l.day FROM unnest($1::int8[]) AS a(id)
             CROSS JOIN LATERAL (
                 SELECT day FROM metric_points WHERE app_id = a.id ORDER BY day DESC LIMIT 1
             ) l",
        )
        .bind(&ids)
        .fetch_all(&self.pool)
        .await
        .map_err(map_sqlx_error)?;
        Ok(rows.into_iter().map(|(id, day)| (AppId(id), day)).collect())
    }

    async fn point_counts(&self) -> Result<BTreeMap<AppId, u64>> {
        // An index-only scan of the primary key, which leads with app_id.
        let rows: Vec<(i64, i64)> =
            sqlx::query_as("SELECT app_id, count(*) FROM metric_points GROUP BY app_id")
                .fetch_all(&self.pool)
                .await
                .map_err(map_sqlx_error)?;
        Ok(rows
            .into_iter()
            .map(|(app, n)| (AppId(app), u64::try_from(n).unwrap_or_default()))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicates_keep_the_last_value_and_key_order() {
        let d = NaiveDate::from_ymd_opt(2026, 3, 1).unwrap();
        let points = vec![
            MetricPoint::total(AppId(2), Metric::DOWNLOADS, d, 1.0),
            MetricPoint::total(AppId(1), Metric::DOWNLOADS, d, 2.0),
            MetricPoint::total(AppId(2), Metric::DOWNLOADS, d, 3.0),
        ];
        let unique = ordered_unique(&points);
        assert_eq!(unique.len(), 2);
        assert_eq!(unique[0].app_id, AppId(1));
        assert_eq!(unique[1].value, 3.0);
    }
}
