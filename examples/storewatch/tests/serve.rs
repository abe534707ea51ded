//! `storewatch serve` on SQLite: the probes, /metrics from the store, and a SIGTERM
//! that lets the running execution finish before the instance deregisters and exits 0.

#![allow(clippy::unwrap_used)]

mod serve_support;

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serve_support::{Serve, master_key, wait_for};
use storewatch_apple::fake::FakeAppStoreConnect;
use storewatch_core::clock::{Clock, SystemClock};
use storewatch_core::model::{AppSpec, ExecutionStatus, NewExecution, Platform, Task};
use storewatch_core::secrets::{Keyring, create_credential};
use storewatch_core::store::{ConfigStore, MetricStore, RunStore};
use storewatch_sqlite::{SqliteConfig, SqliteStore};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_answers_probes_and_metrics_and_drains_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("sw.db").display());
    let (key, raw) = master_key();
    let keyring = Keyring::from_raw(&[("default", raw)]).unwrap();

    // Every request waits, so the collection is still running when SIGTERM comes.
    let apple = FakeAppStoreConnect::builder()
        .system_clock()
        .apps(2)
        .days(20)
        .latency(Duration::from_millis(300))
        .start()
        .await
        .unwrap();
    let store = SqliteStore::open(&url, SqliteConfig::default())
        .await
        .unwrap();
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
    let first = &apple.catalogue().apps[0];
    let app = store
        .create_app(AppSpec::new(&first.name, Platform::Ios, &first.bundle_id).unwrap())
        .await
        .unwrap();
    let yesterday = SystemClock.now().date_naive().pred_opt().unwrap();
    let now = store.now().await.unwrap();
    let queued = store
        .insert_execution(NewExecution::manual(Task::DataCollection, yesterday, now))
        .await
        .unwrap()
        .unwrap();
    store.close().await;

    let mut serve = Serve::start(
        dir.path(),
        &[
            ("DATABASE_URL", url.clone()),
            ("STOREWATCH_MASTER_KEY", key),
            ("STOREWATCH_SCHEDULER_SHUTDOWN_GRACE_SECS", "300".to_owned()),
        ],
    );

    assert_eq!(serve.get("/healthz").await, (200, "ok\n".to_owned()));
    assert_eq!(serve.get("/readyz").await, (200, "ready\n".to_owned()));

    let metrics = wait_for(
        "the queued execution to run",
        Duration::from_secs(120),
        || async {
            let (status, text) = serve.get("/metrics").await;
            if status == 200 && text.contains("storewatch_scheduler_running_here 1") {
                Ok(text)
            } else {
                Err(format!("{status}\n{text}"))
            }
        },
    )
    .await;
    for family in [
        "storewatch_build_info",
        "storewatch_executions",
        "storewatch_points",
        "storewatch_scheduler_instances",
        "storewatch_scheduler_running_here",
    ] {
        assert!(
            metrics.contains(&format!("# TYPE {family} gauge")),
            "{family} missing:\n{metrics}"
        );
    }
    assert!(
        metrics.contains(r#"storewatch_executions{status="running",task="data-collection"} 1"#),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"storewatch_executions{status="success",task="data-collection"} 0"#),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"storewatch_scheduler_instances{state="live"} 1"#),
        "{metrics}"
    );
    assert!(
        metrics.contains(&format!(
            r#"storewatch_points{{app_id="{}",bundle_id="{}",platform="ios"}}"#,
            app.id, first.bundle_id
        )),
        "{metrics}"
    );

    serve.signal("TERM");
    // While it drains, it is alive but no longer ready.
    wait_for("readiness to drop", Duration::from_secs(60), || async {
        match serve.get("/readyz").await {
            (503, body) if body.contains("shutting down") => Ok(()),
            other => Err(format!("{other:?}")),
        }
    })
    .await;
    assert_eq!(serve.get("/healthz").await.0, 200);
    let status = serve.wait_exit(Duration::from_secs(300)).await;
    assert!(status.success(), "exit {status:?}\n{}", serve.output());

    let store = SqliteStore::open(&url, SqliteConfig::default())
        .await
        .unwrap();
    let done = store.get_execution(queued.id).await.unwrap();
    assert_eq!(
        done.status,
        ExecutionStatus::Success,
        "the running execution finished within the grace: {done:?}\n{}",
        serve.output()
    );
    assert!(
        store.list_instances().await.unwrap().is_empty(),
        "the instance deregistered"
    );
    let points = store.point_counts().await.unwrap();
    assert!(
        points.get(&app.id).copied().unwrap_or(0) > 0,
        "the collection stored points: {points:?}"
    );
    assert_eq!(
        serve.logged("execution started").len(),
        1,
        "{}",
        serve.output()
    );
    assert_eq!(
        serve.logged("execution ended").len(),
        1,
        "{}",
        serve.output()
    );
    assert_eq!(serve.logged("storewatch serve stopped").len(), 1);
    let pem = apple.key().private_pem.expose_secret().to_owned();
    let body = pem.lines().nth(1).unwrap();
    assert!(
        !serve.output().contains(body),
        "the private key never reaches the log"
    );
}
