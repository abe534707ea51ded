//! The scheduler conformance suite: [`StoreScheduler`]'s
//! guarantees (DESIGN §7) checked against a store, so every [`Store`] implementation
//! shows that the scheduler keeps them on top of it.
//!
//! Each check is a plain `pub async fn name<S: Store + 'static>(store: S)` taking a
//! fresh, empty store, and panics with a message starting with its name when a
//! guarantee breaks. Time comes from the store, as it does for the scheduler, and the
//! checks use short real durations (one second leases and timeouts, bounded waits), so
//! they hold for stores whose time is the database's; the whole suite takes some
//! seconds. They need a multi-threaded tokio runtime.
//!
//! In a store crate's tests:
//!
//! ```ignore
//! storewatch_core::scheduler_conformance_tests!(async { MyStore::connect_fresh().await.unwrap() });
//! ```
//!
//! or, from one test, [`check_all`] with a factory of fresh stores.

mod lifecycle;
mod runner;
mod slots;
mod triggers;

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub use self::lifecycle::{
    cancel_pending_and_running, lost_instance_is_reaped_and_retried,
    panicking_runner_is_recorded_failed, shutdown_finishes_then_cancels,
    timeout_is_recorded_and_retried,
};
pub use self::runner::{RunBehaviour, TestRunner};
pub use self::slots::{
    misfire_runs_latest_slot_and_skips_older, one_run_per_slot_across_instances,
};
pub use self::triggers::triggers_status_and_records;
use crate::Result;
use crate::clock::SystemClock;
use crate::model::{
    Execution, ExecutionFilter, ExecutionId, ExecutionStatus, Frequency, Schedule, ScheduleSpec,
    Task,
};
use crate::schedule::{RetryPolicy, Scheduler, SchedulerConfig, StoreScheduler, TriggerRequest};
use crate::store::Store;
use chrono::{DateTime, NaiveDate, Utc};

/// The name of every check, in the order [`check_all`] runs them.
pub const CHECKS: &[&str] = &[
    "one_run_per_slot_across_instances",
    "lost_instance_is_reaped_and_retried",
    "timeout_is_recorded_and_retried",
    "cancel_pending_and_running",
    "misfire_runs_latest_slot_and_skips_older",
    "panicking_runner_is_recorded_failed",
    "triggers_status_and_records",
    "shutdown_finishes_then_cancels",
];

/// Runs every check, each against a fresh store from `factory`, printing
/// `scheduler conformance: <name> ... ok` (or `FAILED`) per check, and panics at the end
/// naming the checks that failed.
pub async fn check_all<F, Fut, S>(factory: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = S>,
    S: Store + 'static,
{
    let mut failed = Vec::new();
    macro_rules! run {
        ($($name:ident),*) => {$(
            let ok = AssertUnwindSafe(async { $name(factory().await).await })
                .catch_unwind()
                .await
                .is_ok();
            report(stringify!($name), ok, &mut failed);
        )*};
    }
    run!(
        one_run_per_slot_across_instances,
        lost_instance_is_reaped_and_retried,
        timeout_is_recorded_and_retried,
        cancel_pending_and_running,
        misfire_runs_latest_slot_and_skips_older,
        panicking_runner_is_recorded_failed,
        triggers_status_and_records,
        shutdown_finishes_then_cancels
    );
    if !failed.is_empty() {
        panic!(
            "scheduler conformance: {} of {} checks failed: {}",
            failed.len(),
            CHECKS.len(),
            failed.join(", ")
        );
    }
}

#[allow(clippy::print_stderr)] // the suite's progress report, like the test harness's
fn report(name: &'static str, ok: bool, failed: &mut Vec<&'static str>) {
    eprintln!(
        "scheduler conformance: {name} ... {}",
        if ok { "ok" } else { "FAILED" }
    );
    if !ok {
        failed.push(name);
    }
}

/// Expands to a module `scheduler_conformance` with one `#[tokio::test]` per check of
/// the [scheduler conformance suite](crate::testkit::scheduler), each against a fresh
/// store from the given expression (an `impl Future<Output = S>`, `S: Store + 'static`,
/// evaluated once per check). The invoking crate needs `tokio` with the `macros` and
/// `rt-multi-thread` features.
#[macro_export]
macro_rules! scheduler_conformance_tests {
    (@tests ($factory:expr) [$($name:ident),* $(,)?]) => {$(
        #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            $crate::testkit::scheduler::$name(($factory).await).await;
        }
    )*};
    ($factory:expr $(,)?) => {
        /// The scheduler conformance suite, one test per guarantee.
        mod scheduler_conformance {
            #[allow(unused_imports)]
            use super::*;

            $crate::scheduler_conformance_tests!(@tests ($factory) [
                one_run_per_slot_across_instances,
                lost_instance_is_reaped_and_retried,
                timeout_is_recorded_and_retried,
                cancel_pending_and_running,
                misfire_runs_latest_slot_and_skips_older,
                panicking_runner_is_recorded_failed,
                triggers_status_and_records,
                shutdown_finishes_then_cancels,
            ]);
        }
    };
}

/// A configuration for tests: 50 ms tick, 1 s lease, housekeeping every 100–200 ms,
/// retries after 50–200 ms, 1 s shutdown grace, 500 ms stop grace.
pub fn test_config() -> SchedulerConfig {
    SchedulerConfig::default()
        .with_tick(Duration::from_millis(50))
        .with_lease(Duration::from_secs(1))
        .with_concurrency(4)
        .with_shutdown_grace(Duration::from_secs(1))
        .with_stop_grace(Duration::from_millis(500))
        .with_housekeeping(
            Duration::from_millis(200),
            Duration::from_millis(100),
            Duration::from_millis(200),
        )
        .with_retry(RetryPolicy {
            base: Duration::from_millis(50),
            cap: Duration::from_millis(200),
            ..RetryPolicy::default()
        })
}

/// A scheduler over `store` and `runner` with `config` and the system clock.
pub fn test_scheduler(
    store: &Arc<dyn Store>,
    runner: &Arc<TestRunner>,
    config: SchedulerConfig,
) -> StoreScheduler {
    StoreScheduler::new(
        Arc::clone(store),
        Arc::clone(runner) as Arc<dyn crate::schedule::ExecutionRunner>,
        Arc::new(SystemClock),
        config,
    )
    .expect("the test configuration is valid")
}

/// A scheduler's [`run`](Scheduler::run) loop spawned on the runtime.
#[derive(Debug)]
pub struct RunningLoop {
    /// The loop's task.
    pub handle: JoinHandle<Result<()>>,
    /// Cancelling it starts the graceful shutdown.
    pub token: CancellationToken,
}

impl RunningLoop {
    /// Spawns `scheduler`'s loop.
    pub fn start(scheduler: &StoreScheduler) -> Self {
        let token = CancellationToken::new();
        let s = scheduler.clone();
        let t = token.clone();
        RunningLoop {
            handle: tokio::spawn(async move { s.run(t).await }),
            token,
        }
    }

    /// Shuts the loop down gracefully and returns what `run` returned.
    pub async fn stop(self) -> Result<()> {
        self.token.cancel();
        self.handle
            .await
            .expect("the scheduler loop does not panic")
    }
}

/// Polls `cond` every 20 ms until it holds; panics `check: timed out … waiting for what`
/// after `limit`.
pub async fn wait_for<F, Fut>(check: &str, what: &str, limit: Duration, mut cond: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + limit;
    while !cond().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{check}: timed out after {limit:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// One execution, which must exist.
pub async fn execution(store: &Arc<dyn Store>, id: ExecutionId) -> Execution {
    store
        .get_execution(id)
        .await
        .unwrap_or_else(|e| panic!("execution {id} should exist: {e}"))
}

/// The retries of the chain that `id` starts, oldest first.
pub async fn retries_of(store: &Arc<dyn Store>, id: ExecutionId) -> Vec<Execution> {
    let mut all: Vec<_> = store
        .list_executions(&ExecutionFilter::all())
        .await
        .expect("executions can be listed")
        .into_iter()
        .filter(|e| e.retry_of == Some(id))
        .collect();
    all.sort_by_key(|e| e.id);
    all
}

/// How long a check waits for something that takes a lease or a timeout (about 1 s).
const WAIT: Duration = Duration::from_secs(20);

fn spec(name: &str, task: Task, hour: u32, minute: u32, tz: &str) -> ScheduleSpec {
    let hour = u8::try_from(hour).expect("hour fits");
    let minute = u8::try_from(minute).expect("minute fits");
    ScheduleSpec::new(name, task, Frequency::Daily, hour, minute, tz)
        .expect("the check's schedule spec is valid")
}

async fn create(store: &Arc<dyn Store>, spec: ScheduleSpec) -> Schedule {
    store
        .create_schedule(spec)
        .await
        .expect("the check's schedule can be created")
}

async fn now(store: &Arc<dyn Store>) -> DateTime<Utc> {
    store.now().await.expect("the store tells the time")
}

async fn status_is(store: &Arc<dyn Store>, id: ExecutionId, status: ExecutionStatus) -> bool {
    execution(store, id).await.status == status
}

fn manual(task: Task) -> TriggerRequest {
    TriggerRequest::Manual {
        task,
        app_id: None,
        target_date: NaiveDate::from_ymd_opt(2026, 1, 5).expect("valid date"),
    }
}
