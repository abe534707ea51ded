//! [`MemoryStore`]: the whole [`Store`](super::Store) in one process's memory — the
//! reference implementation, for tests, demos and embedding without a database.

mod deliveries;
mod points;
mod runs;
mod table;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};

use self::deliveries::Deliveries;
use self::points::Points;
use self::runs::Runs;
use self::table::Table;
use super::{ConfigStore, HistoryQuery, Lease, MetricStore, RunCounts, RunStore};
use crate::Result;
use crate::analysis::MetricHistory;
use crate::clock::{Clock, SystemClock};
use crate::model::{
    AlertRule, AlertRuleSpec, AlertState, AlertStates, App, AppId, AppSpec, Channel, ChannelId,
    ChannelSpec, Credential, CredentialId, CredentialSpec, DeliveryId, DeliveryRecord,
    DeliveryStatus, Execution, ExecutionFilter, ExecutionId, ExecutionOutcome, InstanceId,
    InstanceInfo, MetricPoint, NewExecution, ReportConfig, ReportId, ReportSpec, RuleId, Schedule,
    ScheduleId, ScheduleSpec,
};

/// A [`Store`](super::Store) held in memory: every contract of the store traits, inside
/// one process, with time from an injected [`Clock`].
///
/// All state sits behind one mutex that is never held across an `.await`, so every
/// operation is atomic: a slot is inserted once and a pending execution is claimed by
/// exactly one caller however many tasks race for it. Nothing is persisted.
///
/// ```
/// use storewatch_core::model::{AppSpec, Platform};
/// use storewatch_core::store::{ConfigStore, MemoryStore};
///
/// # futures::executor::block_on(async {
/// let store = MemoryStore::new();
/// let app = store
///     .create_app(AppSpec::new("Example", Platform::Ios, "com.example.app")?)
///     .await?;
/// assert_eq!(app.version, 1);
/// assert_eq!(store.list_apps().await?.len(), 1);
/// # Ok::<(), storewatch_core::Error>(())
/// # }).unwrap();
/// ```
pub struct MemoryStore {
    clock: Arc<dyn Clock>,
    state: Mutex<State>,
}

/// Everything a [`MemoryStore`] holds.
#[derive(Debug)]
struct State {
    apps: Table<AppSpec>,
    credentials: Table<CredentialSpec>,
    channels: Table<ChannelSpec>,
    rules: Table<AlertRuleSpec>,
    reports: Table<ReportSpec>,
    schedules: Table<ScheduleSpec>,
    points: Points,
    runs: Runs,
    alert_states: AlertStates,
    deliveries: Deliveries,
    instances: BTreeMap<InstanceId, InstanceInfo>,
}

impl MemoryStore {
    /// An empty store on the system clock.
    pub fn new() -> Self {
        Self::with_clock(Arc::new(SystemClock))
    }

    /// An empty store whose time (timestamps, `run_after`, leases) comes from `clock`.
    pub fn with_clock(clock: Arc<dyn Clock>) -> Self {
        MemoryStore {
            clock,
            state: Mutex::new(State {
                apps: Table::new(AppId, |id: AppId| id.0),
                credentials: Table::new(CredentialId, |id: CredentialId| id.0),
                channels: Table::new(ChannelId, |id: ChannelId| id.0),
                rules: Table::new(RuleId, |id: RuleId| id.0),
                reports: Table::new(ReportId, |id: ReportId| id.0),
                schedules: Table::new(ScheduleId, |id: ScheduleId| id.0),
                points: Points::default(),
                runs: Runs::default(),
                alert_states: AlertStates::new(),
                deliveries: Deliveries::default(),
                instances: BTreeMap::new(),
            }),
        }
    }

    /// The state and the current time, read under the lock so that operations ordered
    /// by the lock also see time in that order.
    fn lock(&self) -> (MutexGuard<'_, State>, DateTime<Utc>) {
        // Every operation checks its input before it changes anything, so the state
        // behind a poisoned lock is still consistent.
        let state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let now = self.clock.now();
        (state, now)
    }
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("MemoryStore");
        d.field("clock", &self.clock);
        match self.state.try_lock() {
            Ok(state) => d
                .field("apps", &state.apps.len())
                .field("points", &state.points.len())
                .finish(),
            Err(_) => d.finish_non_exhaustive(),
        }
    }
}

#[async_trait]
impl ConfigStore for MemoryStore {
    async fn create_app(&self, spec: AppSpec) -> Result<App> {
        let (mut s, now) = self.lock();
        s.apps.create(None, spec, now)
    }

    async fn update_app(&self, id: AppId, version: i64, spec: AppSpec) -> Result<App> {
        let (mut s, now) = self.lock();
        s.apps.update(id, version, spec, now)
    }

    async fn get_app(&self, id: AppId) -> Result<App> {
        self.lock().0.apps.get(id).cloned()
    }

    async fn list_apps(&self) -> Result<Vec<App>> {
        Ok(self.lock().0.apps.list())
    }

    async fn delete_app(&self, id: AppId) -> Result<()> {
        let (mut s, _) = self.lock();
        s.apps.remove(id)?;
        s.points.remove_app(id);
        s.alert_states.retain(|fp, _| fp.app_id != id);
        Ok(())
    }

    async fn reserve_credential_id(&self) -> Result<CredentialId> {
        Ok(self.lock().0.credentials.reserve_id())
    }

    async fn create_credential(
        &self,
        id: CredentialId,
        spec: CredentialSpec,
    ) -> Result<Credential> {
        let (mut s, now) = self.lock();
        s.credentials.create(Some(id), spec, now)
    }

    async fn update_credential(
        &self,
        id: CredentialId,
        version: i64,
        spec: CredentialSpec,
    ) -> Result<Credential> {
        let (mut s, now) = self.lock();
        s.credentials.update(id, version, spec, now)
    }

    async fn get_credential(&self, id: CredentialId) -> Result<Credential> {
        self.lock().0.credentials.get(id).cloned()
    }

    async fn list_credentials(&self) -> Result<Vec<Credential>> {
        Ok(self.lock().0.credentials.list())
    }

    async fn delete_credential(&self, id: CredentialId) -> Result<()> {
        self.lock().0.credentials.remove(id).map(drop)
    }

    async fn reserve_channel_id(&self) -> Result<ChannelId> {
        Ok(self.lock().0.channels.reserve_id())
    }

    async fn create_channel(&self, id: ChannelId, spec: ChannelSpec) -> Result<Channel> {
        let (mut s, now) = self.lock();
        s.channels.create(Some(id), spec, now)
    }

    async fn update_channel(
        &self,
        id: ChannelId,
        version: i64,
        spec: ChannelSpec,
    ) -> Result<Channel> {
        let (mut s, now) = self.lock();
        s.channels.update(id, version, spec, now)
    }

    async fn get_channel(&self, id: ChannelId) -> Result<Channel> {
        self.lock().0.channels.get(id).cloned()
    }

    async fn list_channels(&self) -> Result<Vec<Channel>> {
        Ok(self.lock().0.channels.list())
    }

    async fn delete_channel(&self, id: ChannelId) -> Result<()> {
        self.lock().0.channels.remove(id).map(drop)
    }

    async fn create_rule(&self, spec: AlertRuleSpec) -> Result<AlertRule> {
        let (mut s, now) = self.lock();
        s.rules.create(None, spec, now)
    }

    async fn update_rule(
        &self,
        id: RuleId,
        version: i64,
        spec: AlertRuleSpec,
    ) -> Result<AlertRule> {
        let (mut s, now) = self.lock();
        s.rules.update(id, version, spec, now)
    }

    async fn get_rule(&self, id: RuleId) -> Result<AlertRule> {
        self.lock().0.rules.get(id).cloned()
    }

    async fn list_rules(&self) -> Result<Vec<AlertRule>> {
        Ok(self.lock().0.rules.list())
    }

    async fn delete_rule(&self, id: RuleId) -> Result<()> {
        let (mut s, _) = self.lock();
        s.rules.remove(id)?;
        s.alert_states.retain(|fp, _| fp.rule_id != id);
        Ok(())
    }

    async fn create_report(&self, spec: ReportSpec) -> Result<ReportConfig> {
        let (mut s, now) = self.lock();
        s.reports.create(None, spec, now)
    }

    async fn update_report(
        &self,
        id: ReportId,
        version: i64,
        spec: ReportSpec,
    ) -> Result<ReportConfig> {
        let (mut s, now) = self.lock();
        s.reports.update(id, version, spec, now)
    }

    async fn get_report(&self, id: ReportId) -> Result<ReportConfig> {
        self.lock().0.reports.get(id).cloned()
    }

    async fn list_reports(&self) -> Result<Vec<ReportConfig>> {
        Ok(self.lock().0.reports.list())
    }

    async fn delete_report(&self, id: ReportId) -> Result<()> {
        self.lock().0.reports.remove(id).map(drop)
    }

    async fn create_schedule(&self, spec: ScheduleSpec) -> Result<Schedule> {
        let (mut s, now) = self.lock();
        s.schedules.create(None, spec, now)
    }

    async fn update_schedule(
        &self,
        id: ScheduleId,
        version: i64,
        spec: ScheduleSpec,
    ) -> Result<Schedule> {
        let (mut s, now) = self.lock();
        s.schedules.update(id, version, spec, now)
    }

    async fn get_schedule(&self, id: ScheduleId) -> Result<Schedule> {
        self.lock().0.schedules.get(id).cloned()
    }

    async fn list_schedules(&self) -> Result<Vec<Schedule>> {
        Ok(self.lock().0.schedules.list())
    }

    async fn delete_schedule(&self, id: ScheduleId) -> Result<()> {
        self.lock().0.schedules.remove(id).map(drop)
    }
}

#[async_trait]
impl MetricStore for MemoryStore {
    async fn upsert_points(&self, points: &[MetricPoint]) -> Result<u64> {
        let (mut s, _) = self.lock();
        let State {
            apps,
            points: stored,
            ..
        } = &mut *s;
        stored.upsert(points, |app| apps.contains(app))
    }

    async fn history(&self, query: &HistoryQuery) -> Result<MetricHistory> {
        let (s, _) = self.lock();
        let selected = s
            .apps
            .iter()
            .filter(|a| query.apps.as_ref().is_none_or(|ids| ids.contains(&a.id)));
        Ok(s.points.history(selected, query))
    }

    async fn latest_dates(&self, apps: &[AppId]) -> Result<BTreeMap<AppId, NaiveDate>> {
        Ok(self.lock().0.points.latest_dates(apps))
    }

    async fn point_counts(&self) -> Result<BTreeMap<AppId, u64>> {
        Ok(self.lock().0.points.counts())
    }
}

#[async_trait]
impl RunStore for MemoryStore {
    async fn now(&self) -> Result<DateTime<Utc>> {
        Ok(self.clock.now())
    }

    async fn insert_execution(&self, new: NewExecution) -> Result<Option<Execution>> {
        let (mut s, now) = self.lock();
        s.runs.insert(new, now)
    }

    async fn get_execution(&self, id: ExecutionId) -> Result<Execution> {
        self.lock().0.runs.get(id).cloned()
    }

    async fn list_executions(&self, filter: &ExecutionFilter) -> Result<Vec<Execution>> {
        Ok(self.lock().0.runs.list(filter))
    }

    async fn claim_execution(
        &self,
        instance: &InstanceId,
        lease: Duration,
    ) -> Result<Option<Execution>> {
        let (mut s, now) = self.lock();
        s.runs.claim(None, instance, lease, now)
    }

    async fn claim_execution_id(
        &self,
        id: ExecutionId,
        instance: &InstanceId,
        lease: Duration,
    ) -> Result<Option<Execution>> {
        let (mut s, now) = self.lock();
        s.runs.claim(Some(id), instance, lease, now)
    }

    async fn renew_lease(
        &self,
        id: ExecutionId,
        instance: &InstanceId,
        lease: Duration,
    ) -> Result<Lease> {
        let (mut s, now) = self.lock();
        s.runs.renew(id, instance, lease, now)
    }

    async fn finish_execution(
        &self,
        id: ExecutionId,
        instance: &InstanceId,
        outcome: ExecutionOutcome,
    ) -> Result<Execution> {
        let (mut s, now) = self.lock();
        s.runs.finish(id, instance, outcome, now)
    }

    async fn reap_expired(&self) -> Result<Vec<Execution>> {
        let (mut s, now) = self.lock();
        Ok(s.runs.reap(now))
    }

    async fn request_cancel(&self, id: ExecutionId) -> Result<Execution> {
        let (mut s, now) = self.lock();
        s.runs.request_cancel(id, now)
    }

    async fn alert_states(&self) -> Result<AlertStates> {
        Ok(self.lock().0.alert_states.clone())
    }

    async fn save_alert_states(&self, states: &[AlertState]) -> Result<()> {
        let (mut s, _) = self.lock();
        for state in states {
            s.alert_states
                .insert(state.fingerprint.clone(), state.clone());
        }
        Ok(())
    }

    async fn start_delivery(
        &self,
        execution: ExecutionId,
        channel: ChannelId,
        message_key: &str,
    ) -> Result<DeliveryRecord> {
        let (mut s, now) = self.lock();
        let chain = s.runs.get(execution)?.chain_id();
        s.deliveries.start(chain, channel, message_key, now)
    }

    async fn finish_delivery(
        &self,
        id: DeliveryId,
        status: DeliveryStatus,
        error: Option<String>,
    ) -> Result<DeliveryRecord> {
        let (mut s, now) = self.lock();
        s.deliveries.finish(id, status, error, now)
    }

    async fn list_deliveries(&self, execution: ExecutionId) -> Result<Vec<DeliveryRecord>> {
        let (s, _) = self.lock();
        let chain = s.runs.get(execution)?.chain_id();
        Ok(s.deliveries.list(chain))
    }

    async fn register_instance(&self, info: InstanceInfo) -> Result<()> {
        let (mut s, _) = self.lock();
        s.instances.insert(info.id.clone(), info);
        Ok(())
    }

    async fn heartbeat_instance(&self, id: &InstanceId) -> Result<()> {
        let (mut s, now) = self.lock();
        let info = s
            .instances
            .get_mut(id)
            .ok_or_else(|| crate::Error::not_found("instance", id))?;
        info.last_seen = now;
        Ok(())
    }

    async fn list_instances(&self) -> Result<Vec<InstanceInfo>> {
        Ok(self.lock().0.instances.values().cloned().collect())
    }

    async fn deregister_instance(&self, id: &InstanceId) -> Result<()> {
        self.lock().0.instances.remove(id);
        Ok(())
    }

    async fn forget_instances(&self, unseen_since: DateTime<Utc>) -> Result<Vec<InstanceId>> {
        let (mut s, _) = self.lock();
        let gone: Vec<InstanceId> = s
            .instances
            .values()
            .filter(|i| i.last_seen < unseen_since)
            .map(|i| i.id.clone())
            .collect();
        for id in &gone {
            s.instances.remove(id);
        }
        Ok(gone)
    }

    async fn run_counts(&self) -> Result<RunCounts> {
        let (s, _) = self.lock();
        let mut counts = s.runs.counts();
        counts.deliveries = s.deliveries.counts();
        Ok(counts)
    }
}
