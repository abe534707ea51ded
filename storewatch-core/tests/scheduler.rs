//! `StoreScheduler` on `MemoryStore`: the scheduler conformance suite, plus what only a
//! manual clock can show without waiting: weeks of slots, DST days and outages of days.

// A test file: helpers outside `#[test]` functions unwrap too.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use storewatch_core::clock::{Clock, ManualClock};
use storewatch_core::model::{
    ExecutionFilter, ExecutionStatus, Frequency, Schedule, ScheduleSpec, Task, Trigger,
};
use storewatch_core::schedule::{
    Scheduler, SchedulerConfig, StoreScheduler, TriggerRequest, next_fire,
};
use storewatch_core::store::{MemoryStore, Store};
use storewatch_core::testkit::scheduler::{
    RunBehaviour, TestRunner, check_all, retries_of, test_config,
};

storewatch_core::scheduler_conformance_tests!(async { MemoryStore::new() });

/// `check_all` runs the same checks from one test.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "the same checks run one per test above; this shows check_all works"]
async fn check_all_on_memory_store() {
    check_all(|| async { MemoryStore::new() }).await;
}

fn utc(s: &str) -> DateTime<Utc> {
    s.parse().expect("a valid RFC 3339 time")
}

struct World {
    clock: ManualClock,
    store: Arc<dyn Store>,
    runner: Arc<TestRunner>,
}

impl World {
    fn new(start: &str, runner: TestRunner) -> Self {
        let clock = ManualClock::new(utc(start));
        World {
            store: Arc::new(MemoryStore::with_clock(Arc::new(clock.clone()))),
            clock,
            runner: Arc::new(runner),
        }
    }

    fn scheduler(&self) -> StoreScheduler {
        self.scheduler_with(test_config())
    }

    fn scheduler_with(&self, config: SchedulerConfig) -> StoreScheduler {
        StoreScheduler::new(
            Arc::clone(&self.store),
            Arc::clone(&self.runner) as _,
            Arc::new(self.clock.clone()),
            config,
        )
        .unwrap()
    }

    async fn schedule(&self, name: &str, f: Frequency, h: u8, m: u8, tz: &str) -> Schedule {
        let spec = ScheduleSpec::new(name, Task::DataCollection, f, h, m, tz).unwrap();
        self.store.create_schedule(spec).await.unwrap()
    }

    /// One tick of every instance, concurrently, then waits (in real time) for the runs
    /// they started to be recorded.
    async fn tick(&self, instances: &[StoreScheduler]) {
        let ticks: Vec<_> = instances
            .iter()
            .map(|s| {
                let s = s.clone();
                tokio::spawn(async move { s.tick_once().await })
            })
            .collect();
        for t in ticks {
            t.await.unwrap().unwrap();
        }
        while instances.iter().any(|s| !s.running_here().is_empty()) {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }

    /// Moves the clock by `step` up to `until`, ticking every instance at each step.
    async fn walk(&self, instances: &[StoreScheduler], until: DateTime<Utc>, step: Duration) {
        while self.clock.now() < until {
            self.clock.advance(step);
            self.tick(instances).await;
        }
    }

    /// (slot, status) of every execution of `s`.
    async fn slots(&self, s: &Schedule) -> BTreeMap<DateTime<Utc>, ExecutionStatus> {
        self.store
            .list_executions(&ExecutionFilter::all().with_schedule(s.id))
            .await
            .unwrap()
            .into_iter()
            .filter_map(|e| e.slot_at.map(|slot| (slot, e.status)))
            .collect()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_instances_run_500_slots_once_each() {
    let w = World::new(
        "2026-03-20T00:00:00Z",
        TestRunner::always(RunBehaviour::Succeed),
    );
    // Zones with and without DST; the window spans Europe's spring forward.
    let zones = [
        "UTC",
        "Europe/Berlin",
        "America/New_York",
        "Asia/Kolkata",
        "Australia/Lord_Howe",
    ];
    let mut schedules = Vec::new();
    for n in 0..20u8 {
        let tz = zones[usize::from(n) % zones.len()];
        schedules.push(
            w.schedule(
                &format!("s{n}"),
                Frequency::Daily,
                (n * 5) % 24,
                (n * 7) % 60,
                tz,
            )
            .await,
        );
    }
    let instances: Vec<_> = (0..3).map(|_| w.scheduler()).collect();
    let end = w.clock.now() + chrono::Duration::days(25);
    w.walk(&instances, end, Duration::from_secs(600)).await;

    let mut total = 0;
    for s in &schedules {
        let mut expected = Vec::new();
        let mut t = next_fire(s, s.created_at);
        while t <= end {
            expected.push((t, ExecutionStatus::Success));
            t = next_fire(s, t);
        }
        total += expected.len();
        let got: Vec<_> = w.slots(s).await.into_iter().collect();
        assert_eq!(got, expected, "schedule {} in {}", s.id, s.timezone);
    }
    assert!(total >= 500, "{total} slots");
    let started = w.runner.started();
    assert_eq!(started.len(), total, "every slot runs exactly once");
    let mut runs_per_slot = BTreeMap::new();
    for e in &started {
        *runs_per_slot.entry((e.schedule_id, e.slot_at)).or_insert(0) += 1;
    }
    assert!(runs_per_slot.values().all(|n| *n == 1));
    let ids: Vec<_> = instances
        .iter()
        .map(|i| Some(i.instance_id().clone()))
        .collect();
    for e in w
        .store
        .list_executions(&ExecutionFilter::all())
        .await
        .unwrap()
    {
        assert!(ids.contains(&e.claimed_by), "{e:?}");
    }
}

/// Walks `s` minute by minute over `[from, to]` on one instance and returns the
/// instants its runs started (store time).
async fn fire_times(w: &World, s: &Schedule, to: &str) -> Vec<DateTime<Utc>> {
    let sched = w.scheduler();
    w.tick(std::slice::from_ref(&sched)).await;
    w.walk(
        std::slice::from_ref(&sched),
        utc(to),
        Duration::from_secs(60),
    )
    .await;
    let mut starts: Vec<_> = w
        .store
        .list_executions(&ExecutionFilter::all().with_schedule(s.id))
        .await
        .unwrap()
        .into_iter()
        .map(|e| {
            assert_eq!(e.status, ExecutionStatus::Success);
            assert_eq!(e.slot_at, e.started_at, "runs start at their slot");
            e.started_at.unwrap()
        })
        .collect();
    starts.sort();
    starts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn berlin_0230_fires_once_at_0300_on_spring_forward_day() {
    let w = World::new(
        "2026-03-28T12:00:00Z",
        TestRunner::always(RunBehaviour::Succeed),
    );
    let s = w
        .schedule("berlin", Frequency::Daily, 2, 30, "Europe/Berlin")
        .await;
    let starts = fire_times(&w, &s, "2026-03-30T01:00:00Z").await;
    // 03:00 CEST = 01:00 UTC; the next day's 02:30 CEST = 00:30 UTC.
    assert_eq!(
        starts,
        [utc("2026-03-29T01:00:00Z"), utc("2026-03-30T00:30:00Z")]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_york_0130_fires_once_at_the_first_0130_on_fall_back_day() {
    let w = World::new(
        "2026-10-31T12:00:00Z",
        TestRunner::always(RunBehaviour::Succeed),
    );
    let s = w
        .schedule("new york", Frequency::Daily, 1, 30, "America/New_York")
        .await;
    let starts = fire_times(&w, &s, "2026-11-02T00:00:00Z").await;
    // 01:30 EDT = 05:30 UTC; the second 01:30 (EST, 06:30 UTC) does not fire.
    assert_eq!(starts, [utc("2026-11-01T05:30:00Z")]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn monthly_day_31_fires_on_the_last_day_of_february() {
    for (start, end, fired) in [
        (
            "2027-02-27T00:00:00Z",
            "2027-03-01T12:00:00Z",
            "2027-02-28T09:00:00Z",
        ),
        (
            "2028-02-28T00:00:00Z",
            "2028-03-01T12:00:00Z",
            "2028-02-29T09:00:00Z",
        ),
    ] {
        let w = World::new(start, TestRunner::always(RunBehaviour::Succeed));
        let s = w
            .schedule("monthly", Frequency::monthly(31).unwrap(), 9, 0, "UTC")
            .await;
        assert_eq!(fire_times(&w, &s, end).await, [utc(fired)]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_days_down_runs_the_latest_slot_and_skips_the_rest() {
    let w = World::new(
        "2026-06-01T08:00:00Z",
        TestRunner::always(RunBehaviour::Succeed),
    );
    let s = w.schedule("daily", Frequency::Daily, 9, 0, "UTC").await;
    let sched = w.scheduler();
    let one = std::slice::from_ref(&sched);
    w.walk(one, utc("2026-06-01T09:05:00Z"), Duration::from_secs(60))
        .await;
    // Down from here until three days later, 20 minutes after that day's slot.
    w.clock.set(utc("2026-06-04T09:20:00Z"));
    w.tick(one).await;
    w.walk(one, utc("2026-06-04T12:00:00Z"), Duration::from_secs(60))
        .await;
    let expected: BTreeMap<_, _> = [
        (utc("2026-06-01T09:00:00Z"), ExecutionStatus::Success),
        (utc("2026-06-03T09:00:00Z"), ExecutionStatus::Skipped),
        (utc("2026-06-04T09:00:00Z"), ExecutionStatus::Success),
    ]
    .into_iter()
    .collect();
    assert_eq!(w.slots(&s).await, expected);

    // Down again, back two hours after the slot: beyond the 1 h grace nothing runs.
    w.clock.set(utc("2026-06-07T11:00:00Z"));
    w.tick(one).await;
    let slots = w.slots(&s).await;
    assert_eq!(
        slots.get(&utc("2026-06-07T09:00:00Z")),
        Some(&ExecutionStatus::Skipped)
    );
    assert_eq!(slots.len(), 4, "{slots:?}");
    let ran: Vec<_> = w.runner.started().iter().map(|e| e.slot_at).collect();
    assert_eq!(
        ran,
        [
            Some(utc("2026-06-01T09:00:00Z")),
            Some(utc("2026-06-04T09:00:00Z"))
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_instance_is_reaped_when_its_lease_expires_on_the_clock() {
    let w = World::new(
        "2026-06-01T08:00:00Z",
        TestRunner::new(|e| {
            if e.attempt == 1 {
                RunBehaviour::Hang
            } else {
                RunBehaviour::Succeed
            }
        }),
    );
    let s = w.schedule("daily", Frequency::Daily, 9, 0, "UTC").await;
    let a = w.scheduler();
    let id = a.trigger(TriggerRequest::Schedule(s.id)).await.unwrap();
    a.tick_once().await.unwrap();
    while w.runner.starts_of(id) == 0 {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    drop(a);

    let b = w.scheduler();
    let one = std::slice::from_ref(&b);
    w.tick(one).await;
    assert_eq!(
        w.store.get_execution(id).await.unwrap().status,
        ExecutionStatus::Running,
        "the lease (1 s) has not expired yet"
    );
    w.walk(
        one,
        w.clock.now() + chrono::Duration::seconds(2),
        Duration::from_millis(100),
    )
    .await;
    let lost = w.store.get_execution(id).await.unwrap();
    assert_eq!(lost.status, ExecutionStatus::Failed);
    assert!(lost.error_log.contains("instance lost"), "{lost:?}");
    let retries = retries_of(&w.store, id).await;
    assert_eq!(retries.len(), 1);
    assert_eq!(retries[0].trigger, Trigger::Retry);
    assert_eq!(retries[0].status, ExecutionStatus::Success);
    assert_eq!(retries[0].claimed_by.as_ref(), Some(b.instance_id()));
    assert!(w.runner.finished().iter().all(|(e, _)| *e != id));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_instance_is_forgotten_once_unseen_for_the_horizon() {
    let w = World::new(
        "2026-06-01T08:00:00Z",
        TestRunner::always(RunBehaviour::Succeed),
    );
    let config = test_config().with_forget_instances_after(Duration::from_secs(3600));
    let killed = w.scheduler_with(config.clone());
    killed.tick_once().await.unwrap();
    drop(killed);
    let alive = w.scheduler_with(config);
    let one = std::slice::from_ref(&alive);
    w.tick(one).await;
    assert_eq!(w.store.list_instances().await.unwrap().len(), 2);

    w.walk(
        one,
        w.clock.now() + chrono::Duration::minutes(59),
        Duration::from_secs(60),
    )
    .await;
    assert_eq!(
        w.store.list_instances().await.unwrap().len(),
        2,
        "59 minutes unseen is within the hour"
    );
    w.walk(
        one,
        w.clock.now() + chrono::Duration::minutes(2),
        Duration::from_secs(60),
    )
    .await;
    let left: Vec<_> = w
        .store
        .list_instances()
        .await
        .unwrap()
        .into_iter()
        .map(|i| i.id)
        .collect();
    assert_eq!(left, vec![alive.instance_id().clone()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeout_by_store_time_is_recorded_and_retried() {
    // The manual clock alone passes the timeout: the scheduler checks it on every tick.
    let w = World::new(
        "2026-06-01T08:00:00Z",
        TestRunner::new(|e| {
            if e.attempt == 1 {
                RunBehaviour::Hang
            } else {
                RunBehaviour::Succeed
            }
        }),
    );
    let mut spec = ScheduleSpec::new("t", Task::AlertCheck, Frequency::Daily, 9, 0, "UTC").unwrap();
    spec.timeout = Duration::from_secs(300);
    spec.max_retries = 1;
    let s = w.store.create_schedule(spec).await.unwrap();
    // A lease far longer than the walk: renewals follow real time, the clock does not.
    let sched = w.scheduler_with(test_config().with_lease(Duration::from_secs(3600)));
    let id = sched.trigger(TriggerRequest::Schedule(s.id)).await.unwrap();
    sched.tick_once().await.unwrap();
    while w.runner.starts_of(id) == 0 {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    // Ticks every half second of store time up to the timeout, without waiting for the
    // hanging run; the tick at 300 s stops it, and time stands still until it is recorded.
    let until = w.clock.now() + chrono::Duration::seconds(300);
    while w.clock.now() < until {
        w.clock.advance(Duration::from_millis(500));
        sched.tick_once().await.unwrap();
    }
    while !sched.running_here().is_empty() {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let e = w.store.get_execution(id).await.unwrap();
    assert_eq!(e.status, ExecutionStatus::Timeout, "{e:?}");
    assert_eq!(e.duration, Some(Duration::from_secs(300)));
    w.walk(
        std::slice::from_ref(&sched),
        w.clock.now() + chrono::Duration::seconds(2),
        Duration::from_millis(500),
    )
    .await;
    let retries = retries_of(&w.store, id).await;
    assert_eq!(retries.len(), 1);
    assert_eq!(retries[0].status, ExecutionStatus::Success);
}
