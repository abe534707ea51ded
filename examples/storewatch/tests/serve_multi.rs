//! Three `storewatch serve` processes on one PostgreSQL database, 30 schedules due in
//! the same minute against the fakes, and one process killed with SIGKILL while it
//! collects: every slot still succeeds exactly once, the killed runs are marked lost
//! and retried, and FakeLark receives each report exactly once (DESIGN §7).
//!
//! Needs PostgreSQL at `DATABASE_URL` (a `postgres://` URL of a user who may create
//! databases; default `postgres://postgres@127.0.0.1:5432/postgres`). It takes a few
//! minutes: the slot is the next whole minute, and a lost run is retried after the
//! first backoff (30–60 s).

#![allow(clippy::unwrap_used)]

mod serve_support;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use chrono::{DurationRound, Timelike};
use secrecy::SecretString;
use serve_support::{Serve, master_key, wait_for};
use storewatch_apple::fake::FakeAppStoreConnect;
use storewatch_core::clock::{Clock, SystemClock};
use storewatch_core::model::{
    AppSpec, Execution, ExecutionFilter, ExecutionStatus, Frequency, Metric, Platform, ReportSpec,
    ScheduleSpec, Task, Trigger,
};
use storewatch_core::secrets::{Keyring, create_channel, create_credential};
use storewatch_core::store::{ConfigStore, RunStore};
use storewatch_lark::fake::{FakeLark, WebhookOptions};
use storewatch_pg::PostgresStore;
use storewatch_pg::testkit::{ScratchDatabase, admin_url};

const SCHEDULES: usize = 30;
const PROCESSES: usize = 3;

/// Every execution in the store, oldest first.
async fn executions(store: &PostgresStore) -> Vec<Execution> {
    let mut all = store
        .list_executions(&ExecutionFilter::all())
        .await
        .unwrap();
    all.reverse();
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_instances_run_each_slot_once_when_one_is_killed() {
    let db = ScratchDatabase::create(&admin_url(), "swtest")
        .await
        .unwrap();
    let (key, raw) = master_key();
    let keyring = Keyring::from_raw(&[("default", raw)]).unwrap();
    let dir = tempfile::tempdir().unwrap();

    // Every provider request waits, so a collection is long enough to be killed in.
    let apple = FakeAppStoreConnect::builder()
        .system_clock()
        .apps(SCHEDULES)
        .days(40)
        .latency(Duration::from_millis(250))
        .start()
        .await
        .unwrap();
    let lark = FakeLark::start().await.unwrap();
    lark.set_latency(Duration::from_millis(50));

    let store = db.store(4).await.unwrap();
    create_credential(
        &store,
        &keyring,
        "App Store Connect",
        Platform::Ios,
        storewatch_apple::KIND,
        &SecretString::from(apple.config_json()),
    )
    .await
    .unwrap();

    // The slot: a whole minute 40 to 100 s away, so every process is up and has
    // loaded the schedules before it comes; all three race to insert it.
    let slot = (SystemClock.now() + chrono::Duration::seconds(100))
        .duration_trunc(chrono::Duration::minutes(1))
        .unwrap();

    // One app, one bot, one report and one schedule per slot, so each message names
    // exactly one schedule's run.
    let mut reports = BTreeMap::new();
    let mut schedules = Vec::new();
    for (i, fake_app) in apple.catalogue().apps.iter().enumerate() {
        let app = store
            .create_app(AppSpec::new(&fake_app.name, Platform::Ios, &fake_app.bundle_id).unwrap())
            .await
            .unwrap();
        let token = format!("bot-{i}");
        let hook = lark.add_webhook(&token, WebhookOptions::default());
        let bot = create_channel(
            &store,
            &keyring,
            &format!("Bot {i}"),
            storewatch_lark::WEBHOOK_KIND,
            &SecretString::from(hook.to_string()),
        )
        .await
        .unwrap();
        store
            .create_report(ReportSpec {
                name: format!("Daily report {i}"),
                app_id: Some(app.id),
                metrics: vec![Metric::DOWNLOADS, Metric::PROCEEDS],
                channels: vec![bot.id],
                is_active: true,
            })
            .await
            .unwrap();
        let mut spec = ScheduleSpec::new(
            format!("Morning {i}"),
            Task::FullAnalysis,
            Frequency::Daily,
            slot.hour() as u8,
            slot.minute() as u8,
            "UTC",
        )
        .unwrap();
        spec.app_id = Some(app.id);
        spec.max_retries = 3;
        schedules.push(store.create_schedule(spec).await.unwrap());
        reports.insert(token, fake_app.name.clone());
    }

    let env = [
        ("DATABASE_URL", db.url().to_owned()),
        ("STOREWATCH_MASTER_KEY", key),
        ("STOREWATCH_MAX_CONNECTIONS", "5".to_owned()),
        ("STOREWATCH_SCHEDULER_TICK_SECS", "1".to_owned()),
        // Short, yet renewed every 2 s: a loaded machine does not lose live leases.
        ("STOREWATCH_SCHEDULER_LEASE_SECS", "6".to_owned()),
        ("STOREWATCH_SCHEDULER_CONCURRENCY", "4".to_owned()),
    ];
    let mut processes: Vec<Serve> = (0..PROCESSES)
        .map(|_| Serve::start(dir.path(), &env))
        .collect();
    // Normally all three are up before the slot; on a slow machine a late one still
    // fires it (the schedules existed before it, within the misfire grace), so the
    // assertions below hold either way.
    let ids: BTreeSet<String> = processes.iter().map(|p| p.instance.clone()).collect();
    wait_for(
        "every process to register its instance",
        Duration::from_secs(60),
        || async {
            let registered: BTreeSet<String> = store
                .list_instances()
                .await
                .map_err(|e| e.to_string())?
                .into_iter()
                .map(|i| i.id.0)
                .collect();
            if registered == ids {
                Ok(())
            } else {
                Err(format!("{registered:?}"))
            }
        },
    )
    .await;

    // Kill a process while it holds running executions.
    let victim = wait_for("an execution to run", Duration::from_secs(240), || async {
        let running = store
            .list_executions(&ExecutionFilter::all().with_statuses([ExecutionStatus::Running]))
            .await
            .map_err(|e| e.to_string())?;
        // The holder of the run that started last: it has the most left to do.
        running
            .iter()
            .filter(|e| e.started_at.is_some())
            .max_by_key(|e| e.started_at)
            .and_then(|e| {
                let holder = e.claimed_by.as_ref()?;
                processes.iter().position(|p| p.instance == holder.0)
            })
            .ok_or_else(|| format!("{} running", running.len()))
    })
    .await;
    processes[victim].signal("KILL");
    let killed_instance = processes[victim].instance.clone();
    let status = processes[victim].wait_exit(Duration::from_secs(30)).await;
    assert!(!status.success(), "SIGKILL ends the process: {status:?}");
    let lost: Vec<Execution> = executions(&store)
        .await
        .into_iter()
        .filter(|e| {
            e.status == ExecutionStatus::Running
                && e.claimed_by
                    .as_ref()
                    .is_some_and(|c| c.0 == killed_instance)
        })
        .collect();
    assert!(
        !lost.is_empty(),
        "the killed process held running executions"
    );

    // Every slot ends with exactly one success, the lost runs through their retries.
    let all = wait_for(
        "every slot to succeed",
        Duration::from_secs(600),
        || async {
            let all = executions(&store).await;
            let unfinished = all.iter().filter(|e| !e.status.is_final()).count();
            let succeeded: BTreeSet<_> = all
                .iter()
                .filter(|e| e.status == ExecutionStatus::Success)
                .filter_map(|e| e.schedule_id)
                .collect();
            if unfinished == 0 && succeeded.len() == SCHEDULES {
                Ok(all)
            } else {
                Err(format!(
                    "{} schedules succeeded, {unfinished} executions unfinished",
                    succeeded.len()
                ))
            }
        },
    )
    .await;
    let dump = || {
        all.iter()
            .map(|e| {
                format!(
                    "#{} schedule {:?} {} {} attempt {} retry_of {:?} by {:?}: {}",
                    e.id,
                    e.schedule_id.map(|s| s.0),
                    e.trigger,
                    e.status,
                    e.attempt,
                    e.retry_of.map(|r| r.0),
                    e.claimed_by.as_ref().map(|c| c.0.clone()),
                    e.error_log.trim()
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    for schedule in &schedules {
        let mine: Vec<&Execution> = all
            .iter()
            .filter(|e| e.schedule_id == Some(schedule.id))
            .collect();
        let slots: Vec<_> = mine
            .iter()
            .filter(|e| e.trigger == Trigger::Scheduled)
            .collect();
        assert_eq!(
            slots.len(),
            1,
            "one slot execution of {}:\n{}",
            schedule.name,
            dump()
        );
        assert_eq!(slots[0].slot_at, Some(slot), "{}", dump());
        let successes = mine
            .iter()
            .filter(|e| e.status == ExecutionStatus::Success)
            .count();
        assert_eq!(
            successes,
            1,
            "one success of {}:\n{}",
            schedule.name,
            dump()
        );
    }
    for e in &lost {
        let now = all.iter().find(|x| x.id == e.id).unwrap();
        assert_eq!(now.status, ExecutionStatus::Failed, "{}", dump());
        assert!(now.error_log.contains("instance lost"), "{}", dump());
        let retried = all
            .iter()
            .filter(|x| x.retry_of == Some(e.chain_id()) && x.trigger == Trigger::Retry)
            .any(|x| x.status == ExecutionStatus::Success);
        assert!(
            retried,
            "the lost run #{} was retried to success:\n{}",
            e.id,
            dump()
        );
    }

    // FakeLark: one report per bot, naming that bot's app.
    let mut received: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for m in lark.received() {
        received.entry(m.token.clone()).or_default().push(m.text());
    }
    for (token, app) in &reports {
        let got = received.get(token).cloned().unwrap_or_default();
        assert_eq!(
            got.len(),
            1,
            "{token} received {} messages:\n{got:#?}\n{}",
            got.len(),
            dump()
        );
        assert!(got[0].contains(app.as_str()), "{token}: {}", got[0]);
    }
    assert_eq!(received.len(), SCHEDULES, "no other bot received anything");

    // A survivor's /metrics tells the same story.
    let survivor = processes
        .iter()
        .position(|p| p.instance != killed_instance)
        .unwrap();
    let metrics = wait_for(
        "the killed instance to show as stale",
        Duration::from_secs(120),
        || async {
            let (status, text) = processes[survivor].get("/metrics").await;
            if status == 200 && text.contains(r#"storewatch_scheduler_instances{state="stale"} 1"#)
            {
                Ok(text)
            } else {
                Err(format!("{status}\n{text}"))
            }
        },
    )
    .await;
    for line in [
        format!(r#"storewatch_executions{{status="success",task="full-analysis"}} {SCHEDULES}"#),
        format!(
            r#"storewatch_executions{{status="failed",task="full-analysis"}} {}"#,
            lost.len()
        ),
        format!(
            r#"storewatch_deliveries{{channel_kind="lark_webhook",status="sent"}} {SCHEDULES}"#
        ),
        r#"storewatch_scheduler_instances{state="live"} 2"#.to_owned(),
    ] {
        assert!(
            metrics.lines().any(|l| l == line),
            "{line} missing:\n{metrics}"
        );
    }
    let last_success = format!(
        r#"storewatch_schedule_last_success_timestamp_seconds{{schedule="{}",schedule_id="{}"}} "#,
        schedules[0].name, schedules[0].id
    );
    let at: f64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix(&last_success))
        .unwrap_or_else(|| panic!("{last_success} missing:\n{metrics}"))
        .parse()
        .unwrap();
    assert!(at > slot.timestamp() as f64, "{at}");

    // The survivors stop cleanly and deregister; the killed one stays registered
    // until an operator removes it (its heartbeat shows it stale).
    for (i, p) in processes.iter_mut().enumerate() {
        if i != victim {
            p.signal("TERM");
        }
    }
    for (i, p) in processes.iter_mut().enumerate() {
        if i != victim {
            let status = p.wait_exit(Duration::from_secs(120)).await;
            assert!(status.success(), "exit {status:?}\n{}", p.output());
        }
    }
    let left: Vec<String> = store
        .list_instances()
        .await
        .unwrap()
        .into_iter()
        .map(|i| i.id.0)
        .collect();
    assert_eq!(left, vec![killed_instance]);
    store.close().await;
}
