//! Checks of the monitoring aggregates: [`RunStore::run_counts`](crate::store::RunStore::run_counts)
//! and [`MetricStore::point_counts`](crate::store::MetricStore::point_counts).

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::{march, ok, plus_days};
use crate::model::{
    DeliveryStatus, Execution, ExecutionOutcome, ExecutionStatus, InstanceId, Metric, MetricPoint,
    NewExecution, Schedule, Task,
};
use crate::store::{RunCounts, Store};
use crate::testkit::{sample_app_spec, sample_schedule_spec};

/// Inserts `new` (runnable now), claims it and records `status`.
async fn run<S: Store>(
    check: &str,
    store: &S,
    new: NewExecution,
    status: ExecutionStatus,
) -> Execution {
    let inserted = ok(check, "insert_execution", store.insert_execution(new).await)
        .unwrap_or_else(|| panic!("{check}: insert_execution of a new slot gave None"));
    let holder = InstanceId::from("counter");
    let claimed = ok(
        check,
        "claim_execution",
        store
            .claim_execution(&holder, Duration::from_secs(60))
            .await,
    )
    .unwrap_or_else(|| panic!("{check}: nothing to claim after inserting a due execution"));
    ensure!(
        check,
        claimed.id == inserted.id,
        "claimed execution {} instead of {}",
        claimed.id,
        inserted.id
    );
    ok(
        check,
        "finish_execution",
        store
            .finish_execution(claimed.id, &holder, ExecutionOutcome::with_status(status))
            .await,
    )
}

/// The scheduled execution of `schedule`'s slot `hours` hours before `now`.
fn slot(schedule: &Schedule, now: DateTime<Utc>, hours: i64) -> NewExecution {
    NewExecution::scheduled(schedule, now - chrono::Duration::hours(hours), march(1))
}

/// `run_counts` counts executions per task and status and deliveries per channel and
/// status, and gives each schedule's latest successful `completed_at` (failed runs,
/// manual runs and schedules without a success do not count there); `point_counts`
/// counts each app's points over every metric, segment and day, apps without points
/// absent. An empty store gives empty counts.
pub async fn counts_summarize_runs_and_points<S: Store + 'static>(store: S) {
    const CHECK: &str = "counts_summarize_runs_and_points";
    ensure_eq!(
        CHECK,
        ok(CHECK, "run_counts", store.run_counts().await),
        RunCounts::default(),
        "the run counts of an empty store"
    );
    ensure_eq!(
        CHECK,
        ok(CHECK, "point_counts", store.point_counts().await),
        BTreeMap::new(),
        "the point counts of an empty store"
    );

    let apps = [
        ok(
            CHECK,
            "create_app",
            store.create_app(sample_app_spec(1)).await,
        ),
        ok(
            CHECK,
            "create_app",
            store.create_app(sample_app_spec(2)).await,
        ),
        ok(
            CHECK,
            "create_app",
            store.create_app(sample_app_spec(3)).await,
        ),
    ];
    let mut points = Vec::new();
    for d in 0..5 {
        points.push(MetricPoint::total(
            apps[0].id,
            Metric::DOWNLOADS,
            plus_days(march(1), d),
            10.0,
        ));
    }
    points.push(
        MetricPoint::total(apps[0].id, Metric::PROCEEDS, march(1), 1.5)
            .with_segment("currency:USD"),
    );
    points.push(MetricPoint::total(
        apps[1].id,
        Metric::CRASH_RATE,
        march(2),
        0.01,
    ));
    ok(CHECK, "upsert_points", store.upsert_points(&points).await);
    // Writing a point again replaces it: the count stays.
    ok(
        CHECK,
        "upsert_points",
        store.upsert_points(&points[..2]).await,
    );
    ensure_eq!(
        CHECK,
        ok(CHECK, "point_counts", store.point_counts().await),
        BTreeMap::from([(apps[0].id, 6), (apps[1].id, 1)]),
        "points per app (the third has none)"
    );

    let first = ok(
        CHECK,
        "create_schedule",
        store.create_schedule(sample_schedule_spec(1)).await,
    );
    let second = ok(
        CHECK,
        "create_schedule",
        store.create_schedule(sample_schedule_spec(2)).await,
    );
    let now = ok(CHECK, "now", store.now().await);
    let early = run(
        CHECK,
        &store,
        slot(&first, now, 3),
        ExecutionStatus::Success,
    )
    .await;
    let late = run(
        CHECK,
        &store,
        slot(&first, now, 2),
        ExecutionStatus::Success,
    )
    .await;
    run(CHECK, &store, slot(&first, now, 1), ExecutionStatus::Failed).await;
    run(
        CHECK,
        &store,
        slot(&second, now, 1),
        ExecutionStatus::Failed,
    )
    .await;
    let manual = run(
        CHECK,
        &store,
        NewExecution::manual(Task::AlertCheck, march(1), now - chrono::Duration::hours(1)),
        ExecutionStatus::Success,
    )
    .await;
    ok(
        CHECK,
        "insert_execution",
        store
            .insert_execution(NewExecution::manual(
                Task::AlertCheck,
                march(1),
                now + chrono::Duration::hours(1),
            ))
            .await,
    );

    let channels = [
        super::run_records::channel(CHECK, &store, 1).await,
        super::run_records::channel(CHECK, &store, 2).await,
    ];
    for (execution, channel, key, status) in [
        (
            early.id,
            channels[0].id,
            "report:1",
            Some(DeliveryStatus::Sent),
        ),
        (
            early.id,
            channels[0].id,
            "report:2",
            Some(DeliveryStatus::Sent),
        ),
        (
            late.id,
            channels[0].id,
            "report:1",
            Some(DeliveryStatus::Failed),
        ),
        (manual.id, channels[1].id, "alert:1", None),
    ] {
        let d = ok(
            CHECK,
            "start_delivery",
            store.start_delivery(execution, channel, key).await,
        );
        if let Some(status) = status {
            let error = (status == DeliveryStatus::Failed).then(|| "HTTP 500".to_owned());
            ok(
                CHECK,
                "finish_delivery",
                store.finish_delivery(d.id, status, error).await,
            );
        }
    }

    let counts = ok(CHECK, "run_counts", store.run_counts().await);
    ensure_eq!(
        CHECK,
        counts.executions,
        HashMap::from([
            ((Task::FullAnalysis, ExecutionStatus::Success), 2),
            ((Task::FullAnalysis, ExecutionStatus::Failed), 2),
            ((Task::AlertCheck, ExecutionStatus::Success), 1),
            ((Task::AlertCheck, ExecutionStatus::Pending), 1),
        ]),
        "executions per task and status"
    );
    ensure_eq!(
        CHECK,
        counts.deliveries,
        HashMap::from([
            ((channels[0].id, DeliveryStatus::Sent), 2),
            ((channels[0].id, DeliveryStatus::Failed), 1),
            ((channels[1].id, DeliveryStatus::Pending), 1),
        ]),
        "deliveries per channel and status"
    );
    let latest = early.completed_at.max(late.completed_at);
    ensure_eq!(
        CHECK,
        counts.last_success,
        latest.map(|t| (first.id, t)).into_iter().collect(),
        "the last success of each schedule (the second has only a failure)"
    );
}
