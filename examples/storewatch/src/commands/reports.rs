//! `storewatch reports`: the daily reports and where they go.

use serde_json::{Value, json};
use storewatch_core::Result;
use storewatch_core::model::{ChannelId, Metric, ReportSpec};
use storewatch_core::store::Store;

use super::flags::flag_error;
use super::lookup;
use super::records::{self, AppScope, Catalog, Common, FormatArg, Managed, Toggle};
use crate::context::Context;
use crate::settings::Settings;

/// Subcommands of `storewatch reports`.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum ReportsCommand {
    /// Adds a daily report (active at once); a full-analysis run sends it.
    Add(AddArgs),
    /// Changes a report; only the flags given change (a list given replaces the report's).
    Update(UpdateArgs),
    #[command(flatten)]
    Common(Common),
    #[command(flatten)]
    Toggle(Toggle),
}

/// `storewatch reports add`.
#[derive(Debug, clap::Args)]
pub(crate) struct AddArgs {
    /// Display name, unique among reports; the report's title.
    #[arg(long)]
    name: String,
    #[command(flatten)]
    fields: ReportFields,
    #[command(flatten)]
    out: FormatArg,
}

/// `storewatch reports update`.
#[derive(Debug, clap::Args)]
pub(crate) struct UpdateArgs {
    /// The report: id or name.
    #[arg(value_name = "ID|NAME")]
    report: String,
    /// New display name.
    #[arg(long)]
    name: Option<String>,
    #[command(flatten)]
    fields: ReportFields,
    #[command(flatten)]
    out: FormatArg,
}

/// What a report shows and where it goes.
#[derive(Debug, clap::Args)]
struct ReportFields {
    /// A metric shown, in order; repeat or separate with commas (e.g.
    /// downloads,active_devices,crash_rate). Required for a new report.
    #[arg(long, value_delimiter = ',')]
    metric: Vec<Metric>,
    /// A channel it goes to (id or name): typically a webhook for the message and a
    /// sheet for rows; repeat or separate with commas. Required for a new report.
    #[arg(long, value_delimiter = ',', value_name = "ID|NAME")]
    channel: Vec<String>,
    #[command(flatten)]
    scope: AppScope,
}

impl ReportFields {
    async fn apply(self, spec: &mut ReportSpec, store: &dyn Store) -> Result<()> {
        if !self.metric.is_empty() {
            spec.metrics = self.metric;
        }
        if !self.channel.is_empty() {
            let mut channels = Vec::new();
            for key in &self.channel {
                let channel = lookup::channel(store, key)
                    .await
                    .map_err(|e| e.context("--channel"))?;
                channels.push(channel.id);
            }
            spec.channels = channels;
        }
        if let Some(app) = self.scope.resolve(store).await? {
            spec.app_id = app;
        }
        Ok(())
    }
}

/// Runs `storewatch reports`.
pub(crate) async fn run(cmd: ReportsCommand, settings: Settings) -> Result<()> {
    match cmd {
        ReportsCommand::Add(args) => add(args, settings).await,
        ReportsCommand::Update(args) => update(args, settings).await,
        ReportsCommand::Common(cmd) => records::common::<ReportSpec>(cmd, settings).await,
        ReportsCommand::Toggle(cmd) => records::toggle::<ReportSpec>(cmd, settings).await,
    }
}

async fn add(args: AddArgs, settings: Settings) -> Result<()> {
    let ctx = Context::open(settings).await?;
    let store = ctx.store.as_ref();
    let mut spec = ReportSpec {
        name: args.name,
        app_id: None,
        metrics: Vec::new(),
        channels: Vec::new(),
        is_active: true,
    };
    args.fields.apply(&mut spec, store).await?;
    let report = store.create_report(spec).await.map_err(flag_error)?;
    records::print_record(&ctx, &report, args.out.format).await
}

async fn update(args: UpdateArgs, settings: Settings) -> Result<()> {
    let ctx = Context::open(settings).await?;
    let store = ctx.store.as_ref();
    let mut report = lookup::report(store, &args.report).await?;
    if let Some(name) = args.name {
        report.name = name;
    }
    args.fields.apply(&mut report.spec, store).await?;
    records::save(&ctx, report, args.out.format).await
}

impl Managed for ReportSpec {
    const COLUMNS: &'static [&'static str] = &["name", "app", "metrics", "channels", "active"];

    records::store_calls!(reports, report, update_report, delete_report);

    fn cells(&self, catalog: &Catalog) -> Vec<Value> {
        let metrics: Vec<&str> = self.metrics.iter().map(Metric::as_str).collect();
        let channels: Vec<Value> = self
            .channels
            .iter()
            .map(|&c: &ChannelId| catalog.channel(c))
            .collect();
        vec![
            json!(self.name),
            catalog.app(self.app_id),
            json!(metrics),
            json!(channels),
            json!(self.is_active),
        ]
    }
}
