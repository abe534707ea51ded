//! [`StoreScheduler`]: the default [`Scheduler`], coordinating any number of instances
//! through the [`Store`] alone (DESIGN §7) — single-process on the in-memory and SQLite
//! stores, multi-machine on PostgreSQL.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tokio::sync::Notify;
use tokio::time::{Instant, sleep};
use tokio_util::sync::CancellationToken;

use super::calendar::{next_fire, target_date};
use super::executor::{ExecutorContext, RunningExecution, StopReason, supervise};
use super::slots::SlotTracker;
use super::{
    ExecutionRunner, ScheduleStatus, Scheduler, SchedulerConfig, SchedulerStatus, TriggerRequest,
};
use crate::clock::Clock;
use crate::model::{
    ExecutionFilter, ExecutionId, ExecutionStatus, InstanceId, InstanceInfo, NewExecution,
};
use crate::store::Store;
use crate::{Error, ErrorKind, Result};

/// What one [`StoreScheduler::tick_once`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TickReport {
    /// The store time the tick ran at.
    pub now: Option<DateTime<Utc>>,
    /// Due slots this instance inserted as pending executions.
    pub inserted: usize,
    /// Missed slots this instance recorded as skipped.
    pub skipped: usize,
    /// Due slots another instance had inserted first.
    pub lost_races: usize,
    /// Executions with expired leases this instance marked failed.
    pub reaped: usize,
    /// Instances unseen for longer than `forget_instances_after` this instance removed.
    pub forgotten: usize,
    /// Executions this instance claimed and started.
    pub claimed: usize,
    /// The earliest slot not yet due, over the schedules this instance watches.
    pub next_slot: Option<DateTime<Utc>>,
}

/// The default [`Scheduler`]: fires due slots, claims and runs pending executions,
/// renews their leases, reaps those of lost instances and queues retries, all through
/// a shared [`Store`], so every slot runs once however many instances share the store.
///
/// Time that several instances must agree on (slots, `run_after`, leases, timeouts)
/// is the store's [`now`](crate::store::RunStore::now); the injected [`Clock`] only paces
/// this instance's housekeeping (heartbeat, reaper, schedule reload).
///
/// [`run`](Scheduler::run) loops [`tick_once`](Self::tick_once); tests can call
/// `tick_once` themselves to drive the scheduler step by step.
///
/// ```
/// use std::sync::Arc;
///
/// use async_trait::async_trait;
/// use storewatch_core::clock::SystemClock;
/// use storewatch_core::model::{Execution, ExecutionStatus, Task};
/// use storewatch_core::schedule::{
///     ExecutionRunner, RunReport, Scheduler, SchedulerConfig, StoreScheduler, TriggerRequest,
/// };
/// use storewatch_core::store::{MemoryStore, RunStore};
/// use tokio_util::sync::CancellationToken;
///
/// #[derive(Debug)]
/// struct Done;
///
/// #[async_trait]
/// impl ExecutionRunner for Done {
///     async fn run(&self, _: &Execution, _: CancellationToken) -> RunReport {
///         RunReport::new(ExecutionStatus::Success)
///     }
/// }
///
/// # tokio::runtime::Builder::new_multi_thread().enable_time().build().unwrap().block_on(async {
/// let store = Arc::new(MemoryStore::new());
/// let config = SchedulerConfig::default().with_concurrency(8);
/// let scheduler = StoreScheduler::new(store.clone(), Arc::new(Done), Arc::new(SystemClock), config)?;
/// let id = scheduler
///     .trigger(TriggerRequest::Manual {
///         task: Task::AlertCheck,
///         app_id: None,
///         target_date: "2026-03-28".parse().unwrap(),
///     })
///     .await?;
/// scheduler.tick_once().await?; // claims and starts it
/// scheduler.shutdown().await?; // lets it finish, then deregisters
/// assert_eq!(store.get_execution(id).await?.status, ExecutionStatus::Success);
/// # Ok::<_, storewatch_core::Error>(())
/// # }).unwrap();
/// ```
///
/// Handles are cheap clones of one scheduler. Dropping the last one stops the instance
/// at once, the way a crash would: running executions are abandoned unrecorded, their
/// leases expire and another instance reaps them; the instance itself is forgotten once
/// it has gone [`forget_instances_after`](SchedulerConfig::forget_instances_after)
/// without a heartbeat. To stop gracefully, cancel the token given to `run` or call
/// [`shutdown`](Self::shutdown).
#[derive(Clone)]
pub struct StoreScheduler {
    shared: Arc<Shared>,
    _life: Arc<Lifetime>,
}

/// Aborts the instance's running executions when the last handle goes.
struct Lifetime {
    shared: Arc<Shared>,
}

impl Drop for Lifetime {
    fn drop(&mut self) {
        self.shared.stopping.store(true, Ordering::SeqCst);
        for r in self.shared.running().values() {
            if let Some(task) = r.task.get() {
                task.abort();
            }
        }
    }
}

struct Shared {
    store: Arc<dyn Store>,
    runner: Arc<dyn ExecutionRunner>,
    clock: Arc<dyn Clock>,
    config: SchedulerConfig,
    instance: InstanceId,
    running: Mutex<HashMap<ExecutionId, Arc<RunningExecution>>>,
    /// Signalled when an execution on this instance ends.
    ended: Notify,
    /// Signalled when there may be something to claim now.
    wake: Notify,
    stopping: AtomicBool,
    /// Serializes ticks; holds the state only ticks touch.
    tick: tokio::sync::Mutex<TickState>,
}

#[derive(Debug, Default)]
struct TickState {
    slots: SlotTracker,
    registered: bool,
    last_heartbeat: Option<DateTime<Utc>>,
    last_reap: Option<DateTime<Utc>>,
    last_refresh: Option<DateTime<Utc>>,
}

impl fmt::Debug for StoreScheduler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoreScheduler")
            .field("instance", &self.shared.instance)
            .field("config", &self.shared.config)
            .field("store", &self.shared.store)
            .field("runner", &self.shared.runner)
            .finish_non_exhaustive()
    }
}

impl StoreScheduler {
    /// A scheduler over `store` handing executions to `runner`, with a fresh random
    /// instance id.
    pub fn new(
        store: Arc<dyn Store>,
        runner: Arc<dyn ExecutionRunner>,
        clock: Arc<dyn Clock>,
        config: SchedulerConfig,
    ) -> Result<Self> {
        Self::with_instance_id(store, runner, clock, config, InstanceId::random())
    }

    /// A scheduler with a chosen instance id (unique per running process).
    pub fn with_instance_id(
        store: Arc<dyn Store>,
        runner: Arc<dyn ExecutionRunner>,
        clock: Arc<dyn Clock>,
        config: SchedulerConfig,
        instance: InstanceId,
    ) -> Result<Self> {
        config.validate()?;
        let shared = Arc::new(Shared {
            store,
            runner,
            clock,
            config,
            instance,
            running: Mutex::new(HashMap::new()),
            ended: Notify::new(),
            wake: Notify::new(),
            stopping: AtomicBool::new(false),
            tick: tokio::sync::Mutex::new(TickState::default()),
        });
        Ok(StoreScheduler {
            _life: Arc::new(Lifetime {
                shared: Arc::clone(&shared),
            }),
            shared,
        })
    }

    /// This instance's id.
    pub fn instance_id(&self) -> &InstanceId {
        &self.shared.instance
    }

    /// The configuration.
    pub fn config(&self) -> &SchedulerConfig {
        &self.shared.config
    }

    /// The executions running on this instance now.
    pub fn running_here(&self) -> Vec<ExecutionId> {
        let mut ids: Vec<_> = self.shared.running().keys().copied().collect();
        ids.sort();
        ids
    }

    /// One step of the loop at the store's current time: register or heartbeat the
    /// instance, reload schedules when due, insert due slots, reap expired leases, stop
    /// local runs past their timeout, and claim pending executions up to the
    /// concurrency limit (none once shutdown has begun).
    pub async fn tick_once(&self) -> Result<TickReport> {
        let sh = &self.shared;
        let mut state = sh.tick.lock().await;
        self.housekeeping(&mut state).await?;
        let now = sh.store.now().await?;
        let mut report = TickReport {
            now: Some(now),
            ..TickReport::default()
        };
        let fired = state.slots.fire_due(sh.store.as_ref(), now).await;
        report.next_slot = state.slots.next_slot();
        let fired = fired?;
        report.inserted = fired.inserted;
        report.skipped = fired.skipped;
        report.lost_races = fired.lost_races;
        if due(&mut state.last_reap, sh.clock.now(), sh.config.reap_every) {
            report.reaped = self.reap(now).await?;
            report.forgotten = self.forget_lost_instances(now).await?;
        }
        for r in sh.running().values() {
            if r.overdue_at(now) {
                r.stop(StopReason::Timeout);
            }
        }
        report.claimed = self.claim().await?;
        drop(state);
        Ok(report)
    }

    /// Inserts the slots due at `now` (which a normal tick takes from the store) and
    /// nothing else: for simulating time in tests and catching up after downtime.
    pub async fn fire_due_at(&self, now: DateTime<Utc>) -> Result<TickReport> {
        let sh = &self.shared;
        let mut state = sh.tick.lock().await;
        self.housekeeping(&mut state).await?;
        let fired = state.slots.fire_due(sh.store.as_ref(), now).await?;
        Ok(TickReport {
            now: Some(now),
            inserted: fired.inserted,
            skipped: fired.skipped,
            lost_races: fired.lost_races,
            next_slot: state.slots.next_slot(),
            ..TickReport::default()
        })
    }

    /// Stops claiming, lets running executions finish within the shutdown grace, then
    /// cancels the rest (recorded `Cancelled`) and deregisters the instance. Anything
    /// that still could not be recorded keeps a lease that expires, so another instance
    /// reaps it.
    pub async fn shutdown(&self) -> Result<()> {
        let sh = &self.shared;
        sh.stopping.store(true, Ordering::SeqCst);
        let grace_end = Instant::now() + sh.config.shutdown_grace;
        if !self.wait_idle(grace_end).await {
            let left = self.running_here();
            tracing::info!(
                count = left.len(),
                "shutdown grace over; cancelling running executions"
            );
            for r in sh.running().values() {
                r.stop(StopReason::Shutdown);
            }
            // Each supervisor abandons its runner after the stop grace and records the
            // end; the extra second is for that write.
            let hard_end = Instant::now() + sh.config.stop_grace + Duration::from_secs(1);
            if !self.wait_idle(hard_end).await {
                tracing::warn!(
                    left = ?self.running_here(),
                    "executions still unrecorded at shutdown; their leases will expire"
                );
            }
        }
        sh.store.deregister_instance(&sh.instance).await?;
        sh.tick.lock().await.registered = false;
        Ok(())
    }

    /// Waits until nothing runs here or `deadline` passes; `true` when idle.
    async fn wait_idle(&self, deadline: Instant) -> bool {
        let sleep_until_deadline = tokio::time::sleep_until(deadline);
        tokio::pin!(sleep_until_deadline);
        loop {
            let ended = self.shared.ended.notified();
            tokio::pin!(ended);
            ended.as_mut().enable();
            if self.shared.running().is_empty() {
                return true;
            }
            tokio::select! {
                () = &mut ended => {}
                () = &mut sleep_until_deadline => return self.shared.running().is_empty(),
            }
        }
    }

    async fn housekeeping(&self, state: &mut TickState) -> Result<()> {
        let sh = &self.shared;
        let clock_now = sh.clock.now();
        if !state.registered {
            self.register().await?;
            state.registered = true;
            state.last_heartbeat = Some(clock_now);
        } else if due(
            &mut state.last_heartbeat,
            clock_now,
            sh.config.heartbeat_every,
        ) {
            match sh.store.heartbeat_instance(&sh.instance).await {
                Err(e) if e.kind() == ErrorKind::NotFound => self.register().await?,
                other => other?,
            }
        }
        if due(&mut state.last_refresh, clock_now, sh.config.refresh_every) {
            if let Err(e) = state.slots.refresh(sh.store.as_ref()).await {
                state.last_refresh = None;
                return Err(e);
            }
            tracing::debug!(schedules = state.slots.len(), "schedules reloaded");
        }
        Ok(())
    }

    async fn register(&self) -> Result<()> {
        let sh = &self.shared;
        let now = sh.store.now().await?;
        sh.store
            .register_instance(InstanceInfo {
                id: sh.instance.clone(),
                host: host_name(),
                pid: std::process::id(),
                version: env!("CARGO_PKG_VERSION").to_owned(),
                started_at: now,
                last_seen: now,
            })
            .await
    }

    /// Marks expired executions failed and queues their retries.
    async fn reap(&self, now: DateTime<Utc>) -> Result<usize> {
        let sh = &self.shared;
        let lost = sh.store.reap_expired().await?;
        for exec in &lost {
            tracing::warn!(execution = %exec.id, holder = ?exec.claimed_by, "lease expired: instance lost");
            if exec.can_retry() {
                let backoff = chrono::Duration::from_std(sh.config.retry.backoff(exec.attempt))
                    .unwrap_or_default();
                sh.store
                    .insert_execution(NewExecution::retry(exec, now + backoff))
                    .await?;
            }
        }
        Ok(lost.len())
    }

    /// Removes instances that stopped heartbeating long ago (killed, never deregistered).
    async fn forget_lost_instances(&self, now: DateTime<Utc>) -> Result<usize> {
        let sh = &self.shared;
        let unseen = chrono::Duration::from_std(sh.config.forget_instances_after)
            .unwrap_or(chrono::Duration::MAX);
        let Some(cutoff) = now.checked_sub_signed(unseen) else {
            return Ok(0);
        };
        let forgotten = sh.store.forget_instances(cutoff).await?;
        for id in &forgotten {
            tracing::info!(instance = %id, last_seen_before = %cutoff, "instance forgotten: no heartbeat for too long");
        }
        Ok(forgotten.len())
    }

    /// Claims pending executions up to the concurrency limit and starts them.
    async fn claim(&self) -> Result<usize> {
        let sh = &self.shared;
        let mut claimed = 0;
        while !sh.stopping.load(Ordering::SeqCst) && sh.running().len() < sh.config.concurrency {
            let Some(exec) = sh
                .store
                .claim_execution(&sh.instance, sh.config.lease)
                .await?
            else {
                break;
            };
            claimed += 1;
            let running = Arc::new(RunningExecution::new(exec));
            sh.running()
                .insert(running.execution.id, Arc::clone(&running));
            let ctx = ExecutorContext {
                store: Arc::clone(&sh.store),
                runner: Arc::clone(&sh.runner),
                instance: sh.instance.clone(),
                lease: sh.config.lease,
                stop_grace: sh.config.stop_grace,
                retry: sh.config.retry,
            };
            let guard = RunningGuard {
                shared: Arc::clone(&self.shared),
                id: running.execution.id,
            };
            let task = tokio::spawn({
                let running = Arc::clone(&running);
                async move {
                    // Dropped when the run ends, also when the task is aborted.
                    let _guard = guard;
                    supervise(ctx, running).await;
                }
            });
            // Set before the task could be aborted by a drop, which needs this handle.
            let _ = running.task.set(task.abort_handle());
        }
        Ok(claimed)
    }
}

impl Shared {
    fn running(&self) -> MutexGuard<'_, HashMap<ExecutionId, Arc<RunningExecution>>> {
        // The map stays consistent under a poisoned lock: every change is one insert or
        // remove.
        self.running.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Takes an execution out of the running set when its supervisor ends.
struct RunningGuard {
    shared: Arc<Shared>,
    id: ExecutionId,
}

impl Drop for RunningGuard {
    fn drop(&mut self) {
        self.shared.running().remove(&self.id);
        self.shared.ended.notify_waiters();
        // A slot in the concurrency limit is free.
        self.shared.wake.notify_one();
    }
}

/// Whether `every` has passed since `*last` (then `*last` becomes `now`).
fn due(last: &mut Option<DateTime<Utc>>, now: DateTime<Utc>, every: Duration) -> bool {
    let every = chrono::Duration::from_std(every).unwrap_or(chrono::Duration::MAX);
    match *last {
        Some(t) if now - t < every && now >= t => false,
        _ => {
            *last = Some(now);
            true
        }
    }
}

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown".to_owned())
}

#[async_trait]
impl Scheduler for StoreScheduler {
    async fn run(&self, shutdown: CancellationToken) -> Result<()> {
        let sh = &self.shared;
        sh.stopping.store(false, Ordering::SeqCst);
        loop {
            let wait = match self.tick_once().await {
                Ok(report) => until_next_slot(&report).min(sh.config.tick),
                Err(e) => {
                    tracing::warn!(error = %e, "scheduler tick failed");
                    sh.config.tick
                }
            };
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = sleep(wait) => {}
                () = sh.wake.notified() => {}
            }
        }
        self.shutdown().await
    }

    async fn trigger(&self, req: TriggerRequest) -> Result<ExecutionId> {
        let store = &self.shared.store;
        let now = store.now().await?;
        let new = match req {
            TriggerRequest::Manual {
                task,
                app_id,
                target_date,
            } => NewExecution::manual(task, target_date, now).with_app(app_id),
            TriggerRequest::Schedule(id) => {
                let s = store.get_schedule(id).await?;
                let mut new = NewExecution::manual(s.task, target_date(&s, now), now)
                    .with_app(s.app_id)
                    .with_max_retries(s.max_retries)
                    .with_skip_notifications(s.skip_notifications);
                new.schedule_id = Some(id);
                new.timeout = s.timeout;
                new
            }
            TriggerRequest::Retry(id) => {
                let e = store.get_execution(id).await?;
                if !matches!(
                    e.status,
                    ExecutionStatus::Failed | ExecutionStatus::Timeout | ExecutionStatus::Cancelled
                ) {
                    return Err(Error::new(
                        ErrorKind::Conflict,
                        format!(
                            "execution {id} is {}; only failed, timed-out or cancelled executions can be retried",
                            e.status
                        ),
                    ));
                }
                NewExecution::retry(&e, now)
            }
        };
        let inserted = store.insert_execution(new).await?.ok_or_else(|| {
            Error::internal("an execution without a slot was refused as a duplicate")
        })?;
        self.shared.wake.notify_one();
        Ok(inserted.id)
    }

    async fn cancel(&self, id: ExecutionId) -> Result<()> {
        let exec = self.shared.store.request_cancel(id).await?;
        // Running here: stop it now rather than at the next lease renewal.
        if exec.status == ExecutionStatus::Running
            && let Some(r) = self.shared.running().get(&id)
        {
            r.stop(StopReason::Cancelled);
        }
        Ok(())
    }

    async fn status(&self) -> Result<SchedulerStatus> {
        let store = &self.shared.store;
        let now = store.now().await?;
        let mut schedules = Vec::new();
        for s in store.list_schedules().await? {
            let last_success = store
                .list_executions(
                    &ExecutionFilter::all()
                        .with_schedule(s.id)
                        .with_statuses([ExecutionStatus::Success])
                        .with_limit(1),
                )
                .await?
                .first()
                .and_then(|e| e.completed_at);
            schedules.push(ScheduleStatus {
                schedule_id: s.id,
                name: s.name.clone(),
                is_active: s.is_active,
                next_fire: s.is_active.then(|| next_fire(&s, now)),
                last_success,
            });
        }
        Ok(SchedulerStatus {
            instances: store.list_instances().await?,
            schedules,
            running: store
                .list_executions(&ExecutionFilter::all().with_statuses([ExecutionStatus::Running]))
                .await?,
            queued: store
                .list_executions(&ExecutionFilter::all().with_statuses([ExecutionStatus::Pending]))
                .await?,
        })
    }
}

/// How long until the next known slot, by the store time of the tick.
fn until_next_slot(report: &TickReport) -> Duration {
    match (report.now, report.next_slot) {
        (Some(now), Some(next)) if next > now => (next - now).to_std().unwrap_or(Duration::MAX),
        _ => Duration::MAX,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cadence_fires_once_per_period() {
        let t0: DateTime<Utc> = "2026-01-01T00:00:00Z".parse().unwrap();
        let mut last = None;
        let every = Duration::from_secs(10);
        assert!(due(&mut last, t0, every));
        assert!(!due(&mut last, t0 + chrono::Duration::seconds(9), every));
        assert!(due(&mut last, t0 + chrono::Duration::seconds(10), every));
        // A clock that jumps back does not stall the cadence.
        assert!(due(&mut last, t0 - chrono::Duration::seconds(100), every));
    }

    #[test]
    fn the_loop_wakes_at_the_next_slot() {
        let now: DateTime<Utc> = "2026-01-01T00:00:00Z".parse().unwrap();
        let r = TickReport {
            now: Some(now),
            next_slot: Some(now + chrono::Duration::milliseconds(300)),
            ..TickReport::default()
        };
        assert_eq!(until_next_slot(&r), Duration::from_millis(300));
        assert_eq!(until_next_slot(&TickReport::default()), Duration::MAX);
    }
}
