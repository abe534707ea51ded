//! Scheduling (DESIGN §7): the [`Scheduler`] trait, the [`ExecutionRunner`] it hands
//! executions to, and how an execution's end is recorded and retried; the calendar of
//! slots ([`next_fire`]); and [`StoreScheduler`], the default scheduler, which
//! coordinates any number of instances through the store alone.

mod calendar;
mod config;
mod executor;
mod retry;
mod runner;
mod slots;
mod store_scheduler;

pub use calendar::{latest_slot_at_or_before, next_fire, target_date};
pub use config::SchedulerConfig;
pub use retry::{RetryPolicy, complete_execution};
pub use runner::{ExecutionRunner, RunReport};
pub use store_scheduler::{StoreScheduler, TickReport};
/// The token that stops [`Scheduler::run`] and cancels a running execution; re-exported
/// so embedders use the same `tokio-util` version as the scheduler.
pub use tokio_util::sync::CancellationToken;

use std::fmt::Debug;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};

use crate::Result;
use crate::model::{AppId, Execution, ExecutionId, InstanceInfo, ScheduleId, Task};

/// A run asked for by a person or a program.
#[derive(Debug, Clone, PartialEq)]
pub enum TriggerRequest {
    /// Run a task now, recorded as a manual execution.
    Manual {
        /// What.
        task: Task,
        /// One app or all.
        app_id: Option<AppId>,
        /// The reporting day.
        target_date: NaiveDate,
    },
    /// Run a schedule's task now (its app, its target day), outside its slots.
    Schedule(ScheduleId),
    /// Retry a failed, timed-out or cancelled execution now.
    Retry(ExecutionId),
}

/// One schedule's place in time.
#[derive(Debug, Clone, PartialEq)]
pub struct ScheduleStatus {
    /// The schedule.
    pub schedule_id: ScheduleId,
    /// Its name.
    pub name: String,
    /// Whether it fires.
    pub is_active: bool,
    /// The next slot, for active schedules.
    pub next_fire: Option<DateTime<Utc>>,
    /// When an execution of it last succeeded.
    pub last_success: Option<DateTime<Utc>>,
}

/// What the scheduler sees across every instance sharing the store.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SchedulerStatus {
    /// Registered instances with their last heartbeat.
    pub instances: Vec<InstanceInfo>,
    /// Every schedule with its next fire time.
    pub schedules: Vec<ScheduleStatus>,
    /// Executions running now.
    pub running: Vec<Execution>,
    /// Executions waiting to run.
    pub queued: Vec<Execution>,
}

/// Fires due slots, executes, renews leases and reaps lost runs.
#[async_trait]
pub trait Scheduler: Send + Sync + Debug {
    /// Runs until `shutdown` is cancelled, then shuts down gracefully.
    async fn run(&self, shutdown: CancellationToken) -> Result<()>;
    /// Queues a manual, schedule or retry run and returns its id.
    async fn trigger(&self, req: TriggerRequest) -> Result<ExecutionId>;
    /// Cancels a pending execution, or asks a running one to stop.
    async fn cancel(&self, id: ExecutionId) -> Result<()>;
    /// Instances, next fire times, running and queued executions.
    async fn status(&self) -> Result<SchedulerStatus>;
}
