//! Carrying out a plan, in dependency order.
//!
//! Deletions go first, dependents before what they depend on (rules, reports and
//! schedules, then channels, credentials, apps), so a name a pruned record held is free
//! again; then apps and channels are written, then the rules, reports and schedules
//! that refer to them, with the placeholder ids of new apps replaced by the created
//! apps' ids.

use std::collections::HashMap;

use storewatch_core::model::AppId;
use storewatch_core::store::Store;
use storewatch_core::{Error, Result};

use super::plan::Plan;

/// What an apply did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Applied {
    /// Records created.
    pub(crate) created: usize,
    /// Records updated.
    pub(crate) updated: usize,
    /// Records deleted.
    pub(crate) deleted: usize,
}

/// The real id of an app the file refers to.
fn real(app: Option<AppId>, created: &HashMap<AppId, AppId>) -> Result<Option<AppId>> {
    match app {
        Some(id) if id.0 < 0 => created
            .get(&id)
            .copied()
            .map(Some)
            .ok_or_else(|| Error::internal(format!("placeholder app id {id} was not created"))),
        other => Ok(other),
    }
}

/// Writes the plan to the store.
pub(crate) async fn apply(plan: Plan, store: &dyn Store) -> Result<Applied> {
    let mut done = Applied::default();

    for id in plan.rules.delete {
        store.delete_rule(id).await?;
        done.deleted += 1;
    }
    for id in plan.reports.delete {
        store.delete_report(id).await?;
        done.deleted += 1;
    }
    for id in plan.schedules.delete {
        store.delete_schedule(id).await?;
        done.deleted += 1;
    }
    for id in plan.channels.delete {
        store.delete_channel(id).await?;
        done.deleted += 1;
    }
    for id in plan.credentials_delete {
        store.delete_credential(id).await?;
        done.deleted += 1;
    }
    for id in plan.apps.delete {
        store.delete_app(id).await?;
        done.deleted += 1;
    }

    let mut created_apps = HashMap::new();
    for (placeholder, spec) in plan.apps.create {
        let app = store.create_app(spec).await?;
        if let Some(placeholder) = placeholder {
            created_apps.insert(placeholder, app.id);
        }
        done.created += 1;
    }
    for (id, version, spec) in plan.apps.update {
        store.update_app(id, version, spec).await?;
        done.updated += 1;
    }
    for (id, version, spec) in plan.channels.update {
        store.update_channel(id, version, spec).await?;
        done.updated += 1;
    }

    for (_, mut spec) in plan.rules.create {
        spec.app_id = real(spec.app_id, &created_apps)?;
        store.create_rule(spec).await?;
        done.created += 1;
    }
    for (id, version, mut spec) in plan.rules.update {
        spec.app_id = real(spec.app_id, &created_apps)?;
        store.update_rule(id, version, spec).await?;
        done.updated += 1;
    }
    for (_, mut spec) in plan.reports.create {
        spec.app_id = real(spec.app_id, &created_apps)?;
        store.create_report(spec).await?;
        done.created += 1;
    }
    for (id, version, mut spec) in plan.reports.update {
        spec.app_id = real(spec.app_id, &created_apps)?;
        store.update_report(id, version, spec).await?;
        done.updated += 1;
    }
    for (_, mut spec) in plan.schedules.create {
        spec.app_id = real(spec.app_id, &created_apps)?;
        store.create_schedule(spec).await?;
        done.created += 1;
    }
    for (id, version, mut spec) in plan.schedules.update {
        spec.app_id = real(spec.app_id, &created_apps)?;
        store.update_schedule(id, version, spec).await?;
        done.updated += 1;
    }
    Ok(done)
}
