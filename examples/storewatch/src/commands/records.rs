//! What the record groups (`apps`, `credentials`, `channels`, `rules`, `reports`,
//! `schedules`) share: the subcommands that work alike on every kind (list, show,
//! remove, enable, disable), saving a changed record under the version it was read at,
//! and printing records as a listing.

#![allow(clippy::print_stdout)] // `remove` reports what it removed

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};
use storewatch_core::model::{
    AlertRule, AlertRuleSpec, App, AppId, AppSpec, Channel, ChannelId, ChannelSpec, Credential,
    CredentialId, Record, ReportConfig, ReportSpec, Schedule, ScheduleSpec, Spec,
};
use storewatch_core::store::Store;
use storewatch_core::{Error, ErrorKind, Result};

use crate::context::Context;
use crate::output::{Format, Listing};
use crate::settings::Settings;

/// Every configuration record, read once, to name what records refer to.
#[derive(Debug)]
pub(crate) struct Catalog {
    pub(crate) apps: Vec<App>,
    pub(crate) credentials: Vec<Credential>,
    pub(crate) channels: Vec<Channel>,
    pub(crate) rules: Vec<AlertRule>,
    pub(crate) reports: Vec<ReportConfig>,
    pub(crate) schedules: Vec<Schedule>,
    /// When it was read (schedules show their next fire time from it).
    pub(crate) now: DateTime<Utc>,
}

impl Catalog {
    /// Reads every record.
    pub(crate) async fn load(ctx: &Context) -> Result<Catalog> {
        let store = &ctx.store;
        Ok(Catalog {
            apps: store.list_apps().await?,
            credentials: store.list_credentials().await?,
            channels: store.list_channels().await?,
            rules: store.list_rules().await?,
            reports: store.list_reports().await?,
            schedules: store.list_schedules().await?,
            now: ctx.clock.now(),
        })
    }

    /// An app's name, `all` for every app.
    pub(crate) fn app(&self, id: Option<AppId>) -> Value {
        match id {
            None => json!("all"),
            Some(id) => name_of(&self.apps, id, |a| &a.name),
        }
    }

    /// A channel's name.
    pub(crate) fn channel(&self, id: ChannelId) -> Value {
        name_of(&self.channels, id, |c| &c.name)
    }

    /// A credential's name; `null` when the app uses its platform's only credential.
    pub(crate) fn credential(&self, id: Option<CredentialId>) -> Value {
        id.map_or(Value::Null, |id| {
            name_of(&self.credentials, id, |c| &c.name)
        })
    }
}

/// A record's name, or `#<id> (missing)` for a dangling reference.
fn name_of<S: Spec>(records: &[Record<S>], id: S::Id, name: fn(&S) -> &str) -> Value {
    records.iter().find(|r| r.id == id).map_or_else(
        || json!(format!("#{id} (missing)")),
        |r| json!(name(&r.spec)),
    )
}

/// The records of `records` that satisfy `uses`, as `<kind> <id> (<name>)`.
pub(crate) fn users<S: Managed>(records: &[Record<S>], uses: impl Fn(&S) -> bool) -> Vec<String> {
    records
        .iter()
        .filter(|r| uses(&r.spec))
        .map(|r| format!("{} {} ({})", S::KIND, r.id, r.spec.name()))
        .collect()
}

/// A kind of configuration record the CLI manages.
pub(crate) trait Managed: Spec<Id: serde::Serialize> {
    /// Column names of [`Managed::cells`].
    const COLUMNS: &'static [&'static str];

    /// The record's display name.
    fn name(&self) -> &str;
    /// This kind's records in the catalog.
    fn all(catalog: &Catalog) -> &[Record<Self>];
    /// One record by what a person typed (id, name, …).
    async fn find(store: &dyn Store, key: &str) -> Result<Record<Self>>;
    /// Replaces the spec if the record is still at `version`.
    async fn save(
        store: &dyn Store,
        id: Self::Id,
        version: i64,
        spec: Self,
    ) -> Result<Record<Self>>;
    /// Deletes the record.
    async fn delete(store: &dyn Store, id: Self::Id) -> Result<()>;
    /// The cells under [`Managed::COLUMNS`]; never a secret.
    fn cells(&self, catalog: &Catalog) -> Vec<Value>;
    /// The records that refer to record `id` (removing it is refused while any do).
    fn users(_id: Self::Id, _catalog: &Catalog) -> Vec<String> {
        Vec::new()
    }
}

/// The [`Managed`] methods that only name the kind's store calls: `name`, `all`,
/// `find`, `save`, `delete`. Used inside an `impl Managed` block.
macro_rules! store_calls {
    ($list:ident, $find:ident, $update:ident, $delete:ident) => {
        fn name(&self) -> &str {
            &self.name
        }

        fn all(
            catalog: &$crate::commands::records::Catalog,
        ) -> &[storewatch_core::model::Record<Self>] {
            &catalog.$list
        }

        async fn find(
            store: &dyn storewatch_core::store::Store,
            key: &str,
        ) -> storewatch_core::Result<storewatch_core::model::Record<Self>> {
            $crate::commands::lookup::$find(store, key).await
        }

        async fn save(
            store: &dyn storewatch_core::store::Store,
            id: Self::Id,
            version: i64,
            spec: Self,
        ) -> storewatch_core::Result<storewatch_core::model::Record<Self>> {
            store.$update(id, version, spec).await
        }

        async fn delete(
            store: &dyn storewatch_core::store::Store,
            id: Self::Id,
        ) -> storewatch_core::Result<()> {
            store.$delete(id).await
        }
    };
}
pub(crate) use store_calls;

/// A kind of record that can be disabled without removing it.
pub(crate) trait Switchable: Managed {
    /// Its `is_active` flag.
    fn active(&mut self) -> &mut bool;
}

macro_rules! switchable {
    ($($spec:ty),+) => {
        $(impl Switchable for $spec {
            fn active(&mut self) -> &mut bool {
                &mut self.is_active
            }
        })+
    };
}
switchable!(
    AppSpec,
    ChannelSpec,
    AlertRuleSpec,
    ReportSpec,
    ScheduleSpec
);

/// `--format`.
#[derive(Debug, clap::Args)]
#[command(next_help_heading = "Output")]
pub(crate) struct FormatArg {
    /// How to print: an aligned table, JSON or CSV.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub(crate) format: Format,
}

/// One record, named on the command line.
#[derive(Debug, clap::Args)]
pub(crate) struct Target {
    /// Its id or name (an app also by bundle id or platform:bundle id).
    #[arg(value_name = "ID|NAME")]
    key: String,
    #[command(flatten)]
    out: FormatArg,
}

/// `list`, `show` and `remove`, alike for every kind of record.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum Common {
    /// Lists them all.
    List(FormatArg),
    /// Shows one, with its version and timestamps.
    Show(Target),
    /// Removes one; refused while other records refer to it. Removing an app also
    /// removes its stored metrics and alert states.
    Remove {
        /// Its id or name (an app also by bundle id or platform:bundle id).
        #[arg(value_name = "ID|NAME")]
        key: String,
    },
}

/// `enable` and `disable`.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum Toggle {
    /// Turns it back on.
    Enable(Target),
    /// Turns it off: it is kept but not used until enabled again.
    Disable(Target),
}

/// Runs `list`, `show` or `remove` for records of kind `S`.
pub(crate) async fn common<S: Managed>(cmd: Common, settings: Settings) -> Result<()> {
    let ctx = Context::open(settings).await?;
    match cmd {
        Common::List(out) => {
            let catalog = Catalog::load(&ctx).await?;
            listing(S::all(&catalog), &catalog, false).print(out.format)
        }
        Common::Show(target) => {
            let record = S::find(ctx.store.as_ref(), &target.key).await?;
            print_record(&ctx, &record, target.out.format).await
        }
        Common::Remove { key } => {
            let record = S::find(ctx.store.as_ref(), &key).await?;
            let users = S::users(record.id, &Catalog::load(&ctx).await?);
            if !users.is_empty() {
                return Err(Error::new(
                    ErrorKind::Conflict,
                    format!(
                        "{} {} ({}) is used by {}: change or remove those first",
                        S::KIND,
                        record.id,
                        record.spec.name(),
                        users.join(", ")
                    ),
                ));
            }
            S::delete(ctx.store.as_ref(), record.id).await?;
            println!("removed {} {} ({})", S::KIND, record.id, record.spec.name());
            Ok(())
        }
    }
}

/// Runs `enable` or `disable` for records of kind `S`.
pub(crate) async fn toggle<S: Switchable>(cmd: Toggle, settings: Settings) -> Result<()> {
    let (target, on) = match cmd {
        Toggle::Enable(t) => (t, true),
        Toggle::Disable(t) => (t, false),
    };
    let ctx = Context::open(settings).await?;
    let mut record = S::find(ctx.store.as_ref(), &target.key).await?;
    *record.spec.active() = on;
    save(&ctx, record, target.out.format).await
}

/// Stores a changed record under the version it was read at (a concurrent change makes
/// it fail with a conflict rather than be overwritten) and prints it.
pub(crate) async fn save<S: Managed>(
    ctx: &Context,
    record: Record<S>,
    format: Format,
) -> Result<()> {
    let saved = S::save(ctx.store.as_ref(), record.id, record.version, record.spec)
        .await
        .map_err(super::flags::flag_error)?;
    print_record(ctx, &saved, format).await
}

/// Prints one record with its version and timestamps.
pub(crate) async fn print_record<S: Managed>(
    ctx: &Context,
    record: &Record<S>,
    format: Format,
) -> Result<()> {
    let catalog = Catalog::load(ctx).await?;
    listing(std::slice::from_ref(record), &catalog, true).print_record(format)
}

/// Records as rows: id, the kind's columns, and with `detail` version and timestamps.
fn listing<S: Managed>(records: &[Record<S>], catalog: &Catalog, detail: bool) -> Listing {
    let mut columns = vec!["id"];
    columns.extend_from_slice(S::COLUMNS);
    if detail {
        columns.extend(["version", "created_at", "updated_at"]);
    }
    let mut listing = Listing::new(&columns);
    for r in records {
        let mut row = vec![serde_json::to_value(r.id).unwrap_or(Value::Null)];
        row.extend(r.spec.cells(catalog));
        if detail {
            row.extend([json!(r.version), time(r.created_at), time(r.updated_at)]);
        }
        listing.push(row);
    }
    listing
}

/// A time in RFC 3339, to the second.
pub(crate) fn time(t: DateTime<Utc>) -> Value {
    json!(t.to_rfc3339_opts(SecondsFormat::Secs, true))
}

/// `--app` / `--all-apps`: the app a rule, report or schedule covers.
#[derive(Debug, clap::Args)]
pub(crate) struct AppScope {
    /// Limits it to one app: id, name, bundle id or platform:bundle id.
    #[arg(long, value_name = "APP")]
    app: Option<String>,
    /// Covers every app (the default of a new one).
    #[arg(long, conflicts_with = "app")]
    all_apps: bool,
}

impl AppScope {
    /// The app given: `Some(None)` for every app, `None` when neither flag is.
    pub(crate) async fn resolve(&self, store: &dyn Store) -> Result<Option<Option<AppId>>> {
        match &self.app {
            Some(key) => Ok(Some(Some(super::lookup::app(store, key).await?.id))),
            None if self.all_apps => Ok(Some(None)),
            None => Ok(None),
        }
    }
}
