//! `storewatch schedules`: when tasks run (DESIGN §7).

use std::time::Duration;

use chrono::SecondsFormat;
use chrono_tz::Tz;
use serde_json::{Value, json};
use storewatch_core::model::{Frequency, ScheduleSpec, Task, parse_timezone};
use storewatch_core::schedule::next_fire;
use storewatch_core::store::Store;
use storewatch_core::{Error, ErrorKind, Result};

use super::flags::{TaskArg, duration, flag_error, monthly, show_duration, time_of_day, weekly};
use super::lookup;
use super::records::{self, AppScope, Catalog, Common, FormatArg, Managed, Toggle};
use crate::context::Context;
use crate::settings::Settings;

/// Subcommands of `storewatch schedules`.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum SchedulesCommand {
    /// Adds a schedule (active at once: `serve` fires it from its next slot).
    Add(AddArgs),
    /// Changes a schedule; only the flags given change.
    Update(UpdateArgs),
    #[command(flatten)]
    Common(Common),
    #[command(flatten)]
    Toggle(Toggle),
}

/// `storewatch schedules add`.
#[derive(Debug, clap::Args)]
pub(crate) struct AddArgs {
    /// Display name, unique among schedules.
    #[arg(long)]
    name: String,
    /// What runs.
    #[arg(long, value_enum)]
    task: TaskArg,
    #[command(flatten)]
    when: When,
    #[command(flatten)]
    options: ScheduleOptions,
    #[command(flatten)]
    out: FormatArg,
}

/// `storewatch schedules update`.
#[derive(Debug, clap::Args)]
pub(crate) struct UpdateArgs {
    /// The schedule: id or name.
    #[arg(value_name = "ID|NAME")]
    schedule: String,
    /// New display name.
    #[arg(long)]
    name: Option<String>,
    /// What runs.
    #[arg(long, value_enum)]
    task: Option<TaskArg>,
    #[command(flatten)]
    when: When,
    #[command(flatten)]
    options: ScheduleOptions,
    #[command(flatten)]
    out: FormatArg,
}

/// How often and at what time; a new schedule needs a frequency, --at and --tz.
#[derive(Debug, clap::Args)]
#[command(next_help_heading = "When")]
struct When {
    /// Every day.
    #[arg(long, conflicts_with_all = ["weekly", "monthly"])]
    daily: bool,
    /// Every week on this day: mon…sun, or 1 (Monday) to 7 (Sunday).
    #[arg(long, value_parser = weekly, value_name = "WEEKDAY", conflicts_with = "monthly")]
    weekly: Option<Frequency>,
    /// Every month on this day, 1–31 (29–31 fall on a shorter month's last day).
    #[arg(long, value_parser = monthly, value_name = "DAY")]
    monthly: Option<Frequency>,
    /// The time of day, in --tz.
    #[arg(long, value_parser = time_of_day, value_name = "HH:MM")]
    at: Option<(u8, u8)>,
    /// The IANA time zone of --at, e.g. Europe/Berlin or UTC (DST-correct).
    #[arg(long, value_parser = parse_timezone, value_name = "ZONE")]
    tz: Option<Tz>,
}

impl When {
    fn frequency(&self) -> Option<Frequency> {
        self.weekly
            .or(self.monthly)
            .or(self.daily.then_some(Frequency::Daily))
    }
}

/// Scope, retries and timing of a schedule's runs.
#[derive(Debug, clap::Args)]
#[command(next_help_heading = "Runs")]
struct ScheduleOptions {
    #[command(flatten)]
    scope: AppScope,
    /// Retries after a failed run (0 = none) [default: 3].
    #[arg(long, value_name = "N")]
    max_retries: Option<u32>,
    /// A run taking longer is cancelled and marked timed out, e.g. 30m [default: 30m].
    #[arg(long, value_parser = duration)]
    timeout: Option<Duration>,
    /// A slot missed by more than this is recorded as skipped, not run [default: 1h].
    #[arg(long, value_parser = duration)]
    misfire_grace: Option<Duration>,
    /// The day a run works on is today minus this many days in --tz [default: 1 = yesterday].
    #[arg(long, value_name = "DAYS")]
    target_offset_days: Option<u32>,
    /// Run without sending any message (`--skip-notifications=false` turns it off).
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true", value_name = "BOOL")]
    skip_notifications: Option<bool>,
}

impl ScheduleOptions {
    async fn apply(self, spec: &mut ScheduleSpec, store: &dyn Store) -> Result<()> {
        if let Some(app) = self.scope.resolve(store).await? {
            spec.app_id = app;
        }
        if let Some(n) = self.max_retries {
            spec.max_retries = n;
        }
        if let Some(d) = self.timeout {
            spec.timeout = d;
        }
        if let Some(d) = self.misfire_grace {
            spec.misfire_grace = d;
        }
        if let Some(days) = self.target_offset_days {
            spec.target_offset_days = days;
        }
        if let Some(skip) = self.skip_notifications {
            spec.skip_notifications = skip;
        }
        Ok(())
    }
}

/// Runs `storewatch schedules`.
pub(crate) async fn run(cmd: SchedulesCommand, settings: Settings) -> Result<()> {
    match cmd {
        SchedulesCommand::Add(args) => add(args, settings).await,
        SchedulesCommand::Update(args) => update(args, settings).await,
        SchedulesCommand::Common(cmd) => records::common::<ScheduleSpec>(cmd, settings).await,
        SchedulesCommand::Toggle(cmd) => records::toggle::<ScheduleSpec>(cmd, settings).await,
    }
}

fn required(flag: &str) -> Error {
    Error::new(
        ErrorKind::InvalidInput,
        format!("{flag} is required for a new schedule"),
    )
}

async fn add(args: AddArgs, settings: Settings) -> Result<()> {
    let ctx = Context::open(settings).await?;
    let store = ctx.store.as_ref();
    let frequency = args
        .when
        .frequency()
        .ok_or_else(|| required("one of --daily, --weekly or --monthly"))?;
    let (hour, minute) = args.when.at.ok_or_else(|| required("--at"))?;
    let tz = args.when.tz.ok_or_else(|| required("--tz"))?;
    let mut spec = ScheduleSpec::new(
        args.name,
        Task::from(args.task),
        frequency,
        hour,
        minute,
        tz.name(),
    )
    .map_err(flag_error)?;
    args.options.apply(&mut spec, store).await?;
    let schedule = store.create_schedule(spec).await.map_err(flag_error)?;
    records::print_record(&ctx, &schedule, args.out.format).await
}

async fn update(args: UpdateArgs, settings: Settings) -> Result<()> {
    let ctx = Context::open(settings).await?;
    let store = ctx.store.as_ref();
    let mut schedule = lookup::schedule(store, &args.schedule).await?;
    if let Some(name) = args.name {
        schedule.name = name;
    }
    if let Some(task) = args.task {
        schedule.task = task.into();
    }
    if let Some(frequency) = args.when.frequency() {
        schedule.frequency = frequency;
    }
    if let Some((hour, minute)) = args.when.at {
        (schedule.hour, schedule.minute) = (hour, minute);
    }
    if let Some(tz) = args.when.tz {
        schedule.timezone = tz;
    }
    args.options.apply(&mut schedule.spec, store).await?;
    records::save(&ctx, schedule, args.out.format).await
}

impl Managed for ScheduleSpec {
    const COLUMNS: &'static [&'static str] = &[
        "name",
        "task",
        "app",
        "frequency",
        "at",
        "timezone",
        "next_fire",
        "active",
        "skip_notifications",
        "max_retries",
        "timeout",
        "misfire_grace",
        "target_offset_days",
    ];

    records::store_calls!(schedules, schedule, update_schedule, delete_schedule);

    fn cells(&self, catalog: &Catalog) -> Vec<Value> {
        // The next slot in the schedule's own zone, as people there read it.
        let next = self.is_active.then(|| {
            next_fire(self, catalog.now)
                .with_timezone(&self.timezone)
                .to_rfc3339_opts(SecondsFormat::Secs, true)
        });
        vec![
            json!(self.name),
            json!(self.task.as_str()),
            catalog.app(self.app_id),
            json!(self.frequency.to_string()),
            json!(format!("{:02}:{:02}", self.hour, self.minute)),
            json!(self.timezone.name()),
            json!(next),
            json!(self.is_active),
            json!(self.skip_notifications),
            json!(self.max_retries),
            json!(show_duration(self.timeout)),
            json!(show_duration(self.misfire_grace)),
            json!(self.target_offset_days),
        ]
    }
}
