//! `storewatch demo` runs end to end on loopback fakes and its output shows the cycle
//! worked: the backfill, the planted anomalies' alerts, the report, cards and sheet rows
//! Lark received, the execution record, and no secret anywhere.

#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::Duration;

use assert_cmd::Command;

/// The made-up secrets of `src/demo/fakes.rs`: the bot's webhook token, its signing
/// secret and the Lark app secret.
const SECRETS: [&str; 3] = [
    "5c0f2a91-7d4e-4b83-9e16-a2d7c4f08b35",
    "demo-sign-Vq7Lx2Rk9Tz4",
    "demo-app-secret-Hn4Wc8Pj1Ys6",
];
/// The key of `FakeGooglePlay`'s built-in service account, which the demo uses.
const SERVICE_ACCOUNT_KEY: &str =
    include_str!("../../../storewatch-google/tests/fixtures/test_only_service_account_key.pem");

fn demo(dir: &std::path::Path) -> Command {
    let mut cmd = Command::cargo_bin("storewatch").unwrap();
    cmd.arg("demo")
        .current_dir(dir)
        .env_remove("STOREWATCH_CONFIG")
        .timeout(Duration::from_secs(600));
    cmd
}

fn assert_no_secret(text: &str) {
    for secret in SECRETS {
        assert!(!text.contains(secret), "secret {secret} printed:\n{text}");
    }
    assert!(
        !text.contains("PRIVATE KEY"),
        "a private key printed:\n{text}"
    );
    for line in SERVICE_ACCOUNT_KEY
        .lines()
        .filter(|l| !l.starts_with("-----"))
    {
        assert!(
            !text.contains(line),
            "the service-account key printed:\n{text}"
        );
    }
}

#[test]
fn demo_backfills_fires_the_anomalies_and_delivers_report_cards_and_rows() {
    let dir = tempfile::tempdir().unwrap();
    let output = demo(dir.path()).output().unwrap();
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let errors = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "demo failed: {errors}\n{text}");

    // 6 apps × 120 days through the real sources: every app has downloads every day.
    let backfill = text
        .lines()
        .find(|l| l.starts_with("backfill: "))
        .unwrap_or_else(|| panic!("no backfill line:\n{text}"));
    assert!(
        backfill.contains(" points collected for 6 apps over 120 days ("),
        "{backfill}"
    );
    let points: usize = backfill["backfill: ".len()..]
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(points >= 6 * 120 * 2, "{backfill}");
    assert!(
        backfill.contains("requests to App Store Connect") && backfill.contains("to Google Play"),
        "{backfill}"
    );

    // The planted anomalies, and only they, fire.
    let fired: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("  FIRING "))
        .collect();
    assert!(
        fired
            .iter()
            .any(|l| l
                .starts_with("  FIRING CRITICAL Trail Maps iOS (ios:com.fake.app1) downloads: ")),
        "the iOS drop fires:\n{text}"
    );
    assert!(
        fired.iter().any(|l| l.starts_with(
            "  FIRING WARNING Recipe Box Android (android:com.fake.app2.android) downloads: "
        )),
        "the Android spike fires:\n{text}"
    );
    assert!(
        fired
            .iter()
            .all(|l| l.contains("Trail Maps iOS") || l.contains("Recipe Box Android")),
        "only the anomalies fire:\n{text}"
    );

    // What Lark received: the report, a red card mentioning everyone and an orange one,
    // 18 sheet rows.
    assert!(
        text.contains("  report (post): Daily app metrics — "),
        "the report is delivered:\n{text}"
    );
    assert!(
        text.contains("  card [red]: [CRITICAL] Trail Maps iOS downloads")
            && text.contains("(mentions @all)")
            && text.contains("  card [orange]: [WARNING] Recipe Box Android downloads"),
        "the alert cards are delivered:\n{text}"
    );
    assert!(
        text.contains("sheet rows appended to \"Daily KPI sheet\" tab daily1: 18\n"),
        "sheet rows are appended (6 apps × 3 metrics):\n{text}"
    );

    // The execution record.
    assert!(
        text.contains("manual data-collection for ") && text.contains("manual full-analysis for "),
        "{text}"
    );
    assert!(text.contains(": success in "), "{text}");
    assert!(text.contains("6 apps ok, 0 errors"), "{text}");

    assert_no_secret(&text);
    assert_no_secret(&errors);

    // The temporary database is gone.
    let db = text
        .lines()
        .find_map(|l| l.strip_prefix("  database: "))
        .and_then(|l| l.split(" (removed at exit").next())
        .unwrap_or_else(|| panic!("no database line:\n{text}"));
    assert!(!std::path::Path::new(db).exists(), "{db} left behind");
}

#[test]
fn db_keeps_the_database_and_refuses_an_existing_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("demo.db");
    let output = demo(dir.path())
        .args(["--days", "40", "--db"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("over 40 days"),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
    assert!(path.exists(), "--db keeps the file");

    let again = demo(dir.path()).arg("--db").arg(&path).output().unwrap();
    let errors = String::from_utf8_lossy(&again.stderr);
    assert!(!again.status.success());
    assert!(
        errors.contains("--db") && errors.contains("does not exist yet"),
        "{errors}"
    );
}

#[cfg(unix)]
#[test]
fn serve_keeps_running_until_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("storewatch"))
        .args(["demo", "--days", "40", "--serve"])
        .current_dir(dir.path())
        .env_remove("STOREWATCH_CONFIG")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut db = None;
    let mut serving = false;
    for line in BufReader::new(stdout).lines().map_while(Result::ok) {
        if let Some(rest) = line.strip_prefix("  database: ") {
            db = rest.split(" (removed at exit").next().map(str::to_owned);
        }
        if line.starts_with("serving the demo data") {
            serving = true;
            break;
        }
    }
    assert!(serving, "the demo reached serve");
    let db = db.expect("the database line");
    assert!(child.try_wait().unwrap().is_none(), "still serving");
    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = child.wait().unwrap();
    assert!(exit.success(), "SIGTERM ends the demo cleanly: {exit:?}");
    assert!(!std::path::Path::new(&db).exists(), "{db} left behind");
}
