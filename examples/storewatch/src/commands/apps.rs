//! `storewatch apps`: the watched apps.

use serde_json::{Value, json};
use storewatch_core::model::{AppId, AppSpec, BundleId, CredentialId, Platform};
use storewatch_core::store::Store;
use storewatch_core::{Error, ErrorKind, Result};

use super::flags::{OrNone, PlatformArg, flag_error};
use super::lookup;
use super::records::{self, Catalog, Common, FormatArg, Managed, Toggle, users};
use crate::context::Context;
use crate::settings::Settings;

/// Subcommands of `storewatch apps`.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum AppsCommand {
    /// Adds an app to watch (active at once).
    Add(AddArgs),
    /// Changes an app; only the flags given change.
    Update(UpdateArgs),
    #[command(flatten)]
    Common(Common),
    #[command(flatten)]
    Toggle(Toggle),
}

/// `storewatch apps add`.
#[derive(Debug, clap::Args)]
pub(crate) struct AddArgs {
    /// Display name, unique among apps.
    #[arg(long)]
    name: String,
    /// The store the app is published on.
    #[arg(long, value_enum)]
    platform: PlatformArg,
    /// Bundle id (iOS, e.g. com.example.app) or package name (Android, e.g. com.example.app).
    #[arg(long)]
    bundle_id: String,
    /// Apple's numeric app id (iOS only); looked up from the bundle id when not given.
    #[arg(long, visible_alias = "apple-id", value_name = "DIGITS")]
    store_id: Option<String>,
    /// The credential to collect with (id or name); by default the platform's only one.
    #[arg(long, value_name = "ID|NAME")]
    credential: Option<String>,
    #[command(flatten)]
    out: FormatArg,
}

/// `storewatch apps update`.
#[derive(Debug, clap::Args)]
pub(crate) struct UpdateArgs {
    /// The app: id, name, bundle id or platform:bundle id.
    #[arg(value_name = "APP")]
    app: String,
    /// New display name.
    #[arg(long)]
    name: Option<String>,
    /// New bundle id or package name (the platform stays).
    #[arg(long)]
    bundle_id: Option<String>,
    /// Apple's numeric app id; `none` clears it (it is looked up again).
    #[arg(long, visible_alias = "apple-id", value_name = "DIGITS|none")]
    store_id: Option<OrNone<String>>,
    /// The credential to collect with; `none` means the platform's only credential.
    #[arg(long, value_name = "ID|NAME|none")]
    credential: Option<OrNone<String>>,
    #[command(flatten)]
    out: FormatArg,
}

/// Runs `storewatch apps`.
pub(crate) async fn run(cmd: AppsCommand, settings: Settings) -> Result<()> {
    match cmd {
        AppsCommand::Add(args) => add(args, settings).await,
        AppsCommand::Update(args) => update(args, settings).await,
        AppsCommand::Common(cmd) => records::common::<AppSpec>(cmd, settings).await,
        AppsCommand::Toggle(cmd) => records::toggle::<AppSpec>(cmd, settings).await,
    }
}

async fn add(args: AddArgs, settings: Settings) -> Result<()> {
    let ctx = Context::open(settings).await?;
    let platform = Platform::from(args.platform);
    let mut spec = AppSpec::new(args.name, platform, &args.bundle_id).map_err(flag_error)?;
    spec.store_id = store_id(platform, args.store_id)?;
    if let Some(key) = &args.credential {
        spec.credential_id = Some(credential(ctx.store.as_ref(), key, platform).await?);
    }
    let app = ctx.store.create_app(spec).await.map_err(flag_error)?;
    records::print_record(&ctx, &app, args.out.format).await
}

async fn update(args: UpdateArgs, settings: Settings) -> Result<()> {
    let ctx = Context::open(settings).await?;
    let mut app = lookup::app(ctx.store.as_ref(), &args.app).await?;
    let platform = app.platform;
    if let Some(name) = args.name {
        app.name = name;
    }
    if let Some(bundle) = &args.bundle_id {
        app.bundle_id = BundleId::parse(platform, bundle).map_err(flag_error)?;
    }
    if let Some(OrNone(store_id)) = args.store_id {
        app.store_id = self::store_id(platform, store_id)?;
    }
    if let Some(OrNone(key)) = &args.credential {
        app.credential_id = match key {
            Some(key) => Some(credential(ctx.store.as_ref(), key, platform).await?),
            None => None,
        };
    }
    records::save(&ctx, app, args.out.format).await
}

/// `--store-id`, which only iOS apps have.
fn store_id(platform: Platform, store_id: Option<String>) -> Result<Option<String>> {
    match store_id {
        Some(id) if platform != Platform::Ios => Err(Error::new(
            ErrorKind::InvalidInput,
            format!("--store-id {id:?} is Apple's app id: an {platform} app has none"),
        )),
        other => Ok(other),
    }
}

/// `--credential`: a credential of the app's platform.
async fn credential(store: &dyn Store, key: &str, platform: Platform) -> Result<CredentialId> {
    let credential = lookup::credential(store, key).await?;
    if credential.platform != platform {
        return Err(Error::invalid_field(
            "--credential",
            key,
            format_args!(
                "a credential for {platform} (credential {} is for {})",
                credential.name, credential.platform
            ),
        ));
    }
    Ok(credential.id)
}

impl Managed for AppSpec {
    const COLUMNS: &'static [&'static str] = &[
        "name",
        "platform",
        "bundle_id",
        "store_id",
        "credential",
        "active",
    ];

    records::store_calls!(apps, app, update_app, delete_app);

    fn cells(&self, catalog: &Catalog) -> Vec<Value> {
        vec![
            json!(self.name),
            json!(self.platform.as_str()),
            json!(self.bundle_id.as_str()),
            json!(self.store_id),
            catalog.credential(self.credential_id),
            json!(self.is_active),
        ]
    }

    fn users(id: AppId, catalog: &Catalog) -> Vec<String> {
        let mut found = users(&catalog.rules, |r| r.app_id == Some(id));
        found.extend(users(&catalog.reports, |r| r.app_id == Some(id)));
        found.extend(users(&catalog.schedules, |s| s.app_id == Some(id)));
        found
    }
}
