//! What the demo writes to its fresh database before anything runs: sealed credentials
//! and channels pointing at the fakes, the six apps, two alert rules, the daily report
//! and the schedule `serve` would run.

use storewatch_core::Result;
use storewatch_core::model::{
    AlertRule, AlertRuleSpec, App, AppSpec, Channel, Condition, Direction, Frequency, Mention,
    Metric, Platform, ReportSpec, ScheduleSpec, Severity, Task, Window,
};
use storewatch_core::secrets::{create_channel, create_credential};

use super::fakes::Fakes;
use crate::context::Context;

/// The metrics of the daily report (and so of the sheet rows), in order.
pub(super) const REPORT_METRICS: [Metric; 3] =
    [Metric::DOWNLOADS, Metric::UPDATES, Metric::ACTIVE_DEVICES];

/// The records the demo created.
#[derive(Debug)]
pub(super) struct Setup {
    pub(super) apps: Vec<App>,
    pub(super) rules: Vec<AlertRule>,
    /// The spreadsheet channel the report's rows go to.
    pub(super) sheet: Channel,
}

/// Seals the fakes' credentials and channels with the context's keyring and creates the
/// apps (each linked to its store's credential), the rules, the report and the schedule.
pub(super) async fn populate(ctx: &Context, fakes: &Fakes) -> Result<Setup> {
    let store = ctx.store.as_ref();
    let keyring = ctx.keyring()?;
    let apple = create_credential(
        store,
        keyring,
        "App Store Connect (demo fake)",
        Platform::Ios,
        storewatch_apple::KIND,
        &fakes.apple_config()?,
    )
    .await?;
    let google = create_credential(
        store,
        keyring,
        "Google Play (demo fake)",
        Platform::Android,
        storewatch_google::KIND,
        &fakes.google_config(),
    )
    .await?;
    let bot = create_channel(
        store,
        keyring,
        "Growth team bot",
        storewatch_lark::WEBHOOK_KIND,
        &fakes.webhook_config(),
    )
    .await?;
    let sheet = create_channel(
        store,
        keyring,
        "Daily KPI sheet",
        storewatch_lark::SHEET_KIND,
        &fakes.sheet_config(),
    )
    .await?;

    let mut apps = Vec::new();
    for sample in &fakes.apps {
        let mut spec = AppSpec::new(&sample.name, sample.platform, &sample.bundle_id)?;
        spec.credential_id = Some(match sample.platform {
            Platform::Ios => apple.id,
            Platform::Android => google.id,
        });
        apps.push(ctx.store.create_app(spec).await?);
    }

    // Week over week compares the same weekday, so the weekly pattern stays quiet and
    // only the planted drop and spike cross these lines.
    let mut collapsed = AlertRuleSpec::new(
        "Downloads collapsed",
        Metric::DOWNLOADS,
        Condition::PctChange {
            window: Window::Wow,
            direction: Direction::Down,
            threshold_pct: 50.0,
        },
        Severity::Critical,
        bot.id,
    )?;
    collapsed.min_baseline = Some(20.0);
    collapsed.mentions = vec![Mention::All];
    let mut jumped = AlertRuleSpec::new(
        "Downloads jumped",
        Metric::DOWNLOADS,
        Condition::PctChange {
            window: Window::Wow,
            direction: Direction::Up,
            threshold_pct: 100.0,
        },
        Severity::Warning,
        bot.id,
    )?;
    jumped.min_baseline = Some(20.0);
    let rules = vec![
        ctx.store.create_rule(collapsed).await?,
        ctx.store.create_rule(jumped).await?,
    ];

    ctx.store
        .create_report(ReportSpec {
            name: "Daily app metrics".into(),
            app_id: None,
            metrics: REPORT_METRICS.to_vec(),
            channels: vec![bot.id, sheet.id],
            is_active: true,
        })
        .await?;
    // What `serve` runs every morning once the stores have published yesterday.
    ctx.store
        .create_schedule(ScheduleSpec::new(
            "Daily full analysis",
            Task::FullAnalysis,
            Frequency::Daily,
            9,
            0,
            "America/Los_Angeles",
        )?)
        .await?;
    Ok(Setup { apps, rules, sheet })
}
