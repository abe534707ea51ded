//! `storewatch apps|credentials|channels|rules|reports|schedules`: each group's life
//! cycle through the binary on a fresh SQLite file, the three output formats, errors
//! that name the flag and the value, and planted secrets that never come back out.

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::sync::Mutex;

use assert_cmd::Command;
use secrecy::ExposeSecret;
use serde_json::Value;
use storewatch_apple::fake::TestKey;
use storewatch_lark::fake::{FakeLark, WebhookOptions};
use tempfile::TempDir;

const MASTER_KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

/// A temp dir with its own database, running the binary in it and keeping every line
/// it printed.
struct Env {
    dir: TempDir,
    master_key: Option<&'static str>,
    printed: Mutex<String>,
}

impl Env {
    fn new() -> Env {
        Env {
            dir: tempfile::tempdir().unwrap(),
            master_key: Some(MASTER_KEY),
            printed: Mutex::new(String::new()),
        }
    }

    fn path(&self, name: &str) -> std::path::PathBuf {
        self.dir.path().join(name)
    }

    fn write(&self, name: &str, content: &str) -> String {
        let path = self.path(name);
        std::fs::write(&path, content).unwrap();
        path.display().to_string()
    }

    fn run(&self, args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
        let mut cmd = Command::cargo_bin("storewatch").unwrap();
        cmd.current_dir(self.dir.path())
            .env(
                "DATABASE_URL",
                format!("sqlite://{}", self.path("sw.db").display()),
            )
            .env_remove("STOREWATCH_MASTER_KEYS")
            .env_remove("STOREWATCH_CONFIG")
            .env_remove("STOREWATCH_LARK_WEBHOOK_URL")
            .env_remove("STOREWATCH_LARK_WEBHOOK_SECRET")
            .env_remove("STOREWATCH_LARK_APP_SECRET")
            .args(args);
        match self.master_key {
            Some(key) => cmd.env("STOREWATCH_MASTER_KEY", key),
            None => cmd.env_remove("STOREWATCH_MASTER_KEY"),
        };
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd.output().unwrap();
        let mut printed = self.printed.lock().unwrap();
        printed.push_str(&String::from_utf8_lossy(&out.stdout));
        printed.push_str(&String::from_utf8_lossy(&out.stderr));
        out
    }

    /// Runs a command that must succeed; its stdout.
    fn ok(&self, args: &[&str]) -> String {
        self.ok_with(args, &[])
    }

    fn ok_with(&self, args: &[&str], env: &[(&str, &str)]) -> String {
        let out = self.run(args, env);
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "{args:?} failed: {}{stdout}",
            String::from_utf8_lossy(&out.stderr)
        );
        stdout
    }

    /// Runs a command that must fail; its stderr, which must name every one of `named`.
    fn fails(&self, args: &[&str], named: &[&str]) -> String {
        let out = self.run(args, &[]);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(!out.status.success(), "{args:?} succeeded");
        for n in named {
            assert!(stderr.contains(n), "{args:?}: stderr lacks {n:?}: {stderr}");
        }
        stderr
    }

    fn json(&self, args: &[&str]) -> Value {
        let text = self.ok(args);
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{args:?}: {e}: {text}"))
    }

    /// Checks that nothing printed so far, nor the database file, holds `secret`.
    fn assert_never_shown(&self, secret: &str) {
        let printed = self.printed.lock().unwrap();
        assert!(!printed.is_empty());
        assert!(!printed.contains(secret), "{secret:?} was printed");
        let db = std::fs::read(self.path("sw.db")).unwrap_or_default();
        let db = String::from_utf8_lossy(&db);
        assert!(
            !db.contains(secret),
            "{secret:?} is in the database in clear"
        );
    }
}

fn csv_rows(text: &str) -> Vec<Vec<String>> {
    csv::Reader::from_reader(text.as_bytes())
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect()
}

#[test]
fn apps_are_added_listed_updated_switched_and_removed() {
    let env = Env::new();
    let added = env.json(&[
        "apps",
        "add",
        "--name",
        "Trail Maps",
        "--platform",
        "ios",
        "--bundle-id",
        "com.example.trails",
        "--store-id",
        "1234567",
        "--format",
        "json",
    ]);
    assert_eq!(added["id"], 1);
    assert_eq!(added["version"], 1);
    env.ok(&[
        "apps",
        "add",
        "--name",
        "Trail Maps for Android",
        "--platform",
        "android",
        "--bundle-id",
        "com.example.trails",
    ]);

    let table = env.ok(&["apps", "list"]);
    assert!(table.starts_with("id  name"), "{table}");
    assert!(table.contains("Trail Maps for Android  android"), "{table}");
    let list = env.json(&["apps", "list", "--format", "json"]);
    assert_eq!(list.as_array().unwrap().len(), 2);
    assert_eq!(list[0]["store_id"], "1234567");
    assert_eq!(list[1]["platform"], "android");
    assert_eq!(list[1]["active"], true);
    let csv = env.ok(&["apps", "list", "--format", "csv"]);
    assert!(
        csv.starts_with("id,name,platform,bundle_id,store_id,credential,active\n"),
        "{csv}"
    );
    assert_eq!(
        csv_rows(&csv)[1],
        [
            "2",
            "Trail Maps for Android",
            "android",
            "com.example.trails",
            "",
            "",
            "true"
        ]
    );

    // Only the flags given change; the version grows with every change.
    let updated = env.json(&[
        "apps",
        "update",
        "ios:com.example.trails",
        "--name",
        "Trails",
        "--format",
        "json",
    ]);
    assert_eq!(updated["name"], "Trails");
    assert_eq!(updated["store_id"], "1234567");
    assert_eq!(updated["version"], 2);
    let shown = env.ok(&["apps", "show", "Trails"]);
    assert!(shown.contains("name        Trails\n"), "{shown}");
    assert!(shown.contains("version     2\n"), "{shown}");
    let cleared = env.json(&[
        "apps",
        "update",
        "1",
        "--store-id",
        "none",
        "--format",
        "json",
    ]);
    assert_eq!(cleared["store_id"], Value::Null);

    let off = env.json(&[
        "apps",
        "disable",
        "android:com.example.trails",
        "--format",
        "json",
    ]);
    assert_eq!(off["active"], false);
    let on = env.json(&["apps", "enable", "2", "--format", "json"]);
    assert_eq!(
        (on["active"].clone(), on["version"].clone()),
        (Value::Bool(true), 3.into())
    );

    assert!(env.ok(&["apps", "remove", "2"]).contains("removed app 2"));
    assert_eq!(
        env.json(&["apps", "list", "--format", "json"])
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // Bad input: the flag (or field) and the value are named, nothing is stored.
    env.fails(
        &[
            "apps",
            "add",
            "--name",
            "X",
            "--platform",
            "ios",
            "--bundle-id",
            "com..x",
        ],
        &["--bundle-id", "com..x"],
    );
    env.fails(
        &[
            "apps",
            "add",
            "--name",
            "X",
            "--platform",
            "windows",
            "--bundle-id",
            "a.b",
        ],
        &["--platform", "windows", "ios, android"],
    );
    env.fails(
        &[
            "apps",
            "add",
            "--name",
            "X",
            "--platform",
            "android",
            "--bundle-id",
            "a.b",
            "--store-id",
            "42",
        ],
        &["--store-id", "42"],
    );
    env.fails(
        &[
            "apps",
            "add",
            "--name",
            "Trails",
            "--platform",
            "ios",
            "--bundle-id",
            "a.b",
        ],
        &["Trails"],
    );
    env.fails(&["apps", "show", "nothing.here"], &["nothing.here"]);
    assert_eq!(
        env.json(&["apps", "list", "--format", "json"])
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn credentials_are_sealed_and_never_printed() {
    let env = Env::new();
    let key = TestKey::generate("entities");
    let pem = key.private_pem.expose_secret().to_owned();
    let planted_key = pem.lines().nth(1).unwrap().to_owned();
    let p8 = env.write("AuthKey.p8", &pem);
    let planted_account = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7PLANTED";
    let account = serde_json::json!({
        "type": "service_account",
        "client_email": "reader@project.iam.gserviceaccount.com",
        "private_key": format!("-----BEGIN PRIVATE KEY-----\n{planted_account}\n-----END PRIVATE KEY-----\n"),
    });
    let account_file = env.write("account.json", &account.to_string());

    let apple = env.json(&[
        "credentials",
        "add",
        "--name",
        "App Store Connect",
        "--platform",
        "ios",
        "--issuer-id",
        &key.issuer_id,
        "--key-id",
        &key.key_id,
        "--private-key-file",
        &p8,
        "--vendor-number",
        "80012345",
        "--format",
        "json",
    ]);
    assert_eq!(apple["kind"], "app_store_connect");
    assert_eq!(apple["fingerprint"].as_str().unwrap().len(), 12);
    env.ok(&[
        "credentials",
        "add",
        "--name",
        "Google Play",
        "--platform",
        "android",
        "--service-account-file",
        &account_file,
        "--bucket",
        "pubsite_prod_rev_0123456789",
    ]);

    let csv = env.ok(&["credentials", "list", "--format", "csv"]);
    let rows = csv_rows(&csv);
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1][1..4], ["Google Play", "android", "google_play"]);
    let table = env.ok(&["credentials", "list"]);
    assert!(table.contains("App Store Connect  ios"), "{table}");
    env.ok(&["credentials", "show", "Google Play"]);
    env.json(&["credentials", "show", "1", "--format", "json"]);

    // A new vendor number re-seals the config; the key stays and the fingerprint changes.
    let updated = env.json(&[
        "credentials",
        "update",
        "App Store Connect",
        "--vendor-number",
        "80099999",
        "--format",
        "json",
    ]);
    assert_eq!(updated["version"], 2);
    assert_ne!(updated["fingerprint"], apple["fingerprint"]);

    // Apps link to a credential of their platform.
    env.ok(&[
        "apps",
        "add",
        "--name",
        "Trails",
        "--platform",
        "ios",
        "--bundle-id",
        "com.example.trails",
    ]);
    env.fails(
        &["apps", "update", "Trails", "--credential", "Google Play"],
        &["--credential", "Google Play", "ios"],
    );
    let linked = env.json(&[
        "apps",
        "update",
        "Trails",
        "--credential",
        "App Store Connect",
        "--format",
        "json",
    ]);
    assert_eq!(linked["credential"], "App Store Connect");
    env.fails(
        &["credentials", "remove", "App Store Connect"],
        &["app 1 (Trails)"],
    );

    // Bad input names the flag and the value, never the key.
    env.fails(
        &[
            "credentials",
            "add",
            "--name",
            "x",
            "--platform",
            "ios",
            "--issuer-id",
            &key.issuer_id,
            "--key-id",
            &key.key_id,
            "--private-key-file",
            "missing.p8",
            "--vendor-number",
            "1",
        ],
        &["--private-key-file", "missing.p8"],
    );
    env.fails(
        &[
            "credentials",
            "add",
            "--name",
            "x",
            "--platform",
            "ios",
            "--issuer-id",
            &key.issuer_id,
            "--key-id",
            "short",
            "--private-key-file",
            &p8,
            "--vendor-number",
            "1",
        ],
        &["--key-id", "short"],
    );
    let wrong_key = env.write("wrong.p8", &format!("{planted_key}\n"));
    env.fails(
        &[
            "credentials",
            "add",
            "--name",
            "x",
            "--platform",
            "ios",
            "--issuer-id",
            &key.issuer_id,
            "--key-id",
            &key.key_id,
            "--private-key-file",
            &wrong_key,
            "--vendor-number",
            "1",
        ],
        &["--private-key-file"],
    );
    let malformed = env.write(
        "bad.json",
        &format!("{{\"private_key\": \"{planted_account}\", oops"),
    );
    env.fails(
        &[
            "credentials",
            "add",
            "--name",
            "x",
            "--platform",
            "android",
            "--service-account-file",
            &malformed,
            "--bucket",
            "pubsite_prod_rev_1",
        ],
        &["--service-account-file", "bad.json", "not valid JSON"],
    );
    env.fails(
        &[
            "credentials",
            "add",
            "--name",
            "x",
            "--platform",
            "android",
            "--service-account-file",
            &account_file,
            "--bucket",
            "Bad Bucket",
        ],
        &["--bucket", "Bad Bucket"],
    );
    env.fails(
        &[
            "credentials",
            "add",
            "--name",
            "x",
            "--platform",
            "android",
            "--service-account-file",
            &account_file,
        ],
        &["--bucket is required"],
    );
    env.fails(
        &[
            "credentials",
            "update",
            "Google Play",
            "--key-id",
            "2X9R4HXF34",
        ],
        &["--key-id does not apply"],
    );

    env.ok(&["apps", "update", "Trails", "--credential", "none"]);
    env.ok(&["credentials", "remove", "App Store Connect"]);
    assert_eq!(
        env.json(&["credentials", "list", "--format", "json"])
            .as_array()
            .unwrap()
            .len(),
        1
    );

    env.assert_never_shown(&planted_key);
    env.assert_never_shown(planted_account);
}

#[test]
fn a_secret_needs_a_master_key() {
    let mut env = Env::new();
    env.master_key = None;
    env.fails(
        &[
            "channels",
            "add",
            "--name",
            "bot",
            "--kind",
            "lark-webhook",
            "--webhook-url",
            "https://open.feishu.cn/open-apis/bot/v2/hook/abc",
        ],
        &["no master key", "STOREWATCH_MASTER_KEY"],
    );
    let account = env.write("a.json", r#"{"type":"service_account"}"#);
    env.fails(
        &[
            "credentials",
            "add",
            "--name",
            "gp",
            "--platform",
            "android",
            "--service-account-file",
            &account,
            "--bucket",
            "pubsite_prod_rev_1",
        ],
        &["no master key"],
    );
    // Records without secrets need none.
    env.ok(&[
        "apps",
        "add",
        "--name",
        "T",
        "--platform",
        "ios",
        "--bundle-id",
        "a.b",
    ]);
}

#[test]
fn channels_are_sealed_tested_against_lark_and_never_printed() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let lark = runtime.block_on(FakeLark::start()).unwrap();
    let token = "plantedwebhooktoken0123";
    let signing = "plantedsigningsecret";
    lark.add_webhook(
        token,
        WebhookOptions {
            secret: Some(signing.to_owned()),
            ..Default::default()
        },
    );
    let app_secret = "plantedappsecret";
    lark.add_spreadsheet("cli_test01", app_secret, "shtcnTest0123456789", "tab1");
    let env = Env::new();
    let url = env.write(
        "webhook",
        &format!("https://open.feishu.cn/open-apis/bot/v2/hook/{token}\n"),
    );
    let base = lark.base_url();

    // The URL from a file, the signing secret from the environment.
    let bot = env.ok_with(
        &[
            "channels",
            "add",
            "--name",
            "Growth bot",
            "--kind",
            "lark-webhook",
            "--webhook-url-file",
            &url,
            "--base-url",
            &base,
            "--format",
            "json",
        ],
        &[("STOREWATCH_LARK_WEBHOOK_SECRET", signing)],
    );
    let bot: Value = serde_json::from_str(&bot).unwrap();
    assert_eq!(bot["kind"], "lark_webhook");
    let secret_file = env.write("app-secret", app_secret);
    env.ok(&[
        "channels",
        "add",
        "--name",
        "KPI sheet",
        "--kind",
        "lark-sheet",
        "--app-id",
        "cli_test01",
        "--app-secret-file",
        &secret_file,
        "--spreadsheet-token",
        "shtcnTest0123456789",
        "--sheet-id",
        "tab1",
        "--base-url",
        &base,
    ]);

    let sent = env.ok(&["channels", "test", "Growth bot"]);
    assert!(
        sent.contains("sent a test message to channel 1 (Growth bot)"),
        "{sent}"
    );
    let received = lark.received();
    assert_eq!(received.len(), 1, "{received:?}");
    assert_eq!(received[0].token, token);
    assert!(
        received[0].text().contains("storewatch test"),
        "{}",
        received[0].text()
    );
    env.ok(&["channels", "test", "KPI sheet"]);
    let rows = lark.rows("shtcnTest0123456789", "tab1");
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0][3], "storewatch test");

    let csv = env.ok(&["channels", "list", "--format", "csv"]);
    assert!(
        csv.starts_with("id,name,kind,fingerprint,sealed_with,active\n"),
        "{csv}"
    );
    assert_eq!(csv_rows(&csv)[1][1..3], ["KPI sheet", "lark_sheet"]);
    let list = env.json(&["channels", "list", "--format", "json"]);
    assert_eq!(list[0]["name"], "Growth bot");
    env.ok(&["channels", "list"]);
    env.ok(&["channels", "show", "Growth bot"]);

    // Turning signing off: the fake refuses unsigned messages to this bot.
    let before = bot["fingerprint"].clone();
    let updated = env.json(&["channels", "update", "1", "--no-secret", "--format", "json"]);
    assert_ne!(updated["fingerprint"], before);
    env.fails(&["channels", "test", "1"], &["channel 1 (Growth bot)"]);
    env.ok_with(
        &["channels", "update", "1", "--name", "Growth team"],
        &[("STOREWATCH_LARK_WEBHOOK_SECRET", signing)],
    );
    env.ok(&["channels", "test", "Growth team"]);
    assert_eq!(lark.received().len(), 2);

    let off = env.json(&["channels", "disable", "Growth team", "--format", "json"]);
    assert_eq!(off["active"], false);

    // Errors name the flag and never repeat the URL.
    env.fails(
        &[
            "channels",
            "add",
            "--name",
            "x",
            "--kind",
            "lark-webhook",
            "--webhook-url",
            &format!("https://hooks.example.com/open-apis/bot/v2/hook/{token}"),
        ],
        &["--webhook-url", "https://hooks.example.com/…"],
    );
    env.fails(
        &[
            "channels",
            "add",
            "--name",
            "x",
            "--kind",
            "lark-sheet",
            "--webhook-url-file",
            &url,
        ],
        &["--webhook-url does not apply to a lark_sheet channel"],
    );
    env.fails(
        &[
            "channels",
            "add",
            "--name",
            "x",
            "--kind",
            "lark-webhook",
            "--webhook-url-file",
            &url,
            "--webhook-url",
            "https://open.feishu.cn/open-apis/bot/v2/hook/x",
        ],
        &["--webhook-url-file", "give one"],
    );
    env.fails(
        &[
            "channels",
            "add",
            "--name",
            "x",
            "--kind",
            "lark-sheet",
            "--app-id",
            "nope",
            "--app-secret",
            "s",
            "--spreadsheet-token",
            "shtcnTest0123456789",
            "--sheet-id",
            "t",
        ],
        &["--app-id", "nope"],
    );
    env.fails(
        &["channels", "add", "--name", "x", "--kind", "slack"],
        &["--kind", "slack"],
    );

    env.ok(&["channels", "remove", "KPI sheet"]);
    for secret in [token, signing, app_secret] {
        env.assert_never_shown(secret);
    }
}

#[test]
fn rules_and_reports_are_managed_and_refer_to_apps_and_channels() {
    let env = Env::new();
    env.ok(&[
        "apps",
        "add",
        "--name",
        "Trails",
        "--platform",
        "ios",
        "--bundle-id",
        "com.example.trails",
    ]);
    env.ok(&[
        "channels",
        "add",
        "--name",
        "bot",
        "--kind",
        "lark-webhook",
        "--webhook-url",
        "https://open.feishu.cn/open-apis/bot/v2/hook/t0ken",
    ]);

    let rule = env.json(&[
        "rules",
        "add",
        "--name",
        "Downloads fell",
        "--metric",
        "downloads",
        "--app",
        "Trails",
        "--condition",
        "pct-change",
        "--window",
        "wow",
        "--direction",
        "down",
        "--threshold-pct",
        "30",
        "--severity",
        "critical",
        "--channel",
        "bot",
        "--mention",
        "all",
        "--mention",
        "ou_3f9a0b",
        "--for-days",
        "2",
        "--cooldown",
        "12h",
        "--min-baseline",
        "100",
        "--notify-resolved",
        "--format",
        "json",
    ]);
    assert_eq!(rule["condition"], "falls by at least 30% week over week");
    assert_eq!(rule["app"], "Trails");
    assert_eq!(rule["channel"], "bot");
    assert_eq!(rule["mentions"], serde_json::json!(["all", "ou_3f9a0b"]));
    assert_eq!(
        (rule["for_days"].clone(), rule["cooldown"].clone()),
        (2.into(), "12h".into())
    );
    assert_eq!(
        (
            rule["min_baseline"].clone(),
            rule["notify_resolved"].clone()
        ),
        (100.0.into(), true.into())
    );
    env.ok(&[
        "rules",
        "add",
        "--name",
        "Crash rate",
        "--metric",
        "crash_rate",
        "--condition",
        "absolute",
        "--op",
        "above",
        "--value",
        "0.02",
        "--channel",
        "1",
    ]);

    // A parameter alone changes the current condition; a new kind needs its own.
    let changed = env.json(&[
        "rules",
        "update",
        "Downloads fell",
        "--threshold-pct",
        "45",
        "--format",
        "json",
    ]);
    assert_eq!(changed["condition"], "falls by at least 45% week over week");
    assert_eq!(changed["severity"], "critical");
    let anomaly = env.json(&[
        "rules",
        "update",
        "1",
        "--condition",
        "anomaly",
        "--z",
        "4",
        "--all-apps",
        "--notify-resolved=false",
        "--no-mentions",
        "--format",
        "json",
    ]);
    assert!(
        anomaly["condition"]
            .as_str()
            .unwrap()
            .contains("at least 4 seasonal")
    );
    assert_eq!(
        (anomaly["app"].clone(), anomaly["notify_resolved"].clone()),
        ("all".into(), false.into())
    );
    assert_eq!(anomaly["mentions"], serde_json::json!([]));
    let csv = env.ok(&["rules", "list", "--format", "csv"]);
    let rows = csv_rows(&csv);
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1][1..5], ["Crash rate", "all", "crash_rate", ""]);
    assert_eq!(rows[1][5], "is above 0.02");
    env.ok(&["rules", "list"]);
    let off = env.json(&["rules", "disable", "Crash rate", "--format", "json"]);
    assert_eq!(off["active"], false);
    env.ok(&["rules", "enable", "Crash rate"]);

    let bad = |args: &[&str], named: &[&str]| {
        let mut all = vec![
            "rules",
            "add",
            "--name",
            "r",
            "--metric",
            "downloads",
            "--channel",
            "bot",
        ];
        all.extend_from_slice(args);
        env.fails(&all, named);
    };
    env.fails(
        &[
            "rules",
            "add",
            "--name",
            "r",
            "--metric",
            "downloads",
            "--condition",
            "anomaly",
            "--channel",
            "nobody",
        ],
        &["--channel", "nobody"],
    );
    bad(
        &["--condition", "absolute", "--window", "wow"],
        &["--window applies to --condition pct-change"],
    );
    bad(
        &["--condition", "pct-change", "--window", "wow"],
        &["--threshold-pct is required"],
    );
    bad(
        &[
            "--condition",
            "pct-change",
            "--window",
            "wow",
            "--threshold-pct",
            "-3",
        ],
        &["--threshold-pct", "-3"],
    );
    bad(
        &["--condition", "anomaly", "--mention", "bob"],
        &["--mention", "bob"],
    );
    bad(
        &["--condition", "anomaly", "--cooldown", "soon"],
        &["--cooldown", "soon"],
    );
    bad(
        &["--condition", "anomaly", "--window", "monthly"],
        &["--window", "monthly"],
    );
    bad(
        &["--condition", "anomaly", "--for-days", "0"],
        &["--for-days", "0"],
    );
    env.fails(
        &["rules", "update", "1", "--metric", "Bad-Metric"],
        &["--metric", "Bad-Metric"],
    );

    let report = env.json(&[
        "reports",
        "add",
        "--name",
        "Daily",
        "--metric",
        "downloads,active_devices",
        "--metric",
        "crash_rate",
        "--channel",
        "bot",
        "--format",
        "json",
    ]);
    assert_eq!(
        report["metrics"],
        serde_json::json!(["downloads", "active_devices", "crash_rate"])
    );
    assert_eq!(
        (report["channels"].clone(), report["app"].clone()),
        (serde_json::json!(["bot"]), "all".into())
    );
    let updated = env.json(&[
        "reports",
        "update",
        "Daily",
        "--metric",
        "downloads",
        "--app",
        "Trails",
        "--format",
        "json",
    ]);
    assert_eq!(updated["metrics"], serde_json::json!(["downloads"]));
    assert_eq!(updated["app"], "Trails");
    let csv = env.ok(&["reports", "list", "--format", "csv"]);
    assert!(
        csv.starts_with("id,name,app,metrics,channels,active\n"),
        "{csv}"
    );
    env.ok(&["reports", "disable", "Daily"]);
    env.fails(
        &["reports", "add", "--name", "Empty", "--channel", "bot"],
        &["--metric"],
    );
    env.fails(
        &[
            "reports",
            "add",
            "--name",
            "R",
            "--metric",
            "downloads",
            "--channel",
            "ghost",
        ],
        &["--channel", "ghost"],
    );

    // What is referred to cannot be removed.
    env.fails(
        &["channels", "remove", "bot"],
        &["rule 1 (Downloads fell)", "report 1 (Daily)"],
    );
    env.fails(&["apps", "remove", "Trails"], &["report 1 (Daily)"]);
    env.ok(&["reports", "remove", "Daily"]);
    env.ok(&["rules", "remove", "1"]);
    env.ok(&["rules", "remove", "Crash rate"]);
    env.ok(&["channels", "remove", "bot"]);
    env.ok(&["apps", "remove", "Trails"]);
    assert_eq!(
        env.json(&["rules", "list", "--format", "json"]),
        serde_json::json!([])
    );
}

#[test]
fn schedules_are_managed_with_their_next_fire_time() {
    let env = Env::new();
    let added = env.json(&[
        "schedules",
        "add",
        "--name",
        "Morning",
        "--task",
        "full-analysis",
        "--weekly",
        "mon",
        "--at",
        "06:30",
        "--tz",
        "Europe/Berlin",
        "--max-retries",
        "5",
        "--timeout",
        "45m",
        "--format",
        "json",
    ]);
    assert_eq!(added["frequency"], "weekly on Mon");
    assert_eq!(
        (added["at"].clone(), added["timezone"].clone()),
        ("06:30".into(), "Europe/Berlin".into())
    );
    assert_eq!(
        (added["max_retries"].clone(), added["timeout"].clone()),
        (5.into(), "45m".into())
    );
    assert_eq!(
        (
            added["misfire_grace"].clone(),
            added["target_offset_days"].clone()
        ),
        ("1h".into(), 1.into())
    );
    let next = chrono::DateTime::parse_from_rfc3339(added["next_fire"].as_str().unwrap()).unwrap();
    assert_eq!(next.format("%a %H:%M").to_string(), "Mon 06:30");

    env.ok(&[
        "schedules",
        "add",
        "--name",
        "Collect",
        "--task",
        "data-collection",
        "--daily",
        "--at",
        "02:00",
        "--tz",
        "UTC",
        "--skip-notifications",
    ]);
    let csv = env.ok(&["schedules", "list", "--format", "csv"]);
    let rows = csv_rows(&csv);
    assert_eq!(
        rows[1][1..6],
        ["Collect", "data-collection", "all", "daily", "02:00"]
    );
    assert!(rows[1][8..10] == ["true", "true"], "{rows:?}");
    env.ok(&["schedules", "list"]);

    let updated = env.json(&[
        "schedules",
        "update",
        "Morning",
        "--monthly",
        "31",
        "--at",
        "23:59",
        "--format",
        "json",
    ]);
    assert_eq!(updated["frequency"], "monthly on day 31");
    assert_eq!(
        (updated["at"].clone(), updated["max_retries"].clone()),
        ("23:59".into(), 5.into())
    );
    let off = env.json(&["schedules", "disable", "Morning", "--format", "json"]);
    assert_eq!(off["next_fire"], Value::Null);
    env.ok(&["schedules", "enable", "1"]);

    let add = |extra: &[&str], named: &[&str]| {
        let mut all = vec!["schedules", "add", "--name", "S", "--task", "alert-check"];
        all.extend_from_slice(extra);
        env.fails(&all, named);
    };
    add(
        &["--daily", "--at", "25:00", "--tz", "UTC"],
        &["--at", "25:00", "hour 25"],
    );
    add(
        &["--daily", "--at", "06:00", "--tz", "Mars/Olympus"],
        &["--tz", "Mars/Olympus"],
    );
    add(
        &["--monthly", "32", "--at", "06:00", "--tz", "UTC"],
        &["--monthly", "32"],
    );
    add(
        &["--weekly", "someday", "--at", "06:00", "--tz", "UTC"],
        &["--weekly", "someday"],
    );
    add(
        &["--at", "06:00", "--tz", "UTC"],
        &["--daily, --weekly or --monthly"],
    );
    add(
        &["--daily", "--weekly", "mon", "--at", "06:00", "--tz", "UTC"],
        &["--weekly"],
    );
    add(&["--daily", "--at", "06:00"], &["--tz is required"]);
    add(
        &["--daily", "--at", "06:00", "--tz", "UTC", "--timeout", "0s"],
        &["--timeout", "0"],
    );
    env.fails(
        &[
            "schedules",
            "add",
            "--name",
            "S",
            "--task",
            "backup",
            "--daily",
            "--at",
            "06:00",
            "--tz",
            "UTC",
        ],
        &["--task", "backup", "data-collection"],
    );
    env.fails(&["schedules", "update", "Nope", "--daily"], &["Nope"]);

    env.ok(&["schedules", "remove", "Morning"]);
    assert_eq!(
        env.json(&["schedules", "list", "--format", "json"])
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert!(Path::new(&env.path("sw.db")).exists());
}
