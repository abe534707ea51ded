//! `storewatch rules`: alert rules (DESIGN §6).

use std::time::Duration;

use serde_json::{Value, json};
use storewatch_core::model::{AlertRuleSpec, Mention, Metric, Severity};
use storewatch_core::store::Store;
use storewatch_core::{Error, Result};

use super::flags::{OrNone, SeverityArg, duration, flag_error, show_duration};
use super::lookup;
use super::records::{self, AppScope, Catalog, Common, FormatArg, Managed, Toggle};
use super::rule_condition::{ConditionKind, ConditionParams};
use crate::context::Context;
use crate::settings::Settings;

/// Subcommands of `storewatch rules`.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum RulesCommand {
    /// Adds an alert rule (active at once).
    Add(AddArgs),
    /// Changes a rule; only the flags given change (a condition parameter alone changes
    /// that parameter of the current condition).
    Update(UpdateArgs),
    #[command(flatten)]
    Common(Common),
    #[command(flatten)]
    Toggle(Toggle),
}

/// `storewatch rules add`.
#[derive(Debug, clap::Args)]
pub(crate) struct AddArgs {
    /// Display name, unique among rules.
    #[arg(long)]
    name: String,
    /// The metric watched, e.g. downloads, active_devices, crash_rate, proceeds.
    #[arg(long)]
    metric: Metric,
    /// What breaches; its parameters are below.
    #[arg(long, value_enum)]
    condition: ConditionKind,
    /// Where the alert card goes: channel id or name.
    #[arg(long, value_name = "ID|NAME")]
    channel: String,
    /// How loud the alert is.
    #[arg(long, value_enum, default_value = "warning")]
    severity: SeverityArg,
    #[command(flatten)]
    params: ConditionParams,
    #[command(flatten)]
    options: RuleOptions,
    #[command(flatten)]
    out: FormatArg,
}

/// `storewatch rules update`.
#[derive(Debug, clap::Args)]
pub(crate) struct UpdateArgs {
    /// The rule: id or name.
    #[arg(value_name = "ID|NAME")]
    rule: String,
    /// New display name.
    #[arg(long)]
    name: Option<String>,
    /// The metric watched.
    #[arg(long)]
    metric: Option<Metric>,
    /// A new kind of condition; give its parameters too.
    #[arg(long, value_enum)]
    condition: Option<ConditionKind>,
    /// Where the alert card goes: channel id or name.
    #[arg(long, value_name = "ID|NAME")]
    channel: Option<String>,
    /// How loud the alert is.
    #[arg(long, value_enum)]
    severity: Option<SeverityArg>,
    #[command(flatten)]
    params: ConditionParams,
    #[command(flatten)]
    options: RuleOptions,
    #[command(flatten)]
    out: FormatArg,
}

/// The options a rule has besides its condition.
#[derive(Debug, clap::Args)]
#[command(next_help_heading = "Scope and guards")]
struct RuleOptions {
    #[command(flatten)]
    scope: AppScope,
    /// One segment of the metric, e.g. currency:EUR or country:US; `none` = the total.
    #[arg(long, value_name = "DIMENSION:VALUE|none")]
    segment: Option<OrNone<String>>,
    /// Who the card @mentions: `all` or a Lark open_id (ou_…); repeat for several. On
    /// update the list given replaces the rule's.
    #[arg(long, value_parser = Mention::parse, value_name = "all|OPEN_ID")]
    mention: Vec<Mention>,
    /// Removes every @mention.
    #[arg(long, conflicts_with = "mention")]
    no_mentions: bool,
    /// Fire only after this many consecutive breached days [default: 1].
    #[arg(long, value_name = "DAYS")]
    for_days: Option<u32>,
    /// Do not repeat the alert within this time unless its severity rises, e.g. 12h or
    /// 1d [default: 0s].
    #[arg(long, value_parser = duration)]
    cooldown: Option<Duration>,
    /// Ignore changes from a baseline below this; `none` for no floor.
    #[arg(long, value_name = "NUMBER|none", allow_negative_numbers = true)]
    min_baseline: Option<OrNone<f64>>,
    /// Send one "resolved" card when a firing alert clears (`--notify-resolved=false`
    /// turns it off).
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", value_name = "BOOL")]
    notify_resolved: Option<bool>,
}

impl RuleOptions {
    async fn apply(self, spec: &mut AlertRuleSpec, store: &dyn Store) -> Result<()> {
        if let Some(app) = self.scope.resolve(store).await? {
            spec.app_id = app;
        }
        if let Some(OrNone(segment)) = self.segment {
            spec.segment = segment;
        }
        if !self.mention.is_empty() || self.no_mentions {
            spec.mentions = self.mention;
        }
        if let Some(days) = self.for_days {
            spec.for_days = days;
        }
        if let Some(cooldown) = self.cooldown {
            spec.cooldown = cooldown;
        }
        if let Some(OrNone(baseline)) = self.min_baseline {
            spec.min_baseline = baseline;
        }
        if let Some(on) = self.notify_resolved {
            spec.notify_resolved = on;
        }
        Ok(())
    }
}

/// Runs `storewatch rules`.
pub(crate) async fn run(cmd: RulesCommand, settings: Settings) -> Result<()> {
    match cmd {
        RulesCommand::Add(args) => add(args, settings).await,
        RulesCommand::Update(args) => update(args, settings).await,
        RulesCommand::Common(cmd) => records::common::<AlertRuleSpec>(cmd, settings).await,
        RulesCommand::Toggle(cmd) => records::toggle::<AlertRuleSpec>(cmd, settings).await,
    }
}

async fn add(args: AddArgs, settings: Settings) -> Result<()> {
    let ctx = Context::open(settings).await?;
    let store = ctx.store.as_ref();
    let condition = args
        .params
        .condition(Some(args.condition), None)?
        .ok_or_else(|| Error::internal("a given --condition always builds one"))?;
    let channel = lookup::channel(store, &args.channel)
        .await
        .map_err(|e| e.context("--channel"))?;
    let mut spec = AlertRuleSpec::new(
        args.name,
        args.metric,
        condition,
        Severity::from(args.severity),
        channel.id,
    )
    .map_err(flag_error)?;
    args.options.apply(&mut spec, store).await?;
    let rule = store.create_rule(spec).await.map_err(flag_error)?;
    records::print_record(&ctx, &rule, args.out.format).await
}

async fn update(args: UpdateArgs, settings: Settings) -> Result<()> {
    let ctx = Context::open(settings).await?;
    let store = ctx.store.as_ref();
    let mut rule = lookup::rule(store, &args.rule).await?;
    if let Some(name) = args.name {
        rule.name = name;
    }
    if let Some(metric) = args.metric {
        rule.metric = metric;
    }
    if let Some(condition) = args
        .params
        .condition(args.condition, Some(&rule.condition))?
    {
        rule.condition = condition;
    }
    if let Some(key) = &args.channel {
        rule.channel_id = lookup::channel(store, key)
            .await
            .map_err(|e| e.context("--channel"))?
            .id;
    }
    if let Some(severity) = args.severity {
        rule.severity = severity.into();
    }
    args.options.apply(&mut rule.spec, store).await?;
    records::save(&ctx, rule, args.out.format).await
}

impl Managed for AlertRuleSpec {
    const COLUMNS: &'static [&'static str] = &[
        "name",
        "app",
        "metric",
        "segment",
        "condition",
        "severity",
        "channel",
        "mentions",
        "for_days",
        "cooldown",
        "min_baseline",
        "notify_resolved",
        "active",
    ];

    records::store_calls!(rules, rule, update_rule, delete_rule);

    fn cells(&self, catalog: &Catalog) -> Vec<Value> {
        let mentions: Vec<String> = self.mentions.iter().map(ToString::to_string).collect();
        vec![
            json!(self.name),
            catalog.app(self.app_id),
            json!(self.metric.as_str()),
            json!(self.segment),
            json!(self.condition.to_string()),
            json!(self.severity.to_string()),
            catalog.channel(self.channel_id),
            json!(mentions),
            json!(self.for_days),
            json!(show_duration(self.cooldown)),
            json!(self.min_baseline),
            json!(self.notify_resolved),
            json!(self.is_active),
        ]
    }
}
