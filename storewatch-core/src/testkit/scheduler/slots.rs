//! Checks of due slots: one execution per slot across instances, and misfires.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use chrono::DurationRound;

use super::{
    RunBehaviour, RunningLoop, TestRunner, WAIT, create, manual, now, spec, test_config,
    test_scheduler, wait_for,
};
use crate::model::{
    ExecutionFilter, ExecutionOutcome, ExecutionStatus, InstanceId, NewExecution, Task, Trigger,
};
use crate::schedule::{
    Scheduler, StoreScheduler, latest_slot_at_or_before, next_fire, target_date,
};
use crate::store::Store;

/// Three instances walk 25 simulated days concurrently over 20 daily schedules (500
/// slots): every slot is inserted exactly once, as a pending scheduled execution of
/// that slot, and nothing is skipped. Then the three run loops share 60 manual
/// executions: each runs exactly once.
pub async fn one_run_per_slot_across_instances<S: Store + 'static>(store: S) {
    const CHECK: &str = "one_run_per_slot_across_instances";
    let store: Arc<dyn Store> = Arc::new(store);
    // Zones without DST: a daily slot every 24 h, so 25 days hold 25 slots each.
    let zones = ["UTC", "Asia/Tokyo", "Asia/Kolkata", "America/Phoenix"];
    let mut schedules = Vec::new();
    for n in 0..20u32 {
        let s = spec(
            &format!("{CHECK} {n}"),
            Task::DataCollection,
            n * 5 % 24,
            n * 7 % 60,
            zones[n as usize % zones.len()],
        );
        schedules.push(create(&store, s).await);
    }
    let runner = Arc::new(TestRunner::always(RunBehaviour::Succeed));
    let instances: Vec<StoreScheduler> = (0..3)
        .map(|_| test_scheduler(&store, &runner, test_config()))
        .collect();

    let start = now(&store).await;
    let end = start + chrono::Duration::days(25);
    let mut walkers = Vec::new();
    for (i, s) in instances.iter().enumerate() {
        let s = s.clone();
        walkers.push(tokio::spawn(async move {
            let (mut inserted, mut skipped) = (0, 0);
            let mut t = start + chrono::Duration::minutes(3 * i as i64);
            loop {
                let at = t.min(end);
                let r = s
                    .fire_due_at(at)
                    .await
                    .unwrap_or_else(|e| panic!("{CHECK}: fire_due_at({at}) failed: {e}"));
                inserted += r.inserted;
                skipped += r.skipped;
                if at == end {
                    break (inserted, skipped);
                }
                t += chrono::Duration::minutes(10);
                tokio::task::yield_now().await;
            }
        }));
    }
    let (mut inserted, mut skipped) = (0, 0);
    for w in walkers {
        let (i, s) = w.await.expect("a walker does not panic");
        inserted += i;
        skipped += s;
    }

    let mut expected_total = 0;
    for s in &schedules {
        let mut expected = BTreeSet::new();
        let mut t = next_fire(s, s.created_at);
        while t <= end {
            expected.insert(t);
            t = next_fire(s, t);
        }
        expected_total += expected.len();
        let execs = store
            .list_executions(&ExecutionFilter::all().with_schedule(s.id))
            .await
            .expect("executions can be listed");
        let mut slots = BTreeMap::new();
        for e in &execs {
            let slot = e
                .slot_at
                .unwrap_or_else(|| panic!("{CHECK}: execution without a slot: {e:?}"));
            assert!(
                e.status == ExecutionStatus::Pending
                    && e.trigger == Trigger::Scheduled
                    && e.run_after == slot
                    && e.target_date == target_date(s, slot)
                    && e.attempt == 1,
                "{CHECK}: a slot's execution should be pending, scheduled, runnable from its slot, \
                 for the slot's target day: {e:?}"
            );
            *slots.entry(slot).or_insert(0) += 1;
        }
        let twice: Vec<_> = slots.iter().filter(|(_, n)| **n > 1).collect();
        assert!(
            twice.is_empty(),
            "{CHECK}: schedule {} has slots inserted more than once: {twice:?}",
            s.id
        );
        let got: BTreeSet<_> = slots.into_keys().collect();
        assert_eq!(
            got, expected,
            "{CHECK}: schedule {} ({} in {}) should have exactly one execution per slot",
            s.id, s.hour, s.timezone
        );
    }
    assert!(
        expected_total >= 500,
        "{CHECK}: the setup should hold at least 500 slots, has {expected_total}"
    );
    assert_eq!(
        (inserted, skipped),
        (expected_total, 0),
        "{CHECK}: the instances together should insert each slot once and skip none"
    );

    let loops: Vec<_> = instances.iter().map(RunningLoop::start).collect();
    let mut manual_ids = Vec::new();
    for i in 0..60 {
        let s = &instances[i % instances.len()];
        manual_ids.push(
            s.trigger(manual(Task::AlertCheck))
                .await
                .expect("a manual run can be triggered"),
        );
    }
    wait_for(CHECK, "60 manual executions to succeed", WAIT, || async {
        let done = store
            .list_executions(&ExecutionFilter::all().with_statuses([ExecutionStatus::Success]))
            .await
            .expect("executions can be listed");
        done.len() >= manual_ids.len()
    })
    .await;
    for l in loops {
        l.stop().await.expect("a loop shuts down cleanly");
    }
    for id in &manual_ids {
        assert_eq!(
            runner.starts_of(*id),
            1,
            "{CHECK}: execution {id} should run exactly once across three instances"
        );
    }
    assert!(
        runner.started().iter().all(|e| e.schedule_id.is_none()),
        "{CHECK}: slots in the future must not run"
    );
}

/// An instance that comes back after three days runs only the latest slot, which is
/// within the misfire grace; the slot before it is recorded `Skipped`, older ones
/// coalesce into it, and none of them runs.
pub async fn misfire_runs_latest_slot_and_skips_older<S: Store + 'static>(store: S) {
    const CHECK: &str = "misfire_runs_latest_slot_and_skips_older";
    let store: Arc<dyn Store> = Arc::new(store);
    let t = now(&store).await;
    // A slot ten minutes ago (within the 1 h grace), at a whole minute.
    let slot = (t - chrono::Duration::minutes(10))
        .duration_trunc(chrono::Duration::minutes(1))
        .expect("a time truncates to the minute");
    let s = spec(
        CHECK,
        Task::FullAnalysis,
        chrono::Timelike::hour(&slot),
        chrono::Timelike::minute(&slot),
        "UTC",
    );
    let schedule = create(&store, s).await;
    assert_eq!(latest_slot_at_or_before(&schedule, t), Some(slot));

    // What an instance recorded before everything went down: the slot three days ago ran.
    let day = chrono::Duration::days(1);
    let before = slot - day * 3;
    let old = store
        .insert_execution(NewExecution::scheduled(
            &schedule,
            before,
            target_date(&schedule, before),
        ))
        .await
        .expect("an execution can be inserted")
        .expect("the old slot is new");
    let gone = InstanceId::from("instance-before-the-outage");
    let claimed = store
        .claim_execution(&gone, Duration::from_secs(60))
        .await
        .expect("an execution can be claimed")
        .expect("the old slot is claimable");
    assert_eq!(claimed.id, old.id);
    store
        .finish_execution(
            old.id,
            &gone,
            ExecutionOutcome::with_status(ExecutionStatus::Success),
        )
        .await
        .expect("an execution can be finished");

    let runner = Arc::new(TestRunner::always(RunBehaviour::Succeed));
    let sched = test_scheduler(&store, &runner, test_config());
    let l = RunningLoop::start(&sched);
    wait_for(CHECK, "the latest slot to run", WAIT, || async {
        store
            .list_executions(&ExecutionFilter::all().with_schedule(schedule.id))
            .await
            .expect("executions can be listed")
            .iter()
            .any(|e| e.slot_at == Some(slot) && e.status == ExecutionStatus::Success)
    })
    .await;
    // A few more ticks must not add anything.
    tokio::time::sleep(sched.config().tick * 4).await;
    l.stop().await.expect("a loop shuts down cleanly");

    let by_slot: BTreeMap<_, _> = store
        .list_executions(&ExecutionFilter::all().with_schedule(schedule.id))
        .await
        .expect("executions can be listed")
        .into_iter()
        .map(|e| (e.slot_at, e.status))
        .collect();
    let expected: BTreeMap<_, _> = [
        (Some(before), ExecutionStatus::Success),
        (Some(slot - day), ExecutionStatus::Skipped),
        (Some(slot), ExecutionStatus::Success),
    ]
    .into_iter()
    .collect();
    assert_eq!(
        by_slot, expected,
        "{CHECK}: the latest slot runs, the one before is skipped, older ones coalesce"
    );
    let ran: Vec<_> = runner.started().iter().map(|e| e.slot_at).collect();
    assert_eq!(ran, vec![Some(slot)], "{CHECK}: only the latest slot runs");
}
