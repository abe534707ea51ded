//! Measures `StoreScheduler` against its targets (DESIGN §7, issue 4) on `MemoryStore`
//! with the default configuration (1 s tick):
//!
//! - fire latency, slot due → execution running (`started_at − slot_at`, store time),
//!   p99 ≤ 1 s;
//! - idle CPU of a scheduler holding 1,000 active schedules ≤ 1 % of one core,
//!   reported next to a reference measured in the same run: the same scheduler over an
//!   empty store.
//!
//! `cargo run -p storewatch-core --release --example scheduler_targets [idle_secs] [firing]`
//! (defaults 20 s and 100 firing schedules per minute over two minutes; it takes about
//! two and a half minutes plus twice `idle_secs`). CPU time is the time the process's
//! threads spent on a CPU, from `/proc/self/task/*/schedstat` (nanoseconds).
#![allow(clippy::print_stdout)] // the measurements are this program's output

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::{DurationRound, Timelike};
use storewatch_core::clock::{Clock, SystemClock};
use storewatch_core::model::{
    Execution, ExecutionFilter, ExecutionStatus, Frequency, ScheduleSpec, Task,
};
use storewatch_core::schedule::{
    ExecutionRunner, RunReport, Scheduler, SchedulerConfig, StoreScheduler,
};
use storewatch_core::store::{ConfigStore, MemoryStore, RunStore, Store};
use tokio_util::sync::CancellationToken;

/// Succeeds at once: the measurements are of the scheduler, not of the work.
#[derive(Debug)]
struct InstantRunner;

#[async_trait]
impl ExecutionRunner for InstantRunner {
    async fn run(&self, _: &Execution, _: CancellationToken) -> RunReport {
        RunReport::new(ExecutionStatus::Success)
    }
}

/// The process's CPU time so far: the sum over its threads of the nanoseconds each has
/// run (`/proc/self/task/*/schedstat`), finer than the 10 ms ticks of `/proc/self/stat`.
fn cpu_time() -> Duration {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return Duration::ZERO;
    };
    let nanos: u64 = tasks
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .sum();
    Duration::from_nanos(nanos)
}

fn scheduler(store: &Arc<MemoryStore>) -> StoreScheduler {
    StoreScheduler::new(
        Arc::clone(store) as Arc<dyn Store>,
        Arc::new(InstantRunner),
        Arc::new(SystemClock),
        SchedulerConfig::default(),
    )
    .expect("the default configuration is valid")
}

/// Runs `sched` for `secs` and returns the CPU share of one core it used.
async fn idle_share(sched: &StoreScheduler, secs: u64) -> f64 {
    let token = CancellationToken::new();
    let s = sched.clone();
    let t = token.clone();
    let task = tokio::spawn(async move { s.run(t).await });
    // Let registration and the first schedule load pass before measuring.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (cpu0, wall0) = (cpu_time(), Instant::now());
    tokio::time::sleep(Duration::from_secs(secs)).await;
    let (cpu, wall) = (cpu_time() - cpu0, wall0.elapsed());
    token.cancel();
    task.await
        .expect("the loop does not panic")
        .expect("the loop shuts down");
    cpu.as_secs_f64() / wall.as_secs_f64()
}

fn spec(name: String, hour: u32, minute: u32) -> ScheduleSpec {
    ScheduleSpec::new(
        name,
        Task::DataCollection,
        Frequency::Daily,
        u8::try_from(hour).expect("hour"),
        u8::try_from(minute).expect("minute"),
        "UTC",
    )
    .expect("valid spec")
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let idle_secs: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(20);
    let firing: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(100);

    // Reference: the same loop with nothing to watch.
    let empty = Arc::new(MemoryStore::new());
    let reference = idle_share(&scheduler(&empty), idle_secs).await;

    let store = Arc::new(MemoryStore::new());
    let now = SystemClock.now();
    // 1,000 schedules whose slots are hours away, so they stay idle.
    for n in 0..1000u32 {
        let hour = (now.hour() + 3 + n % 18) % 24;
        store
            .create_schedule(spec(format!("idle {n}"), hour, n % 60))
            .await
            .expect("schedule created");
    }
    // Firing schedules at the next two minute boundaries at least 20 s away.
    let first = (now + chrono::Duration::seconds(80))
        .duration_trunc(chrono::Duration::minutes(1))
        .expect("truncates");
    let slots = [first, first + chrono::Duration::minutes(1)];
    for (i, slot) in slots.iter().enumerate() {
        for n in 0..firing {
            store
                .create_schedule(spec(format!("firing {i}-{n}"), slot.hour(), slot.minute()))
                .await
                .expect("schedule created");
        }
    }
    let sched = scheduler(&store);
    let token = CancellationToken::new();
    let task = {
        let s = sched.clone();
        let t = token.clone();
        tokio::spawn(async move { s.run(t).await })
    };
    let wait_until = slots[1] + chrono::Duration::seconds(10);
    while SystemClock.now() < wait_until {
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    token.cancel();
    task.await
        .expect("the loop does not panic")
        .expect("the loop shuts down");
    let done = store
        .list_executions(&ExecutionFilter::all())
        .await
        .expect("executions listed");
    let mut latencies: Vec<f64> = done
        .iter()
        .filter_map(|e| Some((e.started_at? - e.slot_at?).as_seconds_f64()))
        .collect();
    latencies.sort_by(f64::total_cmp);
    let pct = |p: f64| {
        latencies
            .get(((latencies.len() as f64 * p).ceil() as usize).saturating_sub(1))
            .copied()
            .unwrap_or(f64::NAN)
    };

    let share = idle_share(&sched, idle_secs).await;

    println!(
        "fire latency over {} slots (expected {}): p50 {:.3} s, p99 {:.3} s, max {:.3} s (target p99 ≤ 1 s)",
        latencies.len(),
        slots.len() * firing,
        pct(0.50),
        pct(0.99),
        pct(1.0)
    );
    println!(
        "idle CPU with 1,000 active schedules: {:.4} % of one core (target ≤ 1 %; {:.2}× the budget)",
        share * 100.0,
        share / 0.01
    );
    println!(
        "reference, same loop over an empty store: {:.4} % of one core; 1,000 schedules cost {:.2}× the reference",
        reference * 100.0,
        share / reference
    );
}
