//! `storewatch credentials`: App Store Connect keys and Google Play service accounts,
//! sealed with the master key. Their secrets are read from files and never printed
//! back: listings show the name, platform, kind and a fingerprint.

use std::path::PathBuf;

use serde_json::{Map, Value, json};
use storewatch_apple::AppStoreConnectConfig;
use storewatch_core::model::{CredentialId, CredentialSpec, Platform, Spec};
use storewatch_core::secrets::create_credential;
use storewatch_core::{Error, ErrorKind, Result};
use storewatch_google::GooglePlayConfig;

use super::flags::{PlatformArg, flag_error, read_text};
use super::lookup;
use super::records::{self, Catalog, Common, FormatArg, Managed, users};
use super::sealed::{self, Field, text};
use crate::context::Context;
use crate::settings::Settings;

/// Subcommands of `storewatch credentials`.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum CredentialsCommand {
    /// Adds a credential: an App Store Connect API key (ios) or a Google Play service
    /// account (android). It is checked, then sealed with the master key.
    Add(AddArgs),
    /// Changes a credential; the files given are read and sealed again, the rest of the
    /// sealed config stays.
    Update(UpdateArgs),
    #[command(flatten)]
    Common(Common),
}

/// `storewatch credentials add`.
#[derive(Debug, clap::Args)]
pub(crate) struct AddArgs {
    /// Display name, unique among credentials.
    #[arg(long)]
    name: String,
    /// The store it is for.
    #[arg(long, value_enum)]
    platform: PlatformArg,
    #[command(flatten)]
    apple: AppleArgs,
    #[command(flatten)]
    google: GoogleArgs,
    #[command(flatten)]
    out: FormatArg,
}

/// `storewatch credentials update`.
#[derive(Debug, clap::Args)]
pub(crate) struct UpdateArgs {
    /// The credential: id or name.
    #[arg(value_name = "ID|NAME")]
    credential: String,
    /// New display name.
    #[arg(long)]
    name: Option<String>,
    #[command(flatten)]
    apple: AppleArgs,
    #[command(flatten)]
    google: GoogleArgs,
    #[command(flatten)]
    out: FormatArg,
}

/// The App Store Connect key (Users and Access → Integrations → Team Keys).
#[derive(Debug, clap::Args)]
#[command(next_help_heading = "App Store Connect (--platform ios)")]
struct AppleArgs {
    /// The key's issuer id, a UUID.
    #[arg(long)]
    issuer_id: Option<String>,
    /// The key's 10-character id, e.g. 2X9R4HXF34.
    #[arg(long)]
    key_id: Option<String>,
    /// The `AuthKey_<KEYID>.p8` file downloaded with the key (`-` reads standard input).
    #[arg(long, value_name = "FILE")]
    private_key_file: Option<PathBuf>,
    /// The vendor number from Payments and Financial Reports, e.g. 80012345.
    #[arg(long)]
    vendor_number: Option<String>,
    /// The API base URL (proxies and tests; default `https://api.appstoreconnect.apple.com`).
    #[arg(long, value_name = "URL")]
    base_url: Option<String>,
}

/// The Google Play service account.
#[derive(Debug, clap::Args)]
#[command(next_help_heading = "Google Play (--platform android)")]
struct GoogleArgs {
    /// The service account's key file (JSON) downloaded from Google Cloud (`-` reads
    /// standard input).
    #[arg(long, value_name = "FILE")]
    service_account_file: Option<PathBuf>,
    /// The Play Console bulk-report bucket, e.g. pubsite_prod_rev_01234567890987654321.
    #[arg(long)]
    bucket: Option<String>,
    /// The Play Developer Reporting API base URL (proxies and tests).
    #[arg(long, value_name = "URL")]
    reporting_base_url: Option<String>,
    /// The Cloud Storage API base URL (proxies and tests).
    #[arg(long, value_name = "URL")]
    storage_base_url: Option<String>,
}

impl AppleArgs {
    fn fields(&self) -> Result<Vec<Field>> {
        let key = match &self.private_key_file {
            Some(path) => Some(Value::String(read_text("--private-key-file", path)?)),
            None => None,
        };
        Ok(vec![
            Field::required("--issuer-id", "issuer_id", text(&self.issuer_id)),
            Field::required("--key-id", "key_id", text(&self.key_id)),
            Field::required("--private-key-file", "private_key", key),
            Field::required(
                "--vendor-number",
                "vendor_number",
                text(&self.vendor_number),
            ),
            Field::optional("--base-url", "base_url", text(&self.base_url)),
        ])
    }
}

impl GoogleArgs {
    fn fields(&self) -> Result<Vec<Field>> {
        let account = match &self.service_account_file {
            Some(path) => Some(service_account(path)?),
            None => None,
        };
        Ok(vec![
            Field::required("--service-account-file", "service_account_json", account),
            Field::required("--bucket", "bucket", text(&self.bucket)),
            Field::optional(
                "--reporting-base-url",
                "reporting_base_url",
                text(&self.reporting_base_url),
            ),
            Field::optional(
                "--storage-base-url",
                "storage_base_url",
                text(&self.storage_base_url),
            ),
        ])
    }
}

/// Reads a service-account key file as a JSON object. A parse error gives only the
/// position: serde's own text may quote the file, which holds the private key.
fn service_account(path: &std::path::Path) -> Result<Value> {
    let text = read_text("--service-account-file", path)?;
    let bad = |what: String| {
        Error::new(
            ErrorKind::InvalidInput,
            format!(
                "invalid --service-account-file {:?}: {what}: expected the service-account key file (JSON) downloaded from Google Cloud",
                path.display().to_string()
            ),
        )
    };
    match serde_json::from_str(&text) {
        Ok(v @ Value::Object(_)) => Ok(v),
        Ok(_) => Err(bad("not a JSON object".to_owned())),
        Err(e) => Err(bad(format!(
            "not valid JSON (line {}, column {})",
            e.line(),
            e.column()
        ))),
    }
}

/// Checks a credential's config the way its source will read it, and returns it as
/// the secret to seal.
fn checked(platform: Platform, config: Map<String, Value>) -> Result<secrecy::SecretString> {
    let secret = sealed::to_secret(config);
    match platform {
        Platform::Ios => AppStoreConnectConfig::from_json(&secret).map(drop),
        Platform::Android => GooglePlayConfig::from_json(&secret).map(drop),
    }
    .map_err(|e| flag_error(e).context(format!("the {platform} credential's config")))?;
    Ok(secret)
}

/// The fields of `platform`'s config, and the other platform's (refused when given).
fn fields(
    platform: Platform,
    apple: &AppleArgs,
    google: &GoogleArgs,
) -> Result<(Vec<Field>, Vec<Field>)> {
    Ok(match platform {
        Platform::Ios => (apple.fields()?, google.fields()?),
        Platform::Android => (google.fields()?, apple.fields()?),
    })
}

fn kind(platform: Platform) -> &'static str {
    match platform {
        Platform::Ios => storewatch_apple::KIND,
        Platform::Android => storewatch_google::KIND,
    }
}

/// Runs `storewatch credentials`.
pub(crate) async fn run(cmd: CredentialsCommand, settings: Settings) -> Result<()> {
    match cmd {
        CredentialsCommand::Add(args) => add(args, settings).await,
        CredentialsCommand::Update(args) => update(args, settings).await,
        CredentialsCommand::Common(cmd) => records::common::<CredentialSpec>(cmd, settings).await,
    }
}

async fn add(args: AddArgs, settings: Settings) -> Result<()> {
    let ctx = Context::open(settings).await?;
    let keyring = ctx.keyring()?;
    let platform = Platform::from(args.platform);
    let (own, others) = fields(platform, &args.apple, &args.google)?;
    let what = format!("an {platform} credential");
    let mut config = Map::new();
    sealed::apply(&mut config, &what, own, &others, true)?;
    let secret = checked(platform, config)?;
    let credential = create_credential(
        ctx.store.as_ref(),
        keyring,
        &args.name,
        platform,
        kind(platform),
        &secret,
    )
    .await
    .map_err(flag_error)?;
    records::print_record(&ctx, &credential, args.out.format).await
}

async fn update(args: UpdateArgs, settings: Settings) -> Result<()> {
    let ctx = Context::open(settings).await?;
    let mut credential = lookup::credential(ctx.store.as_ref(), &args.credential).await?;
    if let Some(name) = args.name {
        credential.name = name;
    }
    let (own, others) = fields(credential.platform, &args.apple, &args.google)?;
    if own.iter().chain(&others).any(|f| f.value.is_some()) {
        let keyring = ctx.keyring()?;
        let id = credential.id.0;
        let mut config = sealed::open(keyring, CredentialSpec::KIND, id, &credential.sealed)?;
        let what = format!("an {} credential", credential.platform);
        sealed::apply(&mut config, &what, own, &others, false)?;
        let secret = checked(credential.platform, config)?;
        (credential.sealed, credential.fingerprint) =
            sealed::seal(keyring, CredentialSpec::KIND, id, &secret)?;
    }
    records::save(&ctx, credential, args.out.format).await
}

impl Managed for CredentialSpec {
    const COLUMNS: &'static [&'static str] =
        &["name", "platform", "kind", "fingerprint", "sealed_with"];

    records::store_calls!(
        credentials,
        credential,
        update_credential,
        delete_credential
    );

    fn cells(&self, _catalog: &Catalog) -> Vec<Value> {
        vec![
            json!(self.name),
            json!(self.platform.as_str()),
            json!(self.kind),
            json!(self.fingerprint),
            json!(self.sealed.key_id()),
        ]
    }

    fn users(id: CredentialId, catalog: &Catalog) -> Vec<String> {
        users(&catalog.apps, |a| a.credential_id == Some(id))
    }
}
