//! `storewatch channels`: where reports and alerts go (a Lark bot's webhook, a Lark
//! spreadsheet tab), sealed with the master key, and `test` to send a test message.
//!
//! A webhook URL is a bearer capability and signing secrets and app secrets are keys:
//! each is read from its flag, its environment variable or a file (`--…-file`), and the
//! last two stay out of the shell history.

#![allow(clippy::print_stdout)] // `test` reports the delivery

use std::path::PathBuf;

use secrecy::SecretString;
use serde_json::{Map, Value, json};
use storewatch_core::Result;
use storewatch_core::model::{BundleId, ChannelId, ChannelSpec, Metric, Platform, Spec};
use storewatch_core::notify::{AppReport, DailyReport, MetricLine};
use storewatch_core::secrets::create_channel;

use super::flags::{flag_error, secret, secret_from};
use super::lookup;
use super::records::{self, Catalog, Common, FormatArg, Managed, Toggle, users};
use super::sealed::{self, Field, text};
use crate::context::Context;
use crate::settings::Settings;

/// Subcommands of `storewatch channels`.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum ChannelsCommand {
    /// Adds a channel (active at once). Its config is checked, then sealed with the
    /// master key.
    Add(AddArgs),
    /// Changes a channel; the values given replace those in its sealed config, the rest
    /// stays. A set STOREWATCH_LARK_* variable counts as given.
    Update(UpdateArgs),
    /// Sends a short test report to a channel and prints what the provider answered (a
    /// sheet gets one row labelled "storewatch test").
    Test {
        /// The channel: id or name.
        #[arg(value_name = "ID|NAME")]
        channel: String,
    },
    #[command(flatten)]
    Common(Common),
    #[command(flatten)]
    Toggle(Toggle),
}

/// Channel kinds this binary can send to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum KindArg {
    /// A Lark / Feishu custom bot in a group chat (reports and alert cards).
    LarkWebhook,
    /// A tab of a Lark spreadsheet that rows are appended to.
    LarkSheet,
}

impl KindArg {
    fn kind(self) -> &'static str {
        match self {
            KindArg::LarkWebhook => storewatch_lark::WEBHOOK_KIND,
            KindArg::LarkSheet => storewatch_lark::SHEET_KIND,
        }
    }
}

/// `storewatch channels add`.
#[derive(Debug, clap::Args)]
pub(crate) struct AddArgs {
    /// Display name, unique among channels.
    #[arg(long)]
    name: String,
    /// What the channel is.
    #[arg(long, value_enum)]
    kind: KindArg,
    #[command(flatten)]
    config: ConfigArgs,
    #[command(flatten)]
    out: FormatArg,
}

/// `storewatch channels update`.
#[derive(Debug, clap::Args)]
pub(crate) struct UpdateArgs {
    /// The channel: id or name.
    #[arg(value_name = "ID|NAME")]
    channel: String,
    /// New display name.
    #[arg(long)]
    name: Option<String>,
    /// Turns the webhook's signing off (remove the stored signing secret).
    #[arg(long, conflicts_with_all = ["secret", "secret_file"])]
    no_secret: bool,
    #[command(flatten)]
    config: ConfigArgs,
    #[command(flatten)]
    out: FormatArg,
}

/// The channel's config, by kind.
#[derive(Debug, clap::Args)]
struct ConfigArgs {
    /// The bot's webhook URL, `https://open.feishu.cn/open-apis/bot/v2/hook/<token>`. A
    /// flag's value stays in the shell history: prefer the file or the variable.
    #[arg(
        long,
        value_name = "URL",
        value_parser = secret,
        env = "STOREWATCH_LARK_WEBHOOK_URL",
        hide_env_values = true,
        help_heading = "Lark webhook (--kind lark-webhook)"
    )]
    webhook_url: Option<SecretString>,
    /// A file holding the webhook URL (`-` reads standard input).
    #[arg(
        long,
        value_name = "FILE",
        help_heading = "Lark webhook (--kind lark-webhook)"
    )]
    webhook_url_file: Option<PathBuf>,
    /// The bot's signing secret, when signature verification is on.
    #[arg(
        long,
        value_name = "SECRET",
        value_parser = secret,
        env = "STOREWATCH_LARK_WEBHOOK_SECRET",
        hide_env_values = true,
        help_heading = "Lark webhook (--kind lark-webhook)"
    )]
    secret: Option<SecretString>,
    /// A file holding the signing secret (`-` reads standard input).
    #[arg(
        long,
        value_name = "FILE",
        help_heading = "Lark webhook (--kind lark-webhook)"
    )]
    secret_file: Option<PathBuf>,
    /// A keyword the bot requires; added to messages that lack it.
    #[arg(long, help_heading = "Lark webhook (--kind lark-webhook)")]
    keyword: Option<String>,
    /// The self-built app's id, cli_….
    #[arg(long, help_heading = "Lark sheet (--kind lark-sheet)")]
    app_id: Option<String>,
    /// The app's secret.
    #[arg(
        long,
        value_name = "SECRET",
        value_parser = secret,
        env = "STOREWATCH_LARK_APP_SECRET",
        hide_env_values = true,
        help_heading = "Lark sheet (--kind lark-sheet)"
    )]
    app_secret: Option<SecretString>,
    /// A file holding the app secret (`-` reads standard input).
    #[arg(
        long,
        value_name = "FILE",
        help_heading = "Lark sheet (--kind lark-sheet)"
    )]
    app_secret_file: Option<PathBuf>,
    /// The token in the sheet's URL, `…/sheets/<spreadsheet token>`.
    #[arg(long, help_heading = "Lark sheet (--kind lark-sheet)")]
    spreadsheet_token: Option<String>,
    /// The tab's id (not its title), e.g. sxj5ws.
    #[arg(long, help_heading = "Lark sheet (--kind lark-sheet)")]
    sheet_id: Option<String>,
    /// Send to this base URL instead of Lark's (egress proxies, tests).
    #[arg(long, value_name = "URL")]
    base_url: Option<String>,
}

impl ConfigArgs {
    /// The fields of `kind`'s config, and the other kinds' (refused when given).
    fn fields(&self, kind: &str) -> Result<(Vec<Field>, Vec<Field>)> {
        let url = secret_from(
            ("--webhook-url", self.webhook_url.as_ref()),
            ("--webhook-url-file", self.webhook_url_file.as_deref()),
        )?;
        let signing = secret_from(
            ("--secret", self.secret.as_ref()),
            ("--secret-file", self.secret_file.as_deref()),
        )?;
        let app_secret = secret_from(
            ("--app-secret", self.app_secret.as_ref()),
            ("--app-secret-file", self.app_secret_file.as_deref()),
        )?;
        let webhook = vec![
            Field::required("--webhook-url", "webhook_url", sealed::secret(url)),
            Field::optional("--secret", "secret", sealed::secret(signing)),
            Field::optional("--keyword", "keyword", text(&self.keyword)),
        ];
        let sheet = vec![
            Field::required("--app-id", "app_id", text(&self.app_id)),
            Field::required("--app-secret", "app_secret", sealed::secret(app_secret)),
            Field::required(
                "--spreadsheet-token",
                "spreadsheet_token",
                text(&self.spreadsheet_token),
            ),
            Field::required("--sheet-id", "sheet_id", text(&self.sheet_id)),
        ];
        let (mut own, others) = if kind == storewatch_lark::SHEET_KIND {
            (sheet, webhook)
        } else {
            (webhook, sheet)
        };
        own.push(Field::optional(
            "--base-url",
            "base_url",
            text(&self.base_url),
        ));
        Ok((own, others))
    }
}

/// Checks a config the way the channel's notifier will read it; returns it as the
/// secret to seal.
fn checked(kind: &str, config: Map<String, Value>) -> Result<SecretString> {
    let secret = sealed::to_secret(config);
    Context::registry()
        .build_notifier(kind, &secret)
        .map_err(|e| flag_error(e).context(format!("the {kind} channel's config")))?;
    Ok(secret)
}

/// Runs `storewatch channels`.
pub(crate) async fn run(cmd: ChannelsCommand, settings: Settings) -> Result<()> {
    match cmd {
        ChannelsCommand::Add(args) => add(args, settings).await,
        ChannelsCommand::Update(args) => update(args, settings).await,
        ChannelsCommand::Test { channel } => test(&channel, settings).await,
        ChannelsCommand::Common(cmd) => records::common::<ChannelSpec>(cmd, settings).await,
        ChannelsCommand::Toggle(cmd) => records::toggle::<ChannelSpec>(cmd, settings).await,
    }
}

async fn add(args: AddArgs, settings: Settings) -> Result<()> {
    let ctx = Context::open(settings).await?;
    let keyring = ctx.keyring()?;
    let kind = args.kind.kind();
    let (own, others) = args.config.fields(kind)?;
    let mut config = Map::new();
    sealed::apply(
        &mut config,
        &format!("a {kind} channel"),
        own,
        &others,
        true,
    )?;
    let secret = checked(kind, config)?;
    let channel = create_channel(ctx.store.as_ref(), keyring, &args.name, kind, &secret)
        .await
        .map_err(flag_error)?;
    records::print_record(&ctx, &channel, args.out.format).await
}

async fn update(args: UpdateArgs, settings: Settings) -> Result<()> {
    let ctx = Context::open(settings).await?;
    let mut channel = lookup::channel(ctx.store.as_ref(), &args.channel).await?;
    if let Some(name) = args.name {
        channel.name = name;
    }
    let (own, others) = args.config.fields(&channel.kind)?;
    if args.no_secret || own.iter().chain(&others).any(|f| f.value.is_some()) {
        let keyring = ctx.keyring()?;
        let id = channel.id.0;
        let mut config = sealed::open(keyring, ChannelSpec::KIND, id, &channel.sealed)?;
        let what = format!("a {} channel", channel.kind);
        sealed::apply(&mut config, &what, own, &others, false)?;
        if args.no_secret {
            config.remove("secret");
        }
        let secret = checked(&channel.kind, config)?;
        (channel.sealed, channel.fingerprint) =
            sealed::seal(keyring, ChannelSpec::KIND, id, &secret)?;
    }
    records::save(&ctx, channel, args.out.format).await
}

/// `storewatch channels test`: builds the channel's notifier as the pipeline does and
/// sends a one-line report through it.
async fn test(key: &str, settings: Settings) -> Result<()> {
    let ctx = Context::open(settings).await?;
    let channel = lookup::channel(ctx.store.as_ref(), key).await?;
    let label = format!("channel {} ({})", channel.id, channel.name);
    let config = ctx
        .keyring()?
        .open(ChannelSpec::KIND, channel.id.0, &channel.sealed)?;
    let notifier = Context::registry()
        .build_notifier(&channel.kind, &config)
        .map_err(|e| e.context(label.clone()))?;
    let report = DailyReport {
        title: format!("storewatch test message for {}", channel.name),
        day: ctx.clock.now().date_naive(),
        apps: vec![AppReport {
            app_name: "storewatch test".to_owned(),
            platform: Platform::Ios,
            bundle_id: BundleId::parse(Platform::Ios, "com.example.storewatch-test")?,
            metrics: vec![MetricLine {
                metric: Metric::new("test_message")?,
                value: Some(1.0),
                dod_pct: None,
                wow_pct: None,
                yoy_pct: None,
                last_28d: Vec::new(),
            }],
        }],
        totals: Vec::new(),
        notes: vec!["storewatch can reach this channel; this message needs no action.".to_owned()],
    };
    let delivery = notifier
        .send_report(&report)
        .await
        .map_err(|e| e.context(format!("sending a test message to {label}")))?;
    let id = delivery
        .provider_message_id
        .map(|m| format!(", message id {m}"))
        .unwrap_or_default();
    let state = if channel.is_active {
        ""
    } else {
        " (the channel is disabled)"
    };
    println!(
        "sent a test message to {label} via {}{id}{state}",
        channel.kind
    );
    Ok(())
}

impl Managed for ChannelSpec {
    const COLUMNS: &'static [&'static str] =
        &["name", "kind", "fingerprint", "sealed_with", "active"];

    records::store_calls!(channels, channel, update_channel, delete_channel);

    fn cells(&self, _catalog: &Catalog) -> Vec<Value> {
        vec![
            json!(self.name),
            json!(self.kind),
            json!(self.fingerprint),
            json!(self.sealed.key_id()),
            json!(self.is_active),
        ]
    }

    fn users(id: ChannelId, catalog: &Catalog) -> Vec<String> {
        let mut found = users(&catalog.rules, |r| r.channel_id == id);
        found.extend(users(&catalog.reports, |r| r.channels.contains(&id)));
        found
    }
}
