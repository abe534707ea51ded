//! Persistence (DESIGN §3, §7): [`ConfigStore`], [`MetricStore`] and [`RunStore`],
//! together a [`Store`]; [`MemoryStore`] is the in-process reference implementation.
//!
//! Every implementation passes `testkit::store::check_all`; that suite is the precise
//! statement of the contracts below.

mod memory;

use std::collections::{BTreeMap, HashMap};
use std::fmt::Debug;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};

pub use memory::MemoryStore;

use crate::Result;
use crate::analysis::MetricHistory;
use crate::model::{
    AlertRule, AlertRuleSpec, AlertState, AlertStates, App, AppId, AppSpec, Channel, ChannelId,
    ChannelSpec, Credential, CredentialId, CredentialSpec, DeliveryId, DeliveryRecord,
    DeliveryStatus, Execution, ExecutionFilter, ExecutionId, ExecutionOutcome, ExecutionStatus,
    InstanceId, InstanceInfo, Metric, MetricPoint, NewExecution, ReportConfig, ReportId,
    ReportSpec, RuleId, Schedule, ScheduleId, ScheduleSpec, Task,
};

/// Configuration records: apps, credentials, channels, rules, reports, schedules.
///
/// Creating and updating validate the spec (`InvalidInput`); names are unique per
/// record kind and apps per (platform, bundle id) (`Conflict`); an update or delete of
/// a missing id is `NotFound`; an update naming a stale `version` is `Conflict`.
/// Lists are ordered by id. Deleting an app deletes its points and alert states.
#[async_trait]
pub trait ConfigStore: Send + Sync + Debug {
    /// Creates an app.
    async fn create_app(&self, spec: AppSpec) -> Result<App>;
    /// Replaces an app's spec if its version is still `version`.
    async fn update_app(&self, id: AppId, version: i64, spec: AppSpec) -> Result<App>;
    /// One app.
    async fn get_app(&self, id: AppId) -> Result<App>;
    /// Every app.
    async fn list_apps(&self) -> Result<Vec<App>>;
    /// Deletes an app with its points and alert states.
    async fn delete_app(&self, id: AppId) -> Result<()>;

    /// Reserves a new credential id, so its secret can be sealed for it before creation.
    async fn reserve_credential_id(&self) -> Result<CredentialId>;
    /// Creates a credential under a reserved id.
    async fn create_credential(&self, id: CredentialId, spec: CredentialSpec)
    -> Result<Credential>;
    /// Replaces a credential's spec if its version is still `version`.
    async fn update_credential(
        &self,
        id: CredentialId,
        version: i64,
        spec: CredentialSpec,
    ) -> Result<Credential>;
    /// One credential.
    async fn get_credential(&self, id: CredentialId) -> Result<Credential>;
    /// Every credential.
    async fn list_credentials(&self) -> Result<Vec<Credential>>;
    /// Deletes a credential.
    async fn delete_credential(&self, id: CredentialId) -> Result<()>;

    /// Reserves a new channel id, so its config can be sealed for it before creation.
    async fn reserve_channel_id(&self) -> Result<ChannelId>;
    /// Creates a channel under a reserved id.
    async fn create_channel(&self, id: ChannelId, spec: ChannelSpec) -> Result<Channel>;
    /// Replaces a channel's spec if its version is still `version`.
    async fn update_channel(
        &self,
        id: ChannelId,
        version: i64,
        spec: ChannelSpec,
    ) -> Result<Channel>;
    /// One channel.
    async fn get_channel(&self, id: ChannelId) -> Result<Channel>;
    /// Every channel.
    async fn list_channels(&self) -> Result<Vec<Channel>>;
    /// Deletes a channel.
    async fn delete_channel(&self, id: ChannelId) -> Result<()>;

    /// Creates an alert rule.
    async fn create_rule(&self, spec: AlertRuleSpec) -> Result<AlertRule>;
    /// Replaces a rule's spec if its version is still `version`.
    async fn update_rule(&self, id: RuleId, version: i64, spec: AlertRuleSpec)
    -> Result<AlertRule>;
    /// One rule.
    async fn get_rule(&self, id: RuleId) -> Result<AlertRule>;
    /// Every rule.
    async fn list_rules(&self) -> Result<Vec<AlertRule>>;
    /// Deletes a rule with its alert states.
    async fn delete_rule(&self, id: RuleId) -> Result<()>;

    /// Creates a report configuration.
    async fn create_report(&self, spec: ReportSpec) -> Result<ReportConfig>;
    /// Replaces a report's spec if its version is still `version`.
    async fn update_report(
        &self,
        id: ReportId,
        version: i64,
        spec: ReportSpec,
    ) -> Result<ReportConfig>;
    /// One report.
    async fn get_report(&self, id: ReportId) -> Result<ReportConfig>;
    /// Every report.
    async fn list_reports(&self) -> Result<Vec<ReportConfig>>;
    /// Deletes a report.
    async fn delete_report(&self, id: ReportId) -> Result<()>;

    /// Creates a schedule.
    async fn create_schedule(&self, spec: ScheduleSpec) -> Result<Schedule>;
    /// Replaces a schedule's spec if its version is still `version`.
    async fn update_schedule(
        &self,
        id: ScheduleId,
        version: i64,
        spec: ScheduleSpec,
    ) -> Result<Schedule>;
    /// One schedule.
    async fn get_schedule(&self, id: ScheduleId) -> Result<Schedule>;
    /// Every schedule.
    async fn list_schedules(&self) -> Result<Vec<Schedule>>;
    /// Deletes a schedule (its executions stay, with the schedule id kept).
    async fn delete_schedule(&self, id: ScheduleId) -> Result<()>;
}

/// Which days a history query reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DaySelection {
    /// Every day from `from` to `to`, inclusive.
    Range {
        /// First day.
        from: NaiveDate,
        /// Last day.
        to: NaiveDate,
    },
    /// Exactly these days (e.g. [`required_days`](crate::analysis::required_days)).
    Days(Vec<NaiveDate>),
}

impl DaySelection {
    /// Whether `day` is selected.
    pub fn contains(&self, day: NaiveDate) -> bool {
        match self {
            DaySelection::Range { from, to } => *from <= day && day <= *to,
            DaySelection::Days(days) => days.contains(&day),
        }
    }
}

/// What history to load.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct HistoryQuery {
    /// Only these apps (`None` = every app).
    pub apps: Option<Vec<AppId>>,
    /// Only these metrics (`None` = every metric).
    pub metrics: Option<Vec<Metric>>,
    /// Which days.
    pub days: DaySelection,
}

impl HistoryQuery {
    /// Every app and metric over `days`.
    pub fn new(days: DaySelection) -> Self {
        HistoryQuery {
            apps: None,
            metrics: None,
            days,
        }
    }

    /// Every app and metric from `from` to `to`, inclusive.
    pub fn range(from: NaiveDate, to: NaiveDate) -> Self {
        Self::new(DaySelection::Range { from, to })
    }

    /// Only these apps.
    #[must_use]
    pub fn with_apps(mut self, apps: Vec<AppId>) -> Self {
        self.apps = Some(apps);
        self
    }

    /// Only these metrics.
    #[must_use]
    pub fn with_metrics(mut self, metrics: Vec<Metric>) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// Whether a point of `app`/`metric` on `day` is selected.
    pub fn matches(&self, app: AppId, metric: &Metric, day: NaiveDate) -> bool {
        self.apps.as_ref().is_none_or(|a| a.contains(&app))
            && self.metrics.as_ref().is_none_or(|m| m.contains(metric))
            && self.days.contains(day)
    }
}

/// Daily metric points, keyed by (app, metric, segment, date).
#[async_trait]
pub trait MetricStore: Send + Sync + Debug {
    /// Inserts or replaces points, all or nothing: a NaN or infinite value, a bad
    /// segment or an unknown app refuses the whole batch with `InvalidInput` naming the
    /// app, metric and day. Returns the number of points written.
    async fn upsert_points(&self, points: &[MetricPoint]) -> Result<u64>;
    /// The stored points selected by `query`, grouped by series, with the apps'
    /// platform and bundle id.
    async fn history(&self, query: &HistoryQuery) -> Result<MetricHistory>;
    /// The latest stored day of each app that has any point.
    async fn latest_dates(&self, apps: &[AppId]) -> Result<BTreeMap<AppId, NaiveDate>>;
    /// The number of stored points of each app that has any, counted by the store
    /// (for monitoring: no point is loaded).
    async fn point_counts(&self) -> Result<BTreeMap<AppId, u64>>;
}

/// A held lease after renewal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lease {
    /// The lease now ends at this time.
    pub until: DateTime<Utc>,
    /// Someone asked the execution to stop.
    pub cancel_requested: bool,
}

/// Counts over every execution and delivery, for monitoring: computed by the store,
/// small whatever the history (one entry per task and status, channel and status,
/// schedule).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct RunCounts {
    /// Executions per task and status (pairs without executions are absent).
    pub executions: HashMap<(Task, ExecutionStatus), u64>,
    /// Delivery records per channel and status (absent when none).
    pub deliveries: HashMap<(ChannelId, DeliveryStatus), u64>,
    /// When an execution of each schedule last ended `Success` (its latest
    /// `completed_at`); schedules without one are absent.
    pub last_success: BTreeMap<ScheduleId, DateTime<Utc>>,
}

/// Executions, leases, alert states, deliveries and scheduler instances.
///
/// Time for `run_after` and leases is the store's own ([`RunStore::now`]), never a
/// client's clock, so several machines agree on it.
#[async_trait]
pub trait RunStore: Send + Sync + Debug {
    /// The store's current time.
    async fn now(&self) -> Result<DateTime<Utc>>;

    /// Inserts an execution. A (schedule, slot) pair is inserted once: a second insert
    /// of the same slot returns `Ok(None)`.
    async fn insert_execution(&self, new: NewExecution) -> Result<Option<Execution>>;
    /// One execution.
    async fn get_execution(&self, id: ExecutionId) -> Result<Execution>;
    /// Executions passing `filter`, newest first.
    async fn list_executions(&self, filter: &ExecutionFilter) -> Result<Vec<Execution>>;
    /// Claims the oldest pending execution whose `run_after` has come: it becomes
    /// `Running`, held by `instance` until `now + lease`. Each pending execution is
    /// handed to exactly one claimer.
    async fn claim_execution(
        &self,
        instance: &InstanceId,
        lease: Duration,
    ) -> Result<Option<Execution>>;
    /// Claims execution `id` like [`claim_execution`](Self::claim_execution) does, if it
    /// is pending and due; `Ok(None)` when it is not (another instance took it, it has
    /// ended, or its `run_after` has not come). `NotFound` when there is no such
    /// execution. A process that queued a run itself executes that run and no other.
    async fn claim_execution_id(
        &self,
        id: ExecutionId,
        instance: &InstanceId,
        lease: Duration,
    ) -> Result<Option<Execution>>;
    /// Extends the lease of a running execution held by `instance`; `Conflict` when
    /// another instance holds it or it is no longer running.
    async fn renew_lease(
        &self,
        id: ExecutionId,
        instance: &InstanceId,
        lease: Duration,
    ) -> Result<Lease>;
    /// Records how a running execution held by `instance` ended; `Conflict` when
    /// another instance holds it or it has already ended.
    async fn finish_execution(
        &self,
        id: ExecutionId,
        instance: &InstanceId,
        outcome: ExecutionOutcome,
    ) -> Result<Execution>;
    /// Marks every running execution whose lease has expired `Failed` ("instance
    /// lost") and returns them, so their retries can be queued.
    async fn reap_expired(&self) -> Result<Vec<Execution>>;
    /// Cancels a pending execution at once (→ `Cancelled`), or asks a running one to
    /// stop (`cancel_requested`). Ended executions are returned unchanged.
    async fn request_cancel(&self, id: ExecutionId) -> Result<Execution>;

    /// Every stored alert state.
    async fn alert_states(&self) -> Result<AlertStates>;
    /// Inserts or replaces alert states by fingerprint.
    async fn save_alert_states(&self, states: &[AlertState]) -> Result<()>;

    /// Records a delivery before it is attempted. Keyed by (execution chain, channel,
    /// message key): an existing record is returned as it is when already `Sent`, else
    /// it goes back to `Pending` with one more attempt.
    async fn start_delivery(
        &self,
        execution: ExecutionId,
        channel: ChannelId,
        message_key: &str,
    ) -> Result<DeliveryRecord>;
    /// Marks a delivery `Sent` or `Failed` (with its error).
    async fn finish_delivery(
        &self,
        id: DeliveryId,
        status: DeliveryStatus,
        error: Option<String>,
    ) -> Result<DeliveryRecord>;
    /// The deliveries of an execution chain.
    async fn list_deliveries(&self, execution: ExecutionId) -> Result<Vec<DeliveryRecord>>;

    /// Registers (or re-registers) a scheduler instance.
    async fn register_instance(&self, info: InstanceInfo) -> Result<()>;
    /// Records a heartbeat (`last_seen` = store time); `NotFound` if not registered.
    async fn heartbeat_instance(&self, id: &InstanceId) -> Result<()>;
    /// Every registered instance.
    async fn list_instances(&self) -> Result<Vec<InstanceInfo>>;
    /// Removes an instance (on graceful shutdown).
    async fn deregister_instance(&self, id: &InstanceId) -> Result<()>;
    /// Removes the instances whose last heartbeat is before `unseen_since` (processes
    /// that died without deregistering) and returns their ids.
    async fn forget_instances(&self, unseen_since: DateTime<Utc>) -> Result<Vec<InstanceId>>;

    /// Executions per task and status, deliveries per channel and status, and the last
    /// success of each schedule, aggregated by the store (no record is loaded).
    async fn run_counts(&self) -> Result<RunCounts>;
}

/// Everything storewatch persists.
pub trait Store: ConfigStore + MetricStore + RunStore {}

impl<T: ConfigStore + MetricStore + RunStore + ?Sized> Store for T {}
