//! `storewatch apps|credentials|channels|rules|reports|schedules`: each group's life
//! cycle through the binary on a fresh SQLite file, the three output formats, errors
//! that name the flag and the value, and planted secrets that never come back out.

#![allow(clippy::unwrap_used)]

use std::sync::Mutex;

use assert_cmd::Command;
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use storewatch_apple::fake::TestKey;
use storewatch_lark::fake::{FakeLark, WebhookOptions};
use tempfile::TempDir;

const MASTER_KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

/// A command line's words; single quotes group words (`--name 'Trail Maps'`).
fn words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    for (i, part) in line.split('\'').enumerate() {
        if i % 2 == 1 {
            words.push(part.to_owned());
        } else {
            words.extend(part.split_whitespace().map(str::to_owned));
        }
    }
    words
}

/// A temp dir with its own database, running the binary in it and keeping everything
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

    /// Writes a file in the temp dir; its path (the temp dir's paths have no spaces).
    fn write(&self, name: &str, content: &str) -> String {
        let path = self.path(name);
        std::fs::write(&path, content).unwrap();
        path.display().to_string()
    }

    fn run(&self, line: &str, env: &[(&str, &str)]) -> std::process::Output {
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
            .args(words(line))
            .envs(env.iter().copied());
        match self.master_key {
            Some(key) => cmd.env("STOREWATCH_MASTER_KEY", key),
            None => cmd.env_remove("STOREWATCH_MASTER_KEY"),
        };
        let out = cmd.output().unwrap();
        let mut printed = self.printed.lock().unwrap();
        printed.push_str(&String::from_utf8_lossy(&out.stdout));
        printed.push_str(&String::from_utf8_lossy(&out.stderr));
        out
    }

    /// Runs a command that must succeed; its stdout.
    fn ok(&self, line: &str) -> String {
        self.ok_with(line, &[])
    }

    fn ok_with(&self, line: &str, env: &[(&str, &str)]) -> String {
        let out = self.run(line, env);
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "{line} failed: {}{stdout}",
            String::from_utf8_lossy(&out.stderr)
        );
        stdout
    }

    /// Runs a command that must fail; its stderr must name every one of `named`.
    fn fails(&self, line: &str, named: &[&str]) {
        let out = self.run(line, &[]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{line} succeeded");
        for n in named {
            assert!(stderr.contains(n), "{line}: stderr lacks {n:?}: {stderr}");
        }
    }

    /// Runs a command with `--format json`; its output.
    fn json(&self, line: &str) -> Value {
        let text = self.ok(&format!("{line} --format json"));
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{line}: {e}: {text}"))
    }

    /// Checks that nothing printed so far, nor the database file, holds `secret`.
    fn assert_never_shown(&self, secret: &str) {
        let printed = self.printed.lock().unwrap();
        assert!(!printed.is_empty());
        assert!(!printed.contains(secret), "{secret:?} was printed");
        let db = std::fs::read(self.path("sw.db")).unwrap();
        let db = String::from_utf8_lossy(&db);
        assert!(
            !db.contains(secret),
            "{secret:?} is in the database in clear"
        );
    }
}

/// The rows of a CSV output, header first.
fn csv_rows(text: &str) -> Vec<Vec<String>> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(text.as_bytes())
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect()
}

/// The JSON list's length.
fn count(list: &Value) -> usize {
    list.as_array().unwrap().len()
}

#[test]
fn apps_are_added_listed_updated_switched_and_removed() {
    let env = Env::new();
    let added = env.json(
        "apps add --name 'Trail Maps' --platform ios --bundle-id com.example.trails --store-id 1234567",
    );
    assert_eq!((&added["id"], &added["version"]), (&json!(1), &json!(1)));
    env.ok("apps add --name 'Trails, Android' --platform android --bundle-id com.example.trails");

    let table = env.ok("apps list");
    assert!(table.starts_with("id  name"), "{table}");
    assert!(table.contains("Trails, Android  android"), "{table}");
    let list = env.json("apps list");
    assert_eq!(count(&list), 2);
    assert_eq!(list[0]["store_id"], "1234567");
    assert_eq!(
        (&list[1]["platform"], &list[1]["active"]),
        (&json!("android"), &json!(true))
    );
    let rows = csv_rows(&env.ok("apps list --format csv"));
    assert_eq!(
        rows,
        [
            [
                "id",
                "name",
                "platform",
                "bundle_id",
                "store_id",
                "credential",
                "active"
            ],
            [
                "1",
                "Trail Maps",
                "ios",
                "com.example.trails",
                "1234567",
                "",
                "true"
            ],
            [
                "2",
                "Trails, Android",
                "android",
                "com.example.trails",
                "",
                "",
                "true"
            ],
        ]
    );

    // Only the flags given change; the version grows with every change.
    let updated = env.json("apps update ios:com.example.trails --name Trails");
    assert_eq!(
        (&updated["name"], &updated["store_id"]),
        (&json!("Trails"), &json!("1234567"))
    );
    assert_eq!(updated["version"], 2);
    let shown = env.ok("apps show Trails");
    assert!(
        shown.contains("name        Trails\n") && shown.contains("version     2\n"),
        "{shown}"
    );
    assert_eq!(
        env.json("apps update 1 --store-id none")["store_id"],
        Value::Null
    );

    let off = env.json("apps disable android:com.example.trails");
    assert_eq!(off["active"], false);
    let on = env.json("apps enable 2");
    assert_eq!((&on["active"], &on["version"]), (&json!(true), &json!(3)));
    assert!(
        env.ok("apps remove 2")
            .contains("removed app 2 (Trails, Android)")
    );
    assert_eq!(count(&env.json("apps list")), 1);

    // Bad input: the flag and the value are named, nothing is stored.
    let add = "apps add --name X --bundle-id";
    env.fails(
        &format!("{add} com..x --platform ios"),
        &["--bundle-id", "com..x"],
    );
    env.fails(
        &format!("{add} a.b --platform windows"),
        &["--platform", "windows", "ios, android"],
    );
    env.fails(
        &format!("{add} a.b --platform android --store-id 42"),
        &["--store-id", "42"],
    );
    env.fails(
        &format!("{add} a.b --platform ios --store-id 4x"),
        &["--store-id", "4x"],
    );
    env.fails(
        "apps add --name Trails --platform ios --bundle-id a.b",
        &["Trails"],
    );
    env.fails("apps show nothing.here", &["nothing.here"]);
    env.fails("apps update 1 --name ' '", &["--name"]);
    assert_eq!(count(&env.json("apps list")), 1);
}

#[test]
fn credentials_are_sealed_and_never_printed() {
    let env = Env::new();
    let key = TestKey::generate("entities");
    let pem = key.private_pem.expose_secret().to_owned();
    let planted_key = pem.lines().nth(1).unwrap().to_owned();
    let p8 = env.write("AuthKey.p8", &pem);
    let planted_account = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7PLANTED";
    let account = json!({
        "type": "service_account",
        "client_email": "reader@project.iam.gserviceaccount.com",
        "private_key": format!("-----BEGIN PRIVATE KEY-----\n{planted_account}\n-----END PRIVATE KEY-----\n"),
    });
    let account_file = env.write("account.json", &account.to_string());
    let ios = |key_id: &str, key_file: &str| {
        format!(
            "credentials add --name x --platform ios --issuer-id {} --key-id {key_id} --private-key-file {key_file} --vendor-number 80012345",
            key.issuer_id
        )
    };
    let android = |file: &str, bucket: &str| {
        format!(
            "credentials add --name x --platform android --service-account-file {file} {bucket}"
        )
    };

    let apple = env.json(&ios(&key.key_id, &p8).replace("--name x", "--name 'App Store Connect'"));
    assert_eq!(apple["kind"], "app_store_connect");
    assert_eq!(apple["fingerprint"].as_str().unwrap().len(), 12);
    env.ok(
        &android(&account_file, "--bucket pubsite_prod_rev_0123456789")
            .replace("--name x", "--name 'Google Play'"),
    );

    let rows = csv_rows(&env.ok("credentials list --format csv"));
    assert_eq!(
        rows[0],
        [
            "id",
            "name",
            "platform",
            "kind",
            "fingerprint",
            "sealed_with"
        ]
    );
    assert_eq!(rows[2][1..4], ["Google Play", "android", "google_play"]);
    assert!(
        env.ok("credentials list")
            .contains("App Store Connect  ios")
    );
    env.ok("credentials show 'Google Play'");
    assert_eq!(
        env.json("credentials show 1")["fingerprint"],
        apple["fingerprint"]
    );

    // A new vendor number re-seals the config; the key stays and the fingerprint changes.
    let updated = env.json("credentials update 'App Store Connect' --vendor-number 80099999");
    assert_eq!(updated["version"], 2);
    assert_ne!(updated["fingerprint"], apple["fingerprint"]);

    // Apps link to a credential of their platform.
    env.ok("apps add --name Trails --platform ios --bundle-id com.example.trails");
    env.fails(
        "apps update Trails --credential 'Google Play'",
        &["--credential", "Google Play", "ios"],
    );
    let linked = env.json("apps update Trails --credential 'App Store Connect'");
    assert_eq!(linked["credential"], "App Store Connect");
    env.fails(
        "credentials remove 'App Store Connect'",
        &["app 1 (Trails)"],
    );

    // Bad input names the flag and the value, never the key.
    env.fails(
        &ios(&key.key_id, "missing.p8"),
        &["--private-key-file", "missing.p8"],
    );
    env.fails(&ios("short", &p8), &["--key-id", "short"]);
    let not_a_key = env.write("wrong.p8", &format!("{planted_key}\n"));
    env.fails(&ios(&key.key_id, &not_a_key), &["--private-key-file"]);
    let malformed = env.write(
        "bad.json",
        &format!("{{\"private_key\": \"{planted_account}\", oops"),
    );
    env.fails(
        &android(&malformed, "--bucket pubsite_prod_rev_1"),
        &["--service-account-file", "bad.json", "not valid JSON"],
    );
    let user = env.write(
        "user.json",
        &json!({"type": "authorized_user", "x": planted_account}).to_string(),
    );
    env.fails(
        &android(&user, "--bucket pubsite_prod_rev_1"),
        &["authorized_user"],
    );
    env.fails(
        &android(&account_file, "--bucket 'Bad Bucket'"),
        &["--bucket", "Bad Bucket"],
    );
    env.fails(&android(&account_file, ""), &["--bucket is required"]);
    env.fails(
        "credentials update 'Google Play' --key-id 2X9R4HXF34",
        &["--key-id does not apply"],
    );

    env.ok("apps update Trails --credential none");
    env.ok("credentials remove 'App Store Connect'");
    assert_eq!(count(&env.json("credentials list")), 1);
    env.assert_never_shown(&planted_key);
    env.assert_never_shown(planted_account);
}

#[test]
fn a_secret_needs_a_master_key() {
    let mut env = Env::new();
    env.master_key = None;
    env.fails(
        "channels add --name bot --kind lark-webhook --webhook-url https://open.feishu.cn/open-apis/bot/v2/hook/abc",
        &["no master key", "STOREWATCH_MASTER_KEY"],
    );
    let account = env.write("a.json", r#"{"type":"service_account"}"#);
    env.fails(
        &format!("credentials add --name gp --platform android --service-account-file {account} --bucket pubsite_prod_rev_1"),
        &["no master key", "STOREWATCH_MASTER_KEY"],
    );
    // Records without secrets need none.
    env.ok("apps add --name T --platform ios --bundle-id a.b");
}

#[test]
fn channels_are_sealed_tested_against_lark_and_never_printed() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let lark = runtime.block_on(FakeLark::start()).unwrap();
    let (token, signing, app_secret) = (
        "plantedwebhooktoken0123",
        "plantedsigning",
        "plantedappsecret",
    );
    let options = WebhookOptions {
        secret: Some(signing.to_owned()),
        ..Default::default()
    };
    lark.add_webhook(token, options);
    lark.add_spreadsheet("cli_test01", app_secret, "shtcnTest0123456789", "tab1");
    let env = Env::new();
    let hook = format!("https://open.feishu.cn/open-apis/bot/v2/hook/{token}");
    let url = env.write("webhook", &format!("{hook}\n"));
    let base = lark.base_url();

    // The URL from a file, the signing secret from the environment, the app secret from a file.
    let bot = env.ok_with(
        &format!("channels add --name 'Growth bot' --kind lark-webhook --webhook-url-file {url} --base-url {base} --format json"),
        &[("STOREWATCH_LARK_WEBHOOK_SECRET", signing)],
    );
    let bot: Value = serde_json::from_str(&bot).unwrap();
    assert_eq!(bot["kind"], "lark_webhook");
    let secret_file = env.write("app-secret", app_secret);
    env.ok(&format!(
        "channels add --name 'KPI sheet' --kind lark-sheet --app-id cli_test01 --app-secret-file {secret_file} --spreadsheet-token shtcnTest0123456789 --sheet-id tab1 --base-url {base}"
    ));

    let sent = env.ok("channels test 'Growth bot'");
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
    env.ok("channels test 'KPI sheet'");
    let rows = lark.rows("shtcnTest0123456789", "tab1");
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0][3], "storewatch test");

    let rows = csv_rows(&env.ok("channels list --format csv"));
    assert_eq!(
        rows[0],
        ["id", "name", "kind", "fingerprint", "sealed_with", "active"]
    );
    assert_eq!(rows[2][1..3], ["KPI sheet", "lark_sheet"]);
    assert_eq!(env.json("channels list")[0]["name"], "Growth bot");
    env.ok("channels list");
    env.ok("channels show 'Growth bot'");

    // Signing turned off: the fake refuses the unsigned message; turned on again, it passes.
    let unsigned = env.json("channels update 1 --no-secret");
    assert_ne!(unsigned["fingerprint"], bot["fingerprint"]);
    env.fails("channels test 1", &["channel 1 (Growth bot)"]);
    env.ok(&format!(
        "channels update 1 --name 'Growth team' --secret {signing}"
    ));
    env.ok("channels test 'Growth team'");
    assert_eq!(lark.received().len(), 2);
    assert_eq!(env.json("channels disable 'Growth team'")["active"], false);

    // Errors name the flag and never repeat the URL.
    let add = "channels add --name x --kind";
    env.fails(
        &format!("{add} lark-webhook --webhook-url https://hooks.example.com/open-apis/bot/v2/hook/{token}"),
        &["--webhook-url", "https://hooks.example.com/…"],
    );
    env.fails(
        &format!("{add} lark-webhook --webhook-url {hook}x/y"),
        &["--webhook-url", "/open-apis/bot/v2/hook/<token>"],
    );
    env.fails(
        &format!("{add} lark-sheet --webhook-url-file {url}"),
        &["--webhook-url does not apply to a lark_sheet channel"],
    );
    env.fails(
        &format!("{add} lark-webhook --webhook-url-file {url} --webhook-url {hook}"),
        &["--webhook-url-file", "give one"],
    );
    env.fails(
        &format!("{add} lark-webhook --webhook-url-file {url} --secret ' '"),
        &["--secret"],
    );
    env.fails(
        &format!("{add} lark-sheet --app-id nope --app-secret s --spreadsheet-token shtcnTest0123456789 --sheet-id t"),
        &["--app-id", "nope"],
    );
    env.fails(
        &format!(
            "{add} lark-sheet --app-id cli_x --spreadsheet-token shtcnTest0123456789 --sheet-id t"
        ),
        &["--app-secret is required"],
    );
    env.fails(&format!("{add} slack"), &["--kind", "slack"]);

    env.ok("channels remove 'KPI sheet'");
    for secret in [token, signing, app_secret] {
        env.assert_never_shown(secret);
    }
}

#[test]
fn rules_and_reports_are_managed_and_refer_to_apps_and_channels() {
    let env = Env::new();
    env.ok("apps add --name Trails --platform ios --bundle-id com.example.trails");
    env.ok("channels add --name bot --kind lark-webhook --webhook-url https://open.feishu.cn/open-apis/bot/v2/hook/t0ken");

    let rule = env.json(
        "rules add --name 'Downloads fell' --metric downloads --app Trails --condition pct-change --window wow --direction down --threshold-pct 30 --severity critical --channel bot --mention all --mention ou_3f9a0b --for-days 2 --cooldown 12h --min-baseline 100 --notify-resolved",
    );
    assert_eq!(rule["condition"], "falls by at least 30% week over week");
    assert_eq!(
        (&rule["app"], &rule["channel"]),
        (&json!("Trails"), &json!("bot"))
    );
    assert_eq!(rule["mentions"], json!(["all", "ou_3f9a0b"]));
    assert_eq!(
        (&rule["for_days"], &rule["cooldown"]),
        (&json!(2), &json!("12h"))
    );
    assert_eq!(
        (&rule["min_baseline"], &rule["notify_resolved"]),
        (&json!(100.0), &json!(true))
    );
    env.ok("rules add --name 'Crash rate' --metric crash_rate --condition absolute --op above --value 0.02 --channel 1");

    // A parameter alone changes the current condition; a new kind takes its own.
    let changed = env.json("rules update 'Downloads fell' --threshold-pct 45");
    assert_eq!(changed["condition"], "falls by at least 45% week over week");
    assert_eq!(changed["severity"], "critical");
    let anomaly = env.json(
        "rules update 1 --condition anomaly --z 4 --all-apps --notify-resolved=false --no-mentions",
    );
    assert!(
        anomaly["condition"]
            .as_str()
            .unwrap()
            .contains("at least 4 seasonal")
    );
    assert_eq!(
        (&anomaly["app"], &anomaly["notify_resolved"]),
        (&json!("all"), &json!(false))
    );
    assert_eq!(anomaly["mentions"], json!([]));
    let rows = csv_rows(&env.ok("rules list --format csv"));
    assert_eq!(rows.len(), 3);
    assert_eq!(
        rows[2][1..7],
        [
            "Crash rate",
            "all",
            "crash_rate",
            "",
            "is above 0.02",
            "warning"
        ]
    );
    env.ok("rules list");
    assert_eq!(env.json("rules disable 'Crash rate'")["active"], false);
    env.ok("rules enable 'Crash rate'");

    let add = "rules add --name r --metric downloads";
    env.fails(
        &format!("{add} --condition anomaly --channel nobody"),
        &["--channel", "nobody"],
    );
    let add = format!("{add} --channel bot --condition");
    env.fails(
        &format!("{add} absolute --window wow"),
        &["--window applies to --condition pct-change"],
    );
    env.fails(
        &format!("{add} pct-change --window wow"),
        &["--threshold-pct is required"],
    );
    env.fails(
        &format!("{add} pct-change --window wow --threshold-pct -3"),
        &["--threshold-pct", "-3"],
    );
    env.fails(
        &format!("{add} anomaly --mention bob"),
        &["--mention", "bob"],
    );
    env.fails(
        &format!("{add} anomaly --cooldown soon"),
        &["--cooldown", "soon"],
    );
    env.fails(
        &format!("{add} anomaly --window monthly"),
        &["--window", "monthly"],
    );
    env.fails(&format!("{add} anomaly --for-days 0"), &["--for-days", "0"]);
    env.fails(
        &format!("{add} anomaly --segment EUR"),
        &["--segment", "EUR"],
    );
    env.fails(
        "rules update 1 --metric Bad-Metric",
        &["--metric", "Bad-Metric"],
    );

    let report = env.json(
        "reports add --name Daily --metric downloads,active_devices --metric crash_rate --channel bot",
    );
    assert_eq!(
        report["metrics"],
        json!(["downloads", "active_devices", "crash_rate"])
    );
    assert_eq!(
        (&report["channels"], &report["app"]),
        (&json!(["bot"]), &json!("all"))
    );
    let updated = env.json("reports update Daily --metric downloads --app Trails");
    assert_eq!(
        (&updated["metrics"], &updated["app"]),
        (&json!(["downloads"]), &json!("Trails"))
    );
    let rows = csv_rows(&env.ok("reports list --format csv"));
    assert_eq!(
        rows[0],
        ["id", "name", "app", "metrics", "channels", "active"]
    );
    assert_eq!(rows[1][1..4], ["Daily", "Trails", "[\"downloads\"]"]);
    env.ok("reports disable Daily");
    env.fails("reports add --name Empty --channel bot", &["--metric"]);
    env.fails(
        "reports add --name R --metric downloads --channel ghost",
        &["--channel", "ghost"],
    );

    // What is referred to cannot be removed.
    env.fails(
        "channels remove bot",
        &["rule 1 (Downloads fell)", "report 1 (Daily)"],
    );
    env.fails("apps remove Trails", &["report 1 (Daily)"]);
    env.ok("reports remove Daily");
    env.ok("rules remove 1");
    env.ok("rules remove 'Crash rate'");
    env.ok("channels remove bot");
    env.ok("apps remove Trails");
    assert_eq!(env.json("rules list"), json!([]));
}

#[test]
fn schedules_are_managed_with_their_next_fire_time() {
    let env = Env::new();
    let added = env.json(
        "schedules add --name Morning --task full-analysis --weekly mon --at 06:30 --tz Europe/Berlin --max-retries 5 --timeout 45m",
    );
    assert_eq!(added["frequency"], "weekly on Mon");
    assert_eq!(
        (&added["at"], &added["timezone"]),
        (&json!("06:30"), &json!("Europe/Berlin"))
    );
    assert_eq!(
        (&added["max_retries"], &added["timeout"]),
        (&json!(5), &json!("45m"))
    );
    assert_eq!(
        (&added["misfire_grace"], &added["target_offset_days"]),
        (&json!("1h"), &json!(1))
    );
    let next = chrono::DateTime::parse_from_rfc3339(added["next_fire"].as_str().unwrap()).unwrap();
    assert_eq!(next.format("%a %H:%M").to_string(), "Mon 06:30");

    env.ok("schedules add --name Collect --task data-collection --daily --at 02:00 --tz UTC --skip-notifications");
    let rows = csv_rows(&env.ok("schedules list --format csv"));
    assert_eq!(
        rows[0][..8],
        [
            "id",
            "name",
            "task",
            "app",
            "frequency",
            "at",
            "timezone",
            "next_fire"
        ]
    );
    assert_eq!(
        rows[2][1..7],
        ["Collect", "data-collection", "all", "daily", "02:00", "UTC"]
    );
    assert_eq!(rows[2][8..10], ["true", "true"]);
    env.ok("schedules list");

    let updated = env.json("schedules update Morning --monthly 31 --at 23:59");
    assert_eq!(updated["frequency"], "monthly on day 31");
    assert_eq!(
        (&updated["at"], &updated["max_retries"]),
        (&json!("23:59"), &json!(5))
    );
    assert_eq!(
        env.json("schedules disable Morning")["next_fire"],
        Value::Null
    );
    env.ok("schedules enable 1");

    let add = "schedules add --name S --task alert-check";
    env.fails(
        &format!("{add} --daily --at 25:00 --tz UTC"),
        &["--at", "25:00", "hour 25"],
    );
    env.fails(
        &format!("{add} --daily --at 06:00 --tz Mars/Olympus"),
        &["--tz", "Mars/Olympus"],
    );
    env.fails(
        &format!("{add} --monthly 32 --at 06:00 --tz UTC"),
        &["--monthly", "32"],
    );
    env.fails(
        &format!("{add} --weekly someday --at 06:00 --tz UTC"),
        &["--weekly", "someday"],
    );
    env.fails(
        &format!("{add} --at 06:00 --tz UTC"),
        &["--daily, --weekly or --monthly"],
    );
    env.fails(
        &format!("{add} --daily --weekly mon --at 06:00 --tz UTC"),
        &["--weekly"],
    );
    env.fails(&format!("{add} --daily --at 06:00"), &["--tz is required"]);
    env.fails(
        &format!("{add} --daily --at 06:00 --tz UTC --timeout 0s"),
        &["--timeout", "0"],
    );
    env.fails(
        "schedules add --name S --task backup --daily --at 06:00 --tz UTC",
        &["--task", "backup", "data-collection"],
    );
    env.fails("schedules update Nope --daily", &["Nope"]);

    env.ok("schedules remove Morning");
    assert_eq!(count(&env.json("schedules list")), 1);
}
