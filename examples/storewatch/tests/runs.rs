//! `storewatch run`, `trigger`, `retry`, `cancel`, `executions` and `scheduler status`
//! against a SQLite file, with records seeded through the library.

#![allow(clippy::unwrap_used)]

use assert_cmd::Command;
use serde_json::Value;
use storewatch_core::model::{
    AppSpec, ExecutionStatus, Frequency, InstanceId, Platform, ScheduleSpec, Task,
};
use storewatch_core::store::{ConfigStore, RunStore};
use storewatch_sqlite::{SqliteConfig, SqliteStore};
use tempfile::TempDir;

/// A temp dir with a database file, and the binary pointed at it.
struct Cli {
    dir: TempDir,
}

impl Cli {
    fn new() -> Cli {
        Cli {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn db(&self) -> String {
        self.dir.path().join("sw.db").display().to_string()
    }

    fn cmd(&self, args: &[&str]) -> std::process::Output {
        Command::cargo_bin("storewatch")
            .unwrap()
            .current_dir(self.dir.path())
            .env("DATABASE_URL", format!("sqlite://{}", self.db()))
            .env(
                "STOREWATCH_MASTER_KEY",
                "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
            )
            .args(args)
            .output()
            .unwrap()
    }

    /// Runs a command that must succeed; its stdout.
    fn ok(&self, args: &[&str]) -> String {
        let out = self.cmd(args);
        assert!(
            out.status.success(),
            "storewatch {args:?} failed: {}{}",
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Runs a command that must fail; its stderr.
    fn fails(&self, args: &[&str]) -> String {
        let out = self.cmd(args);
        assert!(!out.status.success(), "storewatch {args:?} succeeded");
        String::from_utf8(out.stderr).unwrap()
    }

    fn json(&self, args: &[&str]) -> Value {
        serde_json::from_str(&self.ok(args)).unwrap()
    }

    async fn store(&self) -> SqliteStore {
        SqliteStore::open(&self.db(), SqliteConfig::default())
            .await
            .unwrap()
    }
}

#[tokio::test]
async fn run_records_a_manual_execution_and_prints_it() {
    let cli = Cli::new();
    let run = cli.json(&[
        "run",
        "--task",
        "alert-check",
        "--date",
        "2026-03-01",
        "--format",
        "json",
    ]);
    assert_eq!(run["status"], "success", "{run}");
    assert_eq!(run["trigger"], "manual");
    assert_eq!(run["task"], "alert-check");
    assert_eq!(run["target_date"], "2026-03-01");
    let id = run["id"].as_i64().unwrap();

    let listed = cli.json(&["executions", "list", "--format", "json"]);
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["id"], id);
    let csv = cli.ok(&["executions", "list", "--format", "csv"]);
    assert!(csv.starts_with("id,task,trigger,status,"), "{csv}");
    let table = cli.ok(&["executions", "show", &id.to_string()]);
    assert!(
        table.contains("output_log") && table.contains("alert-check"),
        "{table}"
    );
}

#[tokio::test]
async fn run_of_one_app_that_cannot_be_collected_fails_with_its_record() {
    let cli = Cli::new();
    cli.ok(&["migrate"]);
    let store = cli.store().await;
    store
        .create_app(AppSpec::new("Trails", Platform::Ios, "com.example.trails").unwrap())
        .await
        .unwrap();
    let out = cli.cmd(&[
        "run",
        "--task",
        "data-collection",
        "--app",
        "com.example.trails",
        "--format",
        "json",
    ]);
    assert!(!out.status.success(), "a failed run exits non-zero");
    let record: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(record["status"], "failed", "{record}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("ended failed"));
}

#[tokio::test]
async fn trigger_cancel_and_retry_queue_and_end_executions() {
    let cli = Cli::new();
    cli.ok(&["migrate"]);
    let store = cli.store().await;
    store
        .create_schedule(
            ScheduleSpec::new("Nightly", Task::AlertCheck, Frequency::Daily, 3, 0, "UTC").unwrap(),
        )
        .await
        .unwrap();

    let queued = cli.json(&["trigger", "Nightly", "--format", "json"]);
    assert_eq!(queued["status"], "pending", "{queued}");
    let id = queued["id"].as_i64().unwrap().to_string();

    let status = cli.json(&["scheduler", "status", "--format", "json"]);
    assert_eq!(status["queued"][0]["id"].to_string(), id, "{status}");
    assert_eq!(status["schedules"][0]["name"], "Nightly");
    assert!(status["schedules"][0]["next_fire"].is_string());

    let cancelled = cli.json(&["cancel", &id, "--format", "json"]);
    assert_eq!(cancelled["status"], "cancelled");

    let retry = cli.json(&["retry", &id, "--format", "json"]);
    assert_eq!(retry["status"], "pending");
    assert_eq!(retry["retry_of"].to_string(), id);
    assert_eq!(retry["attempt"], 2);

    // The retry is executed by whoever claims it; here, the test does.
    let claimed = store
        .claim_execution(
            &InstanceId::from("test"),
            std::time::Duration::from_secs(60),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(claimed.id.0.to_string(), retry["id"].to_string());
    assert_eq!(claimed.status, ExecutionStatus::Running);
}

#[test]
fn bad_arguments_are_named() {
    let cli = Cli::new();
    let err = cli.fails(&["run", "--task", "collect"]);
    assert!(
        err.contains("collect") && err.contains("data-collection"),
        "{err}"
    );
    let err = cli.fails(&["run", "--task", "alert-check", "--date", "2026-02-30"]);
    assert!(
        err.contains("2026-02-30") && err.contains("YYYY-MM-DD"),
        "{err}"
    );
    let err = cli.fails(&["cancel", "12345"]);
    assert!(err.contains("12345"), "{err}");
    let err = cli.fails(&["trigger", "No such schedule"]);
    assert!(err.contains("No such schedule"), "{err}");
    let err = cli.fails(&["executions", "list", "--status", "done"]);
    assert!(err.contains("done") && err.contains("pending"), "{err}");
}

#[tokio::test]
async fn keys_rotate_reseals_under_the_new_key_and_refuses_without_keys() {
    let cli = Cli::new();
    cli.ok(&["migrate"]);
    let store = cli.store().await;
    let old =
        storewatch_core::secrets::Keyring::single("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=")
            .unwrap();
    let secret =
        secrecy::SecretString::from("https://open.larksuite.com/open-apis/bot/v2/hook/t0ps3cret");
    storewatch_core::secrets::create_channel(&store, &old, "Bot", "lark_webhook", &secret)
        .await
        .unwrap();

    let out = Command::cargo_bin("storewatch")
        .unwrap()
        .current_dir(cli.dir.path())
        .env("DATABASE_URL", format!("sqlite://{}", cli.db()))
        .env_remove("STOREWATCH_MASTER_KEY")
        .env(
            "STOREWATCH_MASTER_KEYS",
            "new:BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=,default:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
        )
        .args(["keys", "rotate"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("re-sealed 1 secrets under key \"new\""));
    let channel = store.list_channels().await.unwrap().remove(0);
    assert_eq!(channel.sealed.key_id(), "new");

    let out = Command::cargo_bin("storewatch")
        .unwrap()
        .current_dir(cli.dir.path())
        .env("DATABASE_URL", format!("sqlite://{}", cli.db()))
        .env_remove("STOREWATCH_MASTER_KEY")
        .env_remove("STOREWATCH_MASTER_KEYS")
        .args(["executions", "list"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("STOREWATCH_MASTER_KEY"), "{err}");
    assert!(!err.contains("t0ps3cret"));
}
