//! `storewatch serve` on SQLite: the probes, /metrics from the store, and a SIGTERM
//! that lets the running execution finish before the instance deregisters and exits 0.

#![allow(clippy::unwrap_used)]

mod serve_support;

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serve_support::{Serve, master_key, wait_for};
use storewatch_apple::fake::FakeAppStoreConnect;
use storewatch_core::clock::{Clock, SystemClock};
use storewatch_core::model::{
    App, AppSpec, Execution, ExecutionStatus, NewExecution, Platform, Task,
};
use storewatch_core::secrets::{Keyring, create_credential};
use storewatch_core::store::{ConfigStore, MetricStore, RunStore};
use storewatch_sqlite::{SqliteConfig, SqliteStore};

/// A SQLite database in a temp dir holding an App Store Connect credential for a fake
/// whose every request waits `latency`, one app, and one data collection queued to run
/// now; and the master key sealing the credential.
struct Setup {
    dir: tempfile::TempDir,
    url: String,
    key: String,
    apple: FakeAppStoreConnect,
    app: App,
    queued: Execution,
}

async fn setup(latency: Duration) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("sw.db").display());
    let (key, raw) = master_key();
    let keyring = Keyring::from_raw(&[("default", raw)]).unwrap();
    let apple = FakeAppStoreConnect::builder()
        .system_clock()
        .apps(2)
        .days(20)
        .latency(latency)
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
    Setup {
        dir,
        url,
        key,
        apple,
        app,
        queued,
    }
}

/// Waits until `serve` runs an execution and returns its /metrics.
async fn running(serve: &Serve) -> String {
    wait_for(
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
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_answers_probes_and_metrics_and_drains_on_sigterm() {
    // Every request waits, so the collection is still running when SIGTERM comes.
    let Setup {
        dir,
        url,
        key,
        apple,
        app,
        queued,
    } = setup(Duration::from_millis(300)).await;
    let first = &apple.catalogue().apps[0];
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

    let metrics = running(&serve).await;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_signal_exits_at_once_leaving_the_run_to_its_lease() {
    // A collection far longer than the test waits.
    let s = setup(Duration::from_secs(5)).await;
    let mut serve = Serve::start(
        s.dir.path(),
        &[
            ("DATABASE_URL", s.url.clone()),
            ("STOREWATCH_MASTER_KEY", s.key.clone()),
            ("STOREWATCH_SCHEDULER_SHUTDOWN_GRACE_SECS", "600".to_owned()),
        ],
    );
    running(&serve).await;
    serve.signal("INT");
    wait_for(
        "the first signal to be seen",
        Duration::from_secs(60),
        || async {
            match serve.get("/readyz").await {
                (503, _) => Ok(()),
                other => Err(format!("{other:?}")),
            }
        },
    )
    .await;
    serve.signal("TERM");
    let status = serve.wait_exit(Duration::from_secs(60)).await;
    assert_eq!(status.code(), Some(1), "{}", serve.output());
    assert_eq!(
        serve
            .logged(
                "second signal: exiting now; unfinished executions are reaped by another instance"
            )
            .len(),
        1,
        "{}",
        serve.output()
    );

    let store = SqliteStore::open(&s.url, SqliteConfig::default())
        .await
        .unwrap();
    let left = store.get_execution(s.queued.id).await.unwrap();
    assert_eq!(
        left.status,
        ExecutionStatus::Running,
        "the abandoned run keeps its lease for another instance to reap: {left:?}"
    );
    assert_eq!(left.claimed_by.map(|c| c.0), Some(serve.instance.clone()));
}

#[test]
fn a_busy_port_is_refused_with_the_address() {
    let dir = tempfile::tempdir().unwrap();
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = busy.local_addr().unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_storewatch"))
        .args(["serve", "--listen", &addr.to_string()])
        .current_dir(dir.path())
        .env(
            "DATABASE_URL",
            format!("sqlite://{}", dir.path().join("sw.db").display()),
        )
        .env("STOREWATCH_LOG_LEVEL", "warn")
        .env_remove("STOREWATCH_LISTEN")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("cannot listen on {addr}")) && stderr.contains("--listen"),
        "{stderr}"
    );
}
