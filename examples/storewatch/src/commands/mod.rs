//! The CLI's commands, one module per command group.

pub(crate) mod analyze;
pub(crate) mod apps;
pub(crate) mod channels;
pub(crate) mod config;
pub(crate) mod credentials;
pub(crate) mod executions;
mod flags;
pub(crate) mod keys;
pub(crate) mod lookup;
pub(crate) mod metrics;
mod records;
pub(crate) mod reports;
mod rule_condition;
pub(crate) mod rules;
pub(crate) mod runs;
pub(crate) mod scheduler;
pub(crate) mod schedules;
mod sealed;

use storewatch_core::{Error, Result};

use crate::context::Context;
use crate::settings::Settings;

/// `storewatch migrate`: opening the database applies what is missing.
pub(crate) async fn migrate(settings: Settings) -> Result<()> {
    let ctx = Context::open(settings).await?;
    let pending = ctx.db.pending_migrations().await?;
    if !pending.is_empty() {
        return Err(Error::internal(format!(
            "migrations still pending: {pending:?}"
        )));
    }
    tracing::info!(database = %ctx.settings.database_display(), "schema is current");
    Ok(())
}
