//! The embedded service end to end over real HTTP on 127.0.0.1: the fake App Store
//! Connect as the source, FakeLark as the channel, a SQLite file as the store. A run
//! triggered through the service's own API reaches Lark, and cancelling the shared token
//! stops the server and the scheduler.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use chrono::Days;
use secrecy::SecretString;
use storewatch_apple::fake::FakeAppStoreConnect;
use storewatch_core::clock::{Clock, ManualClock, SystemClock};
use storewatch_core::model::{
    AppSpec, Execution, ExecutionId, ExecutionStatus, Metric, Platform, ReportSpec,
};
use storewatch_core::schedule::CancellationToken;
use storewatch_core::secrets::{Keyring, create_channel, create_credential};
use storewatch_core::store::{ConfigStore, RunStore};
use storewatch_lark::fake::{FakeLark, WebhookOptions};
use storewatch_sqlite::{SqliteConfig, SqliteStore};
use tokio::net::TcpListener;
use tokio::time::timeout;

/// Generous: the machine may be loaded; the run itself takes well under a second.
const PATIENCE: Duration = Duration::from_secs(120);

async fn finished(store: &SqliteStore, id: ExecutionId) -> Execution {
    loop {
        let execution = store.get_execution(id).await.unwrap();
        if execution.status.is_final() {
            return execution;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_triggered_over_the_service_api_reaches_lark_and_shutdown_is_graceful() {
    // Apple data up to yesterday; the fake's clock stands at now, the source signs with
    // the system clock a little later, so allow that skew.
    let now = SystemClock.now();
    let today = now.date_naive();
    let apple = FakeAppStoreConnect::builder()
        .apps(2)
        .first_day(today - Days::new(30))
        .days(30)
        .clock(ManualClock::new(now))
        .start()
        .await
        .unwrap();
    apple.set_iat_skew(3600);
    let lark = FakeLark::start().await.unwrap();
    let webhook = lark.add_webhook("growth-bot", WebhookOptions::default());

    // What the team's admin would have configured once.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("embed.db");
    let store = Arc::new(
        SqliteStore::open(path.to_str().unwrap(), SqliteConfig::default())
            .await
            .unwrap(),
    );
    let keyring = Keyring::from_raw(&[("test", [9; 32])]).unwrap();
    for app in &apple.catalogue().apps {
        let spec = AppSpec::new(&app.name, Platform::Ios, &app.bundle_id).unwrap();
        store.create_app(spec).await.unwrap();
    }
    let asc = SecretString::from(apple.config_json());
    create_credential(
        store.as_ref(),
        &keyring,
        "App Store Connect",
        Platform::Ios,
        storewatch_apple::KIND,
        &asc,
    )
    .await
    .unwrap();
    let bot = SecretString::from(webhook.to_string());
    let bot = create_channel(
        store.as_ref(),
        &keyring,
        "Growth bot",
        storewatch_lark::WEBHOOK_KIND,
        &bot,
    )
    .await
    .unwrap();
    store
        .create_report(ReportSpec {
            name: "Daily downloads".into(),
            app_id: None,
            metrics: vec![Metric::DOWNLOADS],
            channels: vec![bot.id],
            is_active: true,
        })
        .await
        .unwrap();

    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let shutdown = CancellationToken::new();
    let service = tokio::spawn(embed::run(
        store.clone(),
        embed::registry(),
        keyring,
        listener,
        shutdown.clone(),
    ));

    let http = reqwest::Client::new();
    let health = http.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(health.text().await.unwrap(), "ok");
    let bad = http
        .post(format!("{base}/storewatch/run?date=yesterday"))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400, "a malformed date is the caller's error");

    // Three days back: Apple's report of that day is surely published.
    let day = today - Days::new(3);
    let resp = http
        .post(format!("{base}/storewatch/run?date={day}"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let id: ExecutionId = resp.json().await.unwrap();
    let done = timeout(PATIENCE, finished(&store, id)).await.unwrap();
    assert_eq!(
        done.status,
        ExecutionStatus::Success,
        "{}\n{}",
        done.output_log,
        done.error_log
    );
    assert_eq!(done.success_count, 2, "{}", done.output_log);
    assert!(done.notifications_sent >= 1, "{}", done.output_log);

    let received = lark.received();
    let report = received
        .iter()
        .find(|m| m.token == "growth-bot" && m.text().contains(&day.to_string()))
        .unwrap_or_else(|| {
            panic!(
                "no daily report for {day} reached Lark:\n{}",
                lark.transcript()
            )
        });
    for app in &apple.catalogue().apps {
        assert!(
            report.text().contains(&app.name),
            "{} missing from:\n{}",
            app.name,
            report.text()
        );
    }

    shutdown.cancel();
    timeout(PATIENCE, service).await.unwrap().unwrap().unwrap();
    assert!(
        store.list_instances().await.unwrap().is_empty(),
        "the scheduler deregistered on shutdown"
    );
    let refused = http.get(format!("{base}/healthz")).send().await;
    assert!(refused.is_err(), "the server stopped listening");
}
