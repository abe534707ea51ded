//! `/metrics`: the store's state in the Prometheus text format, computed at scrape
//! time from aggregates ([`RunStore::run_counts`], [`MetricStore::point_counts`],
//! [`MetricStore::latest_dates`]) and the configuration lists, so a scrape costs a few
//! grouped queries whatever the history holds.
//!
//! Every series is a gauge: counts of stored records go down when records are deleted
//! and move between statuses, so they are not Prometheus counters.
//!
//! | metric | labels | value |
//! | --- | --- | --- |
//! | `storewatch_build_info` | `version` | 1 |
//! | `storewatch_executions` | `task`, `status` | executions in the store (every task × status, 0 included) |
//! | `storewatch_deliveries` | `channel_kind`, `status` | delivery records (`deleted` when the channel is gone) |
//! | `storewatch_points` | `app_id`, `platform`, `bundle_id` | metric points stored per app |
//! | `storewatch_collection_lag_days` | `app_id`, `platform`, `bundle_id` | today (UTC) − newest stored day, active apps with data |
//! | `storewatch_schedule_last_success_timestamp_seconds` | `schedule_id`, `schedule` | last successful run of each active schedule, 0 = never |
//! | `storewatch_scheduler_instances` | `state` (`live`, `stale`) | registered instances; stale = no heartbeat for 3 periods |
//! | `storewatch_scheduler_running_here` | | executions running on the scraped instance |
//!
//! [`RunStore::run_counts`]: storewatch_core::store::RunStore::run_counts
//! [`MetricStore::point_counts`]: storewatch_core::store::MetricStore::point_counts
//! [`MetricStore::latest_dates`]: storewatch_core::store::MetricStore::latest_dates

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::NaiveDate;
use prometheus::{Encoder, GaugeVec, IntGauge, IntGaugeVec, Opts, Registry, TextEncoder};
use storewatch_core::model::{App, ExecutionStatus, Task};
use storewatch_core::store::Store;
use storewatch_core::{Error, Result};

/// Every task, so each (task, status) pair is exported, zero when empty.
const TASKS: [Task; 3] = [Task::DataCollection, Task::FullAnalysis, Task::AlertCheck];
/// Every delivery status, as stored.
const DELIVERY_STATUSES: [&str; 3] = ["pending", "sent", "failed"];
/// The channel kind of deliveries whose channel was deleted.
const DELETED_CHANNEL: &str = "deleted";

fn prom(e: prometheus::Error) -> Error {
    Error::internal("building the metrics exposition failed").with_source(e)
}

/// A gauge family registered in `registry`.
fn gauge(registry: &Registry, name: &str, help: &str, labels: &[&str]) -> Result<GaugeVec> {
    let g = GaugeVec::new(Opts::new(name, help), labels).map_err(prom)?;
    registry.register(Box::new(g.clone())).map_err(prom)?;
    Ok(g)
}

/// An integer gauge family registered in `registry`.
fn int_gauge(registry: &Registry, name: &str, help: &str, labels: &[&str]) -> Result<IntGaugeVec> {
    let g = IntGaugeVec::new(Opts::new(name, help), labels).map_err(prom)?;
    registry.register(Box::new(g.clone())).map_err(prom)?;
    Ok(g)
}

/// A label-less integer gauge registered in `registry`.
fn single(registry: &Registry, name: &str, help: &str) -> Result<IntGauge> {
    let g = IntGauge::with_opts(Opts::new(name, help)).map_err(prom)?;
    registry.register(Box::new(g.clone())).map_err(prom)?;
    Ok(g)
}

fn count(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// The labels that name an app.
fn app_labels(app: &App) -> [String; 3] {
    [
        app.id.0.to_string(),
        app.platform.as_str().to_owned(),
        app.bundle_id.as_str().to_owned(),
    ]
}

fn refs(labels: &[String]) -> Vec<&str> {
    labels.iter().map(String::as_str).collect()
}

/// What the exposition needs besides the store.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Local {
    /// Executions running on this instance.
    pub(crate) running_here: usize,
    /// The day the collection lag is measured from.
    pub(crate) today: NaiveDate,
    /// An instance whose last heartbeat is older than this is stale.
    pub(crate) stale_after: Duration,
}

/// Renders the exposition.
pub(crate) async fn render(store: &dyn Store, local: Local) -> Result<String> {
    let (now, runs, points, apps, channels, schedules, instances) = tokio::try_join!(
        store.now(),
        store.run_counts(),
        store.point_counts(),
        store.list_apps(),
        store.list_channels(),
        store.list_schedules(),
        store.list_instances(),
    )?;
    let active: Vec<&App> = apps.iter().filter(|a| a.is_active).collect();
    let ids: Vec<_> = active.iter().map(|a| a.id).collect();
    let latest = store.latest_dates(&ids).await?;

    let registry = Registry::new();
    let build = int_gauge(
        &registry,
        "storewatch_build_info",
        "Always 1; the version of this storewatch instance.",
        &["version"],
    )?;
    build.with_label_values(&[env!("CARGO_PKG_VERSION")]).set(1);

    let executions = int_gauge(
        &registry,
        "storewatch_executions",
        "Executions in the store by task and status.",
        &["task", "status"],
    )?;
    for task in TASKS {
        for status in ExecutionStatus::ALL {
            let n = runs.executions.get(&(task, status)).copied().unwrap_or(0);
            executions
                .with_label_values(&[task.as_str(), status.as_str()])
                .set(count(n));
        }
    }

    let deliveries = int_gauge(
        &registry,
        "storewatch_deliveries",
        "Message deliveries in the store by channel kind and status.",
        &["channel_kind", "status"],
    )?;
    let kinds: BTreeMap<_, &str> = channels.iter().map(|c| (c.id, c.kind.as_str())).collect();
    let mut by_kind: BTreeMap<(&str, &str), u64> = BTreeMap::new();
    for kind in kinds.values() {
        for status in DELIVERY_STATUSES {
            by_kind.insert((kind, status), 0);
        }
    }
    for ((channel, status), n) in &runs.deliveries {
        let kind = kinds.get(channel).copied().unwrap_or(DELETED_CHANNEL);
        let status = match status {
            storewatch_core::model::DeliveryStatus::Pending => "pending",
            storewatch_core::model::DeliveryStatus::Sent => "sent",
            storewatch_core::model::DeliveryStatus::Failed => "failed",
        };
        *by_kind.entry((kind, status)).or_default() += n;
    }
    for ((kind, status), n) in by_kind {
        deliveries.with_label_values(&[kind, status]).set(count(n));
    }

    let stored = int_gauge(
        &registry,
        "storewatch_points",
        "Metric points stored per app (every metric, segment and day collected).",
        &["app_id", "platform", "bundle_id"],
    )?;
    for app in &apps {
        let n = points.get(&app.id).copied().unwrap_or(0);
        stored
            .with_label_values(&refs(&app_labels(app)))
            .set(count(n));
    }

    let lag = gauge(
        &registry,
        "storewatch_collection_lag_days",
        "Days from the newest stored day of each active app to today (UTC): 1 when \
         yesterday is stored; absent while the app has no point.",
        &["app_id", "platform", "bundle_id"],
    )?;
    for app in &active {
        if let Some(day) = latest.get(&app.id) {
            lag.with_label_values(&refs(&app_labels(app)))
                .set((local.today - *day).num_days() as f64);
        }
    }

    let last_success = gauge(
        &registry,
        "storewatch_schedule_last_success_timestamp_seconds",
        "When an execution of each active schedule last succeeded (Unix time; 0 = never).",
        &["schedule_id", "schedule"],
    )?;
    for s in schedules.iter().filter(|s| s.is_active) {
        let at = runs
            .last_success
            .get(&s.id)
            .map_or(0.0, |t| t.timestamp_millis() as f64 / 1000.0);
        last_success
            .with_label_values(&[s.id.0.to_string().as_str(), s.name.as_str()])
            .set(at);
    }

    let registered = int_gauge(
        &registry,
        "storewatch_scheduler_instances",
        "Scheduler instances registered in the store: live (a recent heartbeat) or stale \
         (gone without deregistering, e.g. killed; their runs are reaped by the others).",
        &["state"],
    )?;
    let stale_after =
        chrono::Duration::from_std(local.stale_after).unwrap_or(chrono::Duration::MAX);
    let stale = instances
        .iter()
        .filter(|i| now - i.last_seen > stale_after)
        .count();
    registered
        .with_label_values(&["live"])
        .set(i64::try_from(instances.len() - stale).unwrap_or(i64::MAX));
    registered
        .with_label_values(&["stale"])
        .set(i64::try_from(stale).unwrap_or(i64::MAX));
    single(
        &registry,
        "storewatch_scheduler_running_here",
        "Executions running on this instance.",
    )?
    .set(i64::try_from(local.running_here).unwrap_or(i64::MAX));

    let mut body = Vec::new();
    TextEncoder::new()
        .encode(&registry.gather(), &mut body)
        .map_err(prom)?;
    String::from_utf8(body)
        .map_err(|e| Error::internal("the exposition is not UTF-8").with_source(e))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use chrono::Days;
    use secrecy::SecretString;
    use storewatch_core::model::{
        AppSpec, ExecutionOutcome, Frequency, InstanceId, InstanceInfo, Metric, MetricPoint,
        NewExecution, Platform, ScheduleSpec,
    };
    use storewatch_core::secrets::{Keyring, create_channel};
    use storewatch_core::store::{ConfigStore, MemoryStore, MetricStore, RunStore};

    use super::*;

    /// The value of the sample `name{labels}` in `text`.
    fn sample(text: &str, series: &str) -> Option<String> {
        text.lines()
            .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ').map(str::to_owned))
    }

    #[tokio::test]
    async fn the_exposition_holds_every_family_with_store_values() {
        let store = MemoryStore::new();
        let today = NaiveDate::from_ymd_opt(2026, 3, 10).unwrap();
        let ios = store
            .create_app(AppSpec::new("Planner", Platform::Ios, "com.example.planner").unwrap())
            .await
            .unwrap();
        let android = store
            .create_app(
                AppSpec::new(
                    "Planner for \"Android\"",
                    Platform::Android,
                    "com.example.planner",
                )
                .unwrap(),
            )
            .await
            .unwrap();
        let day = |back: u64| today.checked_sub_days(Days::new(back)).unwrap();
        store
            .upsert_points(&[
                MetricPoint::total(ios.id, Metric::DOWNLOADS, day(3), 5.0),
                MetricPoint::total(ios.id, Metric::DOWNLOADS, day(2), 6.0),
            ])
            .await
            .unwrap();
        let keyring = Keyring::from_raw(&[("k", [7; 32])]).unwrap();
        let bot = create_channel(
            &store,
            &keyring,
            "Team bot",
            "lark_webhook",
            &SecretString::from("{\"webhook_url\":\"https://example.invalid/hook\"}"),
        )
        .await
        .unwrap();
        let schedule = store
            .create_schedule(
                ScheduleSpec::new(
                    "Morning \"run\"",
                    Task::FullAnalysis,
                    Frequency::Daily,
                    6,
                    0,
                    "UTC",
                )
                .unwrap(),
            )
            .await
            .unwrap();
        let now = store.now().await.unwrap();
        store
            .insert_execution(NewExecution::scheduled(&schedule, now, day(1)))
            .await
            .unwrap();
        let me = InstanceId::from("me");
        let e = store
            .claim_execution(&me, std::time::Duration::from_secs(60))
            .await
            .unwrap()
            .unwrap();
        let done = store
            .finish_execution(
                e.id,
                &me,
                ExecutionOutcome::with_status(ExecutionStatus::Success),
            )
            .await
            .unwrap();
        let d = store
            .start_delivery(e.id, bot.id, "report:1")
            .await
            .unwrap();
        store
            .finish_delivery(d.id, storewatch_core::model::DeliveryStatus::Sent, None)
            .await
            .unwrap();

        for (id, seen) in [("live", now), ("gone", now - chrono::Duration::seconds(31))] {
            store
                .register_instance(InstanceInfo {
                    id: id.into(),
                    host: "test".to_owned(),
                    pid: 1,
                    version: "0".to_owned(),
                    started_at: seen,
                    last_seen: seen,
                })
                .await
                .unwrap();
        }
        let local = Local {
            running_here: 2,
            today,
            stale_after: std::time::Duration::from_secs(30),
        };
        let text = render(&store, local).await.unwrap();
        for family in [
            "storewatch_build_info",
            "storewatch_executions",
            "storewatch_deliveries",
            "storewatch_points",
            "storewatch_collection_lag_days",
            "storewatch_schedule_last_success_timestamp_seconds",
            "storewatch_scheduler_instances",
            "storewatch_scheduler_running_here",
        ] {
            assert!(
                text.contains(&format!("# TYPE {family} gauge")),
                "{family}:\n{text}"
            );
        }
        let get =
            |series: &str| sample(&text, series).unwrap_or_else(|| panic!("{series}:\n{text}"));
        assert_eq!(
            get(r#"storewatch_executions{status="success",task="full-analysis"}"#),
            "1"
        );
        assert_eq!(
            get(r#"storewatch_executions{status="failed",task="alert-check"}"#),
            "0"
        );
        assert_eq!(
            get(r#"storewatch_deliveries{channel_kind="lark_webhook",status="sent"}"#),
            "1"
        );
        assert_eq!(
            get(r#"storewatch_deliveries{channel_kind="lark_webhook",status="failed"}"#),
            "0"
        );
        let ios_labels = format!(
            r#"{{app_id="{}",bundle_id="com.example.planner",platform="ios"}}"#,
            ios.id
        );
        let android_labels = format!(
            r#"{{app_id="{}",bundle_id="com.example.planner",platform="android"}}"#,
            android.id
        );
        assert_eq!(get(&format!("storewatch_points{ios_labels}")), "2");
        assert_eq!(get(&format!("storewatch_points{android_labels}")), "0");
        assert_eq!(
            get(&format!("storewatch_collection_lag_days{ios_labels}")),
            "2"
        );
        assert_eq!(
            sample(
                &text,
                &format!("storewatch_collection_lag_days{android_labels}")
            ),
            None
        );
        let at = done.completed_at.unwrap().timestamp_millis() as f64 / 1000.0;
        let series = format!(
            r#"storewatch_schedule_last_success_timestamp_seconds{{schedule="Morning \"run\"",schedule_id="{}"}}"#,
            schedule.id
        );
        assert_eq!(get(&series).parse::<f64>().unwrap(), at);
        assert_eq!(get(r#"storewatch_scheduler_instances{state="live"}"#), "1");
        assert_eq!(get(r#"storewatch_scheduler_instances{state="stale"}"#), "1");
        assert_eq!(get("storewatch_scheduler_running_here"), "2");
        assert!(
            !text.contains("example.invalid"),
            "no channel config: {text}"
        );
    }
}
