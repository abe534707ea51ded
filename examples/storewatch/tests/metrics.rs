//! `storewatch metrics import|export`: CSV round trips exactly, bad rows are refused
//! before anything is written.

#![allow(clippy::unwrap_used)]

mod sandbox;

use sandbox::Sandbox;

const HEADER: &str = "platform,bundle_id,metric,date,segment,value\n";

/// Rows in no particular order, with segments and values that are hard to print.
const ROWS: &str = "\
android,com.example.trails,downloads,2026-01-02,,7400\n\
ios,com.example.trails,proceeds,2026-01-01,currency:USD,12.34\n\
ios,com.example.trails,downloads,2026-01-02,,0.1\n\
ios,com.example.trails,proceeds,2026-01-01,currency:EUR,0.30000000000000004\n\
ios,com.example.trails,downloads,2026-01-01,country:US,-3\n\
ios,com.example.trails,downloads,2026-01-01,,1e-7\n\
android,com.example.trails,crash_rate,2026-01-01,,0.0081\n\
ios,com.example.trails,proceeds,2026-01-02,\"currency:USD,x\",123456789012345680000\n\
android,com.example.trails,downloads,2026-01-01,,7399.5\n";

/// The export of [`ROWS`]: ios first, then by bundle id, metric, date and segment;
/// numbers in the shortest form that reads back the same.
const EXPORTED: &str = "\
platform,bundle_id,metric,date,segment,value\n\
ios,com.example.trails,downloads,2026-01-01,,0.0000001\n\
ios,com.example.trails,downloads,2026-01-01,country:US,-3\n\
ios,com.example.trails,downloads,2026-01-02,,0.1\n\
ios,com.example.trails,proceeds,2026-01-01,currency:EUR,0.30000000000000004\n\
ios,com.example.trails,proceeds,2026-01-01,currency:USD,12.34\n\
ios,com.example.trails,proceeds,2026-01-02,\"currency:USD,x\",123456789012345680000\n\
android,com.example.trails,crash_rate,2026-01-01,,0.0081\n\
android,com.example.trails,downloads,2026-01-01,,7399.5\n\
android,com.example.trails,downloads,2026-01-02,,7400\n";

#[test]
fn import_then_export_round_trips_exactly() {
    let sb = Sandbox::new();
    let file = sb.write("points.csv", &format!("{HEADER}{ROWS}"));
    let out = sb.ok(&["metrics", "import", "--create-apps", file.to_str().unwrap()]);
    assert!(
        out.contains("created app \"com.example.trails\" (ios:com.example.trails")
            && out.contains(
                "created app \"com.example.trails (android)\" (android:com.example.trails"
            ),
        "{out}"
    );
    assert!(out.contains("imported 9 points of 2 apps"), "{out}");

    let exported = sb.ok(&["metrics", "export"]);
    assert_eq!(exported, EXPORTED);

    // Importing again changes nothing (an upsert), and needs no --create-apps.
    let out = sb.ok(&["metrics", "import", file.to_str().unwrap()]);
    assert!(out.contains("imported 9 points of 2 apps"), "{out}");
    assert!(!out.contains("created app"), "{out}");
    assert_eq!(sb.ok(&["metrics", "export"]), EXPORTED);

    // The export imports into another database and exports the same text.
    let other = Sandbox::new();
    let moved = other.write("moved.csv", &exported);
    other.ok(&[
        "metrics",
        "import",
        "--create-apps",
        moved.to_str().unwrap(),
    ]);
    assert_eq!(other.ok(&["metrics", "export"]), EXPORTED);

    // A later import replaces a value.
    let fix = sb.write(
        "fix.csv",
        &format!("{HEADER}android,com.example.trails,downloads,2026-01-02,,7401\n"),
    );
    sb.ok(&["metrics", "import", fix.to_str().unwrap()]);
    assert_eq!(
        sb.ok(&["metrics", "export"]),
        EXPORTED.replace(",7400\n", ",7401\n")
    );
}

#[test]
fn export_filters_by_app_metric_and_days() {
    let sb = Sandbox::new();
    let file = sb.write("points.csv", &format!("{HEADER}{ROWS}"));
    sb.ok(&["metrics", "import", "--create-apps", file.to_str().unwrap()]);
    let only = |args: &[&str]| {
        let mut all = vec!["metrics", "export"];
        all.extend_from_slice(args);
        sb.ok(&all)
    };
    let lines = |text: &str, keep: &dyn Fn(&str) -> bool| -> String {
        text.lines()
            .enumerate()
            .filter(|(i, l)| *i == 0 || keep(l))
            .map(|(_, l)| format!("{l}\n"))
            .collect()
    };
    assert_eq!(
        only(&["--app", "android:com.example.trails"]),
        lines(EXPORTED, &|l| l.starts_with("android,"))
    );
    assert_eq!(
        only(&["--metric", "downloads", "--metric", "crash_rate"]),
        lines(EXPORTED, &|l| !l.contains(",proceeds,"))
    );
    assert_eq!(
        only(&["--from", "2026-01-02"]),
        lines(EXPORTED, &|l| l.contains(",2026-01-02,"))
    );
    assert_eq!(
        only(&[
            "--to",
            "2026-01-01",
            "--app",
            "com.example.trails (android)"
        ]),
        lines(EXPORTED, &|l| l.starts_with("android,")
            && l.contains(",2026-01-01,"))
    );
    let (_, err) = sb.fails(&[
        "metrics",
        "export",
        "--from",
        "2026-01-03",
        "--to",
        "2026-01-01",
    ]);
    assert!(
        err.contains("--from") && err.contains("2026-01-03"),
        "{err}"
    );
    let (_, err) = sb.fails(&["metrics", "export", "--app", "com.example.none"]);
    assert!(err.contains("com.example.none"), "{err}");
    let (_, err) = sb.fails(&["metrics", "export", "--from", "2026-13-01"]);
    assert!(
        err.contains("--from") && err.contains("2026-13-01"),
        "{err}"
    );
}

#[test]
fn a_bad_row_fails_the_import_and_writes_nothing() {
    let sb = Sandbox::new();
    let seed = sb.write(
        "seed.csv",
        &format!("{HEADER}ios,com.example.trails,downloads,2026-01-01,,5\n"),
    );
    sb.ok(&["metrics", "import", "--create-apps", seed.to_str().unwrap()]);
    let before = sb.ok(&["metrics", "export"]);

    // Good rows first, so a row-by-row import would have written them.
    let good = "ios,com.example.trails,downloads,2026-01-02,,6\n\
                ios,com.example.trails,downloads,2026-01-03,,7\n";
    for (row, needles) in [
        (
            "ios,com.example.trails,downloads,2026-02-30,,8",
            &[
                "bad.csv, line 4, column date: invalid date \"2026-02-30\": expected a day as YYYY-MM-DD",
            ][..],
        ),
        (
            "ios,com.example.trails,downloads,2026-01-04,,eight",
            &["bad.csv, line 4, column value: invalid value \"eight\": expected a finite number"],
        ),
        (
            "windows,com.example.trails,downloads,2026-01-04,,8",
            &[
                "bad.csv, line 4, column platform: invalid platform \"windows\": expected \"ios\" or \"android\"",
            ],
        ),
        (
            "android,com.example.trails,downloads,2026-01-04,,8",
            &[
                "bad.csv, line 4, column bundle_id: no android app has the bundle id \"com.example.trails\"",
                "--create-apps",
            ],
        ),
        (
            "ios,com.example.trails,downloads,2026-01-02,,9",
            &["bad.csv, line 4: the same app, metric, date and segment as line 2"],
        ),
    ] {
        let file = sb.write("bad.csv", &format!("{HEADER}{good}{row}\n"));
        let (stdout, stderr) = sb.fails(&["metrics", "import", file.to_str().unwrap()]);
        for needle in needles {
            assert!(stderr.contains(needle), "{needle:?} missing in:\n{stderr}");
        }
        assert!(stdout.is_empty(), "{stdout}");
        assert_eq!(
            sb.ok(&["metrics", "export"]),
            before,
            "nothing imported for {row}"
        );
    }

    // With --create-apps, a bad row after a new app's rows creates no app either.
    let file = sb.write(
        "bad.csv",
        &format!(
            "{HEADER}android,com.example.new,downloads,2026-01-01,,1\nios,com.example.trails,downloads,2026-01-01,,x\n"
        ),
    );
    let (_, stderr) = sb.fails(&["metrics", "import", "--create-apps", file.to_str().unwrap()]);
    assert!(stderr.contains("line 3, column value"), "{stderr}");
    let config = sb.ok(&["config", "export"]);
    assert!(!config.contains("com.example.new"), "{config}");

    let (_, stderr) = sb.fails(&["metrics", "import", "missing.csv"]);
    assert!(stderr.contains("cannot read missing.csv"), "{stderr}");
}
