//! `storewatch config apply|export`: declarative, idempotent, validated before any
//! write, with a dry-run diff and `--prune`.

#![allow(clippy::unwrap_used)]

mod sandbox;

use sandbox::Sandbox;
use storewatch_core::model::Platform;

const CREDENTIALS: [(&str, Platform, &str); 2] = [
    ("App Store Connect", Platform::Ios, "app_store_connect"),
    ("Google Play", Platform::Android, "google_play"),
];
const CHANNELS: [(&str, &str); 2] = [("Growth bot", "lark_webhook"), ("KPI sheet", "lark_sheet")];

/// A sandbox whose credentials and channels exist (the file cannot create them).
fn sandbox() -> Sandbox {
    let sb = Sandbox::new();
    sb.seed_secrets(&CREDENTIALS, &CHANNELS);
    sb
}

const CONFIG: &str = r#"
[[apps]]
name = "Trail Maps"
platform = "ios"
bundle_id = "com.example.trails"
credential = "App Store Connect"

[[apps]]
name = "Trail Maps for Android"
platform = "android"
bundle_id = "com.example.trails.android"

[[credentials]]
name = "App Store Connect"
platform = "ios"
kind = "app_store_connect"

[[channels]]
name = "Growth bot"
kind = "lark_webhook"

[[rules]]
name = "Crash rate too high"
app = "com.example.trails.android"
metric = "crash_rate"
condition = { type = "absolute", op = "above", value = 0.02 }
severity = "warning"
channel = "Growth bot"

[[rules]]
name = "Downloads fell week over week"
metric = "downloads"
condition = { type = "pct_change", window = "wow", direction = "down", threshold_pct = 40 }
severity = "critical"
for_days = 2
cooldown = "6h"
min_baseline = 100
channel = "Growth bot"
mentions = ["all", "ou_3f9a"]
notify_resolved = true

[[reports]]
name = "Daily app metrics"
metrics = ["downloads", "active_devices", "crash_rate"]
channels = ["Growth bot", "KPI sheet"]

[[reports]]
name = "Trails only"
app = "Trail Maps"
metrics = ["downloads"]
channels = ["Growth bot"]
is_active = false

[[schedules]]
name = "Nightly"
task = "full-analysis"
every = "daily"
at = "02:00"
timezone = "Europe/Berlin"

[[schedules]]
name = "Weekly Trails check"
task = "alert-check"
app = "ios:com.example.trails"
every = "weekly"
weekday = "mon"
at = "9:30"
timezone = "America/Los_Angeles"
max_retries = 0
timeout = "90m"

[[schedules]]
name = "Month end"
task = "data-collection"
every = "monthly"
day = 31
at = "23:59"
timezone = "UTC"
target_offset_days = 2
"#;

#[test]
fn apply_creates_everything_and_applying_again_changes_nothing() {
    let sb = sandbox();
    let file = sb.write("config.toml", CONFIG);
    let file = file.to_str().unwrap();

    let out = sb.ok(&["config", "apply", file]);
    for line in [
        "+ app \"ios:com.example.trails\"",
        "+ app \"android:com.example.trails.android\"",
        "+ rule \"Crash rate too high\"",
        "+ report \"Trails only\"",
        "+ schedule \"Month end\"",
        "! credential \"Google Play\": in the database but not in the file (kept; --prune deletes it)",
        "! channel \"KPI sheet\": in the database but not in the file",
        "Plan: 9 to create, 0 to update, 0 to delete, 2 unchanged; 2 not in the file (kept).",
        "Applied: 9 created, 0 updated, 0 deleted.",
    ] {
        assert!(out.contains(line), "missing {line:?} in:\n{out}");
    }

    // The same file again: nothing to do.
    let again = sb.ok(&["config", "apply", file]);
    assert_eq!(
        again,
        "! credential \"Google Play\": in the database but not in the file (kept; --prune deletes it)\n\
         ! channel \"KPI sheet\": in the database but not in the file (kept; --prune deletes it)\n\
         No changes: 11 records unchanged; 2 not in the file (kept).\n"
    );

    // The export is canonical (references as platform:bundle id, every default
    // written) and applies to the same database as a no-op.
    let exported = sb.ok(&["config", "export"]);
    for line in [
        "[[apps]]\nname = \"Trail Maps\"\nplatform = \"ios\"\nbundle_id = \"com.example.trails\"\ncredential = \"App Store Connect\"\nis_active = true\n",
        "app = \"android:com.example.trails.android\"",
        "condition = { type = \"pct_change\", window = \"wow\", direction = \"down\", threshold_pct = 40.0 }",
        "cooldown = \"6h\"",
        "mentions = [\"all\", \"ou_3f9a\"]",
        "weekday = \"monday\"\nat = \"09:30\"\ntimezone = \"America/Los_Angeles\"",
        "timeout = \"1h 30m\"",
        "every = \"monthly\"\nday = 31\nat = \"23:59\"",
        "[[credentials]]\nname = \"Google Play\"\nplatform = \"android\"\nkind = \"google_play\"\n",
        "[[channels]]\nname = \"KPI sheet\"\nkind = \"lark_sheet\"\nis_active = true\n",
    ] {
        assert!(exported.contains(line), "missing {line:?} in:\n{exported}");
    }
    assert!(
        !exported.contains("credential-secret")
            && !exported.contains("channel-secret")
            && !exported.contains("sealed")
            && !exported.contains("v1."),
        "no secret is exported:\n{exported}"
    );
    let export_file = sb.write("exported.toml", &exported);
    let out = sb.ok(&["config", "apply", export_file.to_str().unwrap()]);
    assert_eq!(out, "No changes: 13 records unchanged.\n");
    assert_eq!(sb.ok(&["config", "export"]), exported);

    // Export → apply to another database whose secrets were added in another order →
    // export gives the same text.
    let other = Sandbox::new();
    let mut credentials = CREDENTIALS;
    credentials.reverse();
    let mut channels = CHANNELS;
    channels.reverse();
    other.seed_secrets(&credentials, &channels);
    let moved = other.write("moved.toml", &exported);
    let out = other.ok(&["config", "apply", moved.to_str().unwrap()]);
    assert!(
        out.contains("Applied: 9 created, 0 updated, 0 deleted."),
        "{out}"
    );
    let to_file = other.path("out.toml");
    other.ok(&["config", "export", "--output", to_file.to_str().unwrap()]);
    assert_eq!(std::fs::read_to_string(&to_file).unwrap(), exported);
}

#[test]
fn dry_run_prints_the_diff_and_writes_nothing() {
    let sb = sandbox();
    let file = sb.write("config.toml", CONFIG);
    let out = sb.ok(&["config", "apply", "--dry-run", file.to_str().unwrap()]);
    assert!(out.contains("+ rule \"Crash rate too high\""), "{out}");
    assert!(out.ends_with("Dry run: nothing was changed.\n"), "{out}");
    let exported = sb.ok(&["config", "export"]);
    assert!(!exported.contains("[[apps]]"), "{exported}");
    assert!(!exported.contains("[[rules]]"), "{exported}");

    sb.ok(&["config", "apply", file.to_str().unwrap()]);
    let before = sb.ok(&["config", "export"]);
    let changed = CONFIG
        .replace("at = \"02:00\"", "at = \"03:00\"")
        .replace(
            "name = \"Trail Maps for Android\"",
            "name = \"Trails (Android)\"\nis_active = false",
        )
        .replace("severity = \"warning\"", "severity = \"critical\"");
    let changed = sb.write("changed.toml", &changed);
    let out = sb.ok(&["config", "apply", "--dry-run", changed.to_str().unwrap()]);
    for line in [
        "~ schedule \"Nightly\": at 02:00 → 03:00\n",
        "~ app \"android:com.example.trails.android\":\n    name Trail Maps for Android → Trails (Android)\n    is_active true → false\n",
        "~ rule \"Crash rate too high\": severity warning → critical\n",
        "Plan: 0 to create, 3 to update, 0 to delete, 8 unchanged; 2 not in the file (kept).\n",
        "Dry run: nothing was changed.\n",
    ] {
        assert!(out.contains(line), "missing {line:?} in:\n{out}");
    }
    assert_eq!(
        sb.ok(&["config", "export"]),
        before,
        "a dry run writes nothing"
    );

    let out = sb.ok(&["config", "apply", changed.to_str().unwrap()]);
    assert!(
        out.contains("Applied: 0 created, 3 updated, 0 deleted."),
        "{out}"
    );
    let after = sb.ok(&["config", "export"]);
    assert!(after.contains("at = \"03:00\""), "{after}");
    assert!(after.contains("name = \"Trails (Android)\""), "{after}");
}

#[test]
fn prune_deletes_what_the_file_does_not_name() {
    let sb = sandbox();
    let file = sb.write("config.toml", CONFIG);
    sb.ok(&["config", "apply", file.to_str().unwrap()]);

    // A smaller file: one app, one rule, one report, one schedule fewer.
    let smaller = CONFIG
        .split("\n[[")
        .filter(|block| {
            !block.contains("name = \"Trail Maps for Android\"")
                && !block.contains("name = \"Crash rate too high\"")
                && !block.contains("name = \"Trails only\"")
                && !block.contains("name = \"Month end\"")
        })
        .collect::<Vec<_>>()
        .join("\n[[");
    let smaller = sb.write("smaller.toml", &smaller);
    let smaller = smaller.to_str().unwrap();

    let out = sb.ok(&["config", "apply", smaller]);
    for line in [
        "! app \"android:com.example.trails.android\": in the database but not in the file (kept; --prune deletes it)",
        "! rule \"Crash rate too high\": in the database but not in the file",
        "! report \"Trails only\": in the database but not in the file",
        "! schedule \"Month end\": in the database but not in the file",
        "No changes: 7 records unchanged; 6 not in the file (kept).",
    ] {
        assert!(out.contains(line), "missing {line:?} in:\n{out}");
    }
    assert!(sb.ok(&["config", "export"]).contains("Crash rate too high"));

    // The report the smaller file keeps still sends to "KPI sheet", which pruning
    // would delete: refused before anything is written.
    let (_, err) = sb.fails(&["config", "apply", "--prune", smaller]);
    assert!(
        err.contains("reports[0] \"Daily app metrics\"") && err.contains("\"KPI sheet\""),
        "{err}"
    );
    assert!(sb.ok(&["config", "export"]).contains("Crash rate too high"));

    let consistent = std::fs::read_to_string(smaller).unwrap().replace(
        "channels = [\"Growth bot\", \"KPI sheet\"]",
        "channels = [\"Growth bot\"]",
    );
    let consistent = sb.write("consistent.toml", &consistent);
    let consistent = consistent.to_str().unwrap();
    let out = sb.ok(&["config", "apply", "--prune", "--dry-run", consistent]);
    assert!(out.contains("- rule \"Crash rate too high\"\n"), "{out}");
    assert!(
        out.contains("- app \"android:com.example.trails.android\" (with its metric history and alert states)\n"),
        "{out}"
    );
    assert!(out.contains("- credential \"Google Play\"\n"), "{out}");
    assert!(out.contains("- channel \"KPI sheet\"\n"), "{out}");
    assert!(out.ends_with("Dry run: nothing was changed.\n"), "{out}");
    assert!(sb.ok(&["config", "export"]).contains("Crash rate too high"));
    let out = sb.ok(&["config", "apply", "--prune", consistent]);
    assert!(out.contains("- rule \"Crash rate too high\"\n"), "{out}");
    assert!(
        out.contains("~ report \"Daily app metrics\": channels [\"Growth bot\", \"KPI sheet\"] → [\"Growth bot\"]\n"),
        "{out}"
    );
    assert!(
        out.contains("Applied: 0 created, 1 updated, 6 deleted."),
        "{out}"
    );
    let after = sb.ok(&["config", "export"]);
    for gone in [
        "Crash rate too high",
        "Trails only",
        "Month end",
        "Google Play",
        "KPI sheet",
        "trails.android",
    ] {
        assert!(!after.contains(gone), "{gone} is pruned:\n{after}");
    }
    let out = sb.ok(&["config", "apply", "--prune", consistent]);
    assert_eq!(out, "No changes: 7 records unchanged.\n");
}

/// Applies `text`, expects a failure whose message contains every one of `needles`,
/// and checks that nothing changed.
fn refused(sb: &Sandbox, text: &str, needles: &[&str]) {
    let before = sb.ok(&["config", "export"]);
    let file = sb.write("bad.toml", text);
    let (stdout, stderr) = sb.fails(&["config", "apply", file.to_str().unwrap()]);
    for needle in needles {
        assert!(
            stderr.contains(needle),
            "missing {needle:?} in the error:\n{stderr}"
        );
    }
    assert!(
        stdout.is_empty(),
        "no plan is printed for a bad file: {stdout}"
    );
    assert_eq!(
        sb.ok(&["config", "export"]),
        before,
        "a bad file changes nothing"
    );
}

/// `bad.toml, line N` where N is the line of `text` holding `needle` (the last one).
fn at_line(text: &str, needle: &str) -> String {
    let line = text
        .lines()
        .enumerate()
        .filter(|(_, l)| l.contains(needle))
        .map(|(i, _)| i + 1)
        .last()
        .unwrap();
    format!("bad.toml, line {line}:")
}

/// A valid file with an extra new app first, so a refused file would have written
/// something if it were not validated whole before writing.
fn with_new_app(tail: &str) -> String {
    format!(
        "[[apps]]\nname = \"New\"\nplatform = \"ios\"\nbundle_id = \"com.example.new\"\n{CONFIG}{tail}"
    )
}

#[test]
fn bad_files_name_the_file_line_record_and_field_and_change_nothing() {
    let sb = sandbox();
    let file = sb.write("config.toml", CONFIG);
    sb.ok(&["config", "apply", file.to_str().unwrap()]);

    // Unknown key.
    let text = with_new_app(
        "\n[[rules]]\nname = \"R\"\nmetric = \"downloads\"\nseverity = \"info\"\nchannel = \"Growth bot\"\ncondition = { type = \"absolute\", op = \"above\", value = 1 }\nthreshold = 3\n",
    );
    refused(
        &sb,
        &text,
        &[
            &at_line(&text, "threshold = 3"),
            "key `rules[2].threshold`: unknown field `threshold`",
        ],
    );
    // Wrong type.
    let text = with_new_app(
        "\n[[rules]]\nname = \"R\"\nmetric = \"downloads\"\nseverity = \"info\"\nchannel = \"Growth bot\"\nfor_days = \"two\"\ncondition = { type = \"absolute\", op = \"above\", value = 1 }\n",
    );
    refused(
        &sb,
        &text,
        &[
            &at_line(&text, "for_days = \"two\""),
            "key `rules[2].for_days`",
            "expected u32",
        ],
    );
    let text = with_new_app("").replace("platform = \"android\"", "platform = \"windows\"");
    refused(
        &sb,
        &text,
        &[
            &at_line(&text, "windows"),
            "key `apps[2].platform`",
            "windows",
        ],
    );
    // Unknown references.
    let text = CONFIG.replace(
        "severity = \"warning\"\nchannel = \"Growth bot\"",
        "severity = \"warning\"\nchannel = \"Growth bots\"",
    );
    refused(
        &sb,
        &text,
        &[
            &format!(
                "{} rules[0] \"Crash rate too high\": invalid channel \"Growth bots\"",
                at_line(&text, "Growth bots")
            ),
            "\"Growth bot\", \"KPI sheet\"",
        ],
    );
    let text = with_new_app("").replace("app = \"Trail Maps\"", "app = \"Trail Map\"");
    refused(
        &sb,
        &text,
        &[&format!(
            "{} reports[1] \"Trails only\": invalid app \"Trail Map\"",
            at_line(&text, "Trail Map\"")
        )],
    );
    // Bad values.
    let text = with_new_app("").replace("at = \"02:00\"", "at = \"25:00\"");
    refused(
        &sb,
        &text,
        &[
            &format!(
                "{} schedules[0] \"Nightly\": invalid at \"25:00\"",
                at_line(&text, "25:00")
            ),
            "HH:MM",
        ],
    );
    let text = with_new_app("").replace(
        "timezone = \"Europe/Berlin\"",
        "timezone = \"Mars/Olympus\"",
    );
    refused(
        &sb,
        &text,
        &[&format!(
            "{} schedules[0] \"Nightly\": invalid timezone \"Mars/Olympus\"",
            at_line(&text, "Mars")
        )],
    );
    let text = with_new_app("").replace("threshold_pct = 40", "threshold_pct = -5");
    refused(
        &sb,
        &text,
        &[&format!(
            "{} rules[1] \"Downloads fell week over week\": invalid threshold_pct -5.0",
            at_line(&text, "threshold_pct = -5")
        )],
    );
    let text = with_new_app("").replace(
        "bundle_id = \"com.example.trails.android\"",
        "bundle_id = \"com.example.trails-android\"",
    );
    refused(
        &sb,
        &text,
        &[&format!(
            "{} apps[2] \"Trail Maps for Android\": invalid bundle_id \"com.example.trails-android\"",
            at_line(&text, "trails-android")
        )],
    );
    let text = with_new_app("").replace("weekday = \"mon\"", "weekday = \"funday\"");
    refused(
        &sb,
        &text,
        &[&format!(
            "{} schedules[1] \"Weekly Trails check\": invalid weekday \"funday\"",
            at_line(&text, "funday")
        )],
    );
    // Credentials and channels cannot be created from a file.
    let text = with_new_app(
        "\n[[credentials]]\nname = \"Second key\"\nplatform = \"ios\"\nkind = \"app_store_connect\"\n",
    );
    refused(
        &sb,
        &text,
        &[
            &format!(
                "{} credentials[1] \"Second key\"",
                at_line(&text, "Second key")
            ),
            "storewatch credentials add",
        ],
    );
    let text = with_new_app("\n[[channels]]\nname = \"Ops\"\nkind = \"lark_webhook\"\n");
    refused(
        &sb,
        &text,
        &[
            &format!("{} channels[1] \"Ops\"", at_line(&text, "\"Ops\"")),
            "storewatch channels add",
        ],
    );
    let text = CONFIG.replace("kind = \"app_store_connect\"", "kind = \"google_play\"");
    refused(
        &sb,
        &text,
        &[&format!(
            "{} credentials[0] \"App Store Connect\": invalid kind \"google_play\"",
            at_line(&text, "kind = \"google_play\"")
        )],
    );
    // A credential for the wrong platform.
    let text = CONFIG.replace(
        "bundle_id = \"com.example.trails.android\"",
        "bundle_id = \"com.example.trails.android\"\ncredential = \"App Store Connect\"",
    );
    refused(
        &sb,
        &text,
        &[
            "apps[1] \"Trail Maps for Android\": invalid credential \"App Store Connect\": expected a credential for android",
        ],
    );
    // The same record twice.
    let text = format!(
        "{CONFIG}\n[[schedules]]\nname = \"Nightly\"\ntask = \"alert-check\"\nevery = \"daily\"\nat = \"01:00\"\ntimezone = \"UTC\"\n"
    );
    refused(
        &sb,
        &text,
        &["schedules[3] \"Nightly\"", "already used by schedules[0]"],
    );
    // Not TOML at all.
    refused(&sb, "[[apps]\nname = ", &["bad.toml, line 1"]);
}
