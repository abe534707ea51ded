//! DataCollection: the target day, the missing days since the last stored one and the
//! last `restate_days`, one source call per credential (all credentials at once), points
//! upserted in bulk.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, MutexGuard, PoisonError};

use chrono::{Days, NaiveDate};
use tokio_util::sync::CancellationToken;

use super::{BuiltSources, Pipeline, RunState};
use crate::model::{App, AppId, Credential, CredentialId, CredentialSpec, MetricPoint, Spec};
use crate::source::{AppTarget, CollectBatch, CollectRequest, DayOutcome, MetricSource};
use crate::{Error, ErrorKind, Result};

/// What a DataCollection stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CollectionSummary {
    /// Points written.
    pub points: u64,
}

impl Pipeline {
    /// Collects `apps` up to `day`; one credential's or one app's failure never stops
    /// the others.
    pub(crate) async fn collect(
        &self,
        apps: &[App],
        day: NaiveDate,
        cancel: &CancellationToken,
        st: &mut RunState,
    ) -> Result<CollectionSummary> {
        let store = &self.inner.store;
        let ids: Vec<AppId> = apps.iter().map(|a| a.id).collect();
        let latest = store.latest_dates(&ids).await?;
        let credentials = store.list_credentials().await?;
        self.sources()
            .retain(|id, _| credentials.iter().any(|c| c.id == *id));
        let mut groups: BTreeMap<CredentialId, Vec<&App>> = BTreeMap::new();
        for app in apps {
            match credential_of(app, &credentials) {
                Ok(id) => groups.entry(id).or_default().push(app),
                Err(e) => st.error(format!("app {}: {e}", app.bundle_id)),
            }
        }
        // Each credential is its own account with its own rate limits: all are collected
        // at once, and their batches stored one after another as they are in order.
        let mut jobs = Vec::new();
        for (credential_id, group) in groups {
            let Some(credential) = credentials.iter().find(|c| c.id == credential_id) else {
                continue;
            };
            let source = match self.open_source(credential) {
                Ok(source) => source,
                Err(e) => {
                    for app in &group {
                        st.error(format!("app {}: {e}", app.bundle_id));
                    }
                    continue;
                }
            };
            let from = group
                .iter()
                .map(|a| self.first_day(latest.get(&a.id).copied(), day))
                .min()
                .unwrap_or(day);
            let req = CollectRequest::new(
                group.iter().map(|a| AppTarget::from(*a)).collect(),
                from,
                day,
            );
            jobs.push(async move {
                let result = source.collect(&req).await;
                (group, from, result)
            });
        }
        let results = tokio::select! {
            biased;
            () = cancel.cancelled() => Vec::new(),
            results = futures::future::join_all(jobs) => results,
        };
        let mut summary = CollectionSummary::default();
        for (group, from, result) in results {
            match result {
                Ok(batch) => summary.points += self.record_batch(&group, batch, st).await,
                Err(e) => {
                    for app in &group {
                        st.error(format!(
                            "app {}: collecting {from}..{day} failed: {e}",
                            app.bundle_id
                        ));
                    }
                }
            }
        }
        st.out.line(format!("collected {} points", summary.points));
        Ok(summary)
    }

    /// The first day to collect for an app whose latest stored day is `latest`.
    fn first_day(&self, latest: Option<NaiveDate>, day: NaiveDate) -> NaiveDate {
        let back = |n: u32| {
            day.checked_sub_days(Days::new(u64::from(n.max(1) - 1)))
                .unwrap_or(day)
        };
        let lookback_start = back(self.inner.config.lookback_days);
        let restate_start = back(self.inner.config.restate_days);
        let missing_start = latest.and_then(|d| d.succ_opt()).unwrap_or(lookback_start);
        missing_start
            .min(restate_start)
            .max(lookback_start)
            .min(day)
    }

    /// The source of `credential`: the one built for its current version, else a new one.
    fn open_source(&self, credential: &Credential) -> Result<Arc<dyn MetricSource>> {
        if let Some((_, source)) = self
            .sources()
            .get(&credential.id)
            .filter(|(version, _)| *version == credential.version)
        {
            return Ok(Arc::clone(source));
        }
        let config = self.keyring("credentials")?.open(
            CredentialSpec::KIND,
            credential.id.0,
            &credential.sealed,
        )?;
        let source = self
            .inner
            .registry
            .build_source(&credential.kind, &config)
            .map_err(|e| e.context(format!("credential {:?}", credential.name)))?;
        self.sources()
            .insert(credential.id, (credential.version, Arc::clone(&source)));
        Ok(source)
    }

    fn sources(&self) -> MutexGuard<'_, BuiltSources> {
        self.inner
            .sources
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Stores a batch and counts each app once: failed, pending or collected.
    async fn record_batch(&self, group: &[&App], batch: CollectBatch, st: &mut RunState) -> u64 {
        let store = &self.inner.store;
        let members: HashSet<AppId> = group.iter().map(|a| a.id).collect();
        let points: Vec<MetricPoint> = batch
            .points
            .into_iter()
            .filter(|p| members.contains(&p.app_id))
            .collect();
        let mut written = 0;
        let mut write_failed: BTreeMap<AppId, Error> = BTreeMap::new();
        match store.upsert_points(&points).await {
            Ok(n) => written = n,
            // One app's bad points must not cost the others theirs: write app by app.
            Err(_) => {
                let mut by_app: BTreeMap<AppId, Vec<MetricPoint>> = BTreeMap::new();
                for p in points {
                    by_app.entry(p.app_id).or_default().push(p);
                }
                for (app, app_points) in by_app {
                    match store.upsert_points(&app_points).await {
                        Ok(n) => written += n,
                        Err(e) => {
                            write_failed.insert(app, e);
                        }
                    }
                }
            }
        }
        for app in group {
            let outcomes = batch.outcomes.iter().filter(|o| o.app_id == app.id);
            let mut failure: Option<String> = write_failed
                .get(&app.id)
                .map(|e| format!("storing points failed: {e}"));
            let mut pending = false;
            for o in outcomes {
                match &o.outcome {
                    DayOutcome::Failed(e) if failure.is_none() => {
                        failure = Some(format!("{}: {e}", o.day))
                    }
                    DayOutcome::NotYetAvailable { retry_after } => {
                        pending = true;
                        st.pending(*retry_after);
                    }
                    _ => {}
                }
            }
            match failure {
                Some(why) => st.error(format!("app {}: {why}", app.bundle_id)),
                None if pending => st.out.line(format!(
                    "app {}: pending, data not yet available",
                    app.bundle_id
                )),
                None => st.success += 1,
            }
        }
        for (app_id, store_id) in batch.resolved_store_ids {
            if let Err(e) = self.cache_store_id(app_id, store_id).await {
                st.out
                    .line(format!("app {app_id}: could not cache its store id: {e}"));
            }
        }
        written
    }

    async fn cache_store_id(&self, app_id: AppId, store_id: String) -> Result<()> {
        let store = &self.inner.store;
        let app = store.get_app(app_id).await?;
        if app.store_id.as_deref() == Some(store_id.as_str()) {
            return Ok(());
        }
        let mut spec = app.spec.clone();
        spec.store_id = Some(store_id);
        store
            .update_app(app.id, app.version, spec)
            .await
            .map(|_| ())
    }
}

/// The app's credential, or its platform's only one.
fn credential_of(app: &App, credentials: &[Credential]) -> Result<CredentialId> {
    if let Some(id) = app.credential_id {
        return Ok(id);
    }
    let mut matching = credentials.iter().filter(|c| c.platform == app.platform);
    match (matching.next(), matching.next()) {
        (Some(c), None) => Ok(c.id),
        (None, _) => Err(Error::new(
            ErrorKind::Config,
            format!(
                "no {} credential: add one to collect this app",
                app.platform
            ),
        )),
        (Some(_), Some(_)) => Err(Error::new(
            ErrorKind::Config,
            format!(
                "several {} credentials: set the app's credential_id",
                app.platform
            ),
        )),
    }
}
