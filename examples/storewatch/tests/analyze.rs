//! `storewatch analyze`: the DESIGN §5 columns for series imported as CSV, checked
//! against values computed by hand.

#![allow(clippy::unwrap_used)]

mod sandbox;

use chrono::{Days, NaiveDate};
use sandbox::Sandbox;
use serde_json::Value;

const COLUMNS: &str = "platform,bundle_id,metric,segment,value,prev_day,dod_pct,prev_week,wow_pct,prev_year,yoy_pct,avg_7d,avg_28d,seasonal_median,seasonal_mad,seasonal_z";

fn day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 3, 1).unwrap()
}

fn back(n: u64) -> NaiveDate {
    day() - Days::new(n)
}

/// Three series and one without a value on D:
/// - ios downloads: 400 days, v(D − n) = 400 − n (so D−364 exists);
/// - android crash_rate: D = 0.05, D−7 = 0 (no wow), D−14 = 0.02, D−21 = 0.04,
///   D−28 = 0.03; D−1 missing (no dod);
/// - ios sessions: D = 10 and four previous same weekdays at 5 (MAD 0: no z);
/// - ios updates: only D−1 (no row).
fn csv() -> String {
    let mut out = String::from("platform,bundle_id,metric,date,segment,value\n");
    for n in 0..400u64 {
        out += &format!(
            "ios,com.example.trails,downloads,{},,{}\n",
            back(n),
            400 - n
        );
    }
    for (n, v) in [
        (0, "0.05"),
        (7, "0"),
        (14, "0.02"),
        (21, "0.04"),
        (28, "0.03"),
    ] {
        out += &format!("android,com.example.trails,crash_rate,{},,{v}\n", back(n));
    }
    for (n, v) in [(0, 10), (7, 5), (14, 5), (21, 5), (28, 5)] {
        out += &format!("ios,com.example.trails,sessions,{},,{v}\n", back(n));
    }
    out += &format!("ios,com.example.trails,updates,{},,3\n", back(1));
    out
}

fn sandbox() -> Sandbox {
    let sb = Sandbox::new();
    let file = sb.write("history.csv", &csv());
    sb.ok(&["metrics", "import", "--create-apps", file.to_str().unwrap()]);
    sb
}

fn close(row: &Value, column: &str, expected: Option<f64>) {
    match (row[column].as_f64(), expected) {
        (Some(got), Some(want)) => assert!(
            (got - want).abs() <= 1e-9 * want.abs().max(1.0),
            "{column}: got {got}, expected {want} in {row}"
        ),
        (None, None) => assert!(row[column].is_null(), "{column} should be null in {row}"),
        (got, want) => panic!("{column}: got {got:?}, expected {want:?} in {row}"),
    }
}

#[test]
fn analysis_columns_match_hand_computed_values() {
    let sb = sandbox();
    let json = sb.ok(&["analyze", "--date", "2026-03-01", "--format", "json"]);
    let rows: Vec<Value> = serde_json::from_str(&json).unwrap();
    let keys: Vec<String> = rows
        .iter()
        .map(|r| {
            format!(
                "{} {}",
                r["platform"].as_str().unwrap(),
                r["metric"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        keys,
        ["ios downloads", "ios sessions", "android crash_rate"],
        "ordered by platform, bundle id, metric; no row for a series without v(D)"
    );
    let columns: Vec<&str> = rows[0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let mut expected: Vec<&str> = COLUMNS.split(',').collect();
    expected.sort_unstable();
    let mut got = columns.clone();
    got.sort_unstable();
    assert_eq!(got, expected);

    // ios downloads: v(D − n) = 400 − n.
    let d = &rows[0];
    assert_eq!(d["bundle_id"], "com.example.trails");
    assert_eq!(d["segment"], "");
    close(d, "value", Some(400.0));
    close(d, "prev_day", Some(399.0));
    close(d, "dod_pct", Some(1.0 / 399.0 * 100.0));
    close(d, "prev_week", Some(393.0));
    close(d, "wow_pct", Some(7.0 / 393.0 * 100.0));
    close(d, "prev_year", Some(36.0));
    close(d, "yoy_pct", Some(364.0 / 36.0 * 100.0));
    close(d, "avg_7d", Some(397.0)); // mean of 394..=400
    close(d, "avg_28d", Some(386.5)); // mean of 373..=400
    // v(D − 7k), k = 1..8: 393, 386, …, 344; median (372 + 365) / 2; deviations
    // 24.5, 17.5, 10.5, 3.5, 3.5, 10.5, 17.5, 24.5, sorted 3.5, 3.5, 10.5, 10.5,
    // 17.5, 17.5, 24.5, 24.5 → MAD (10.5 + 17.5) / 2 = 14.
    close(d, "seasonal_median", Some(368.5));
    close(d, "seasonal_mad", Some(14.0));
    close(d, "seasonal_z", Some(31.5 / (1.4826 * 14.0)));

    // ios sessions: four same-weekday values of 5 → median 5, MAD 0, no z.
    let s = &rows[1];
    close(s, "value", Some(10.0));
    close(s, "prev_day", None);
    close(s, "dod_pct", None);
    close(s, "prev_week", Some(5.0));
    close(s, "wow_pct", Some(100.0));
    close(s, "prev_year", None);
    close(s, "yoy_pct", None);
    close(s, "avg_7d", Some(10.0));
    close(s, "avg_28d", Some(25.0 / 4.0));
    close(s, "seasonal_median", Some(5.0));
    close(s, "seasonal_mad", Some(0.0));
    close(s, "seasonal_z", None);

    // android crash_rate: D−1 missing, D−7 = 0 (no percentage from a zero).
    let c = &rows[2];
    assert_eq!(c["platform"], "android");
    close(c, "value", Some(0.05));
    close(c, "prev_day", None);
    close(c, "dod_pct", None);
    close(c, "prev_week", Some(0.0));
    close(c, "wow_pct", None);
    close(c, "prev_year", None);
    close(c, "yoy_pct", None);
    close(c, "avg_7d", Some(0.05));
    close(c, "avg_28d", Some((0.05 + 0.0 + 0.02 + 0.04) / 4.0));
    // 0, 0.02, 0.04, 0.03 → median 0.025; deviations 0.025, 0.005, 0.015, 0.005,
    // sorted 0.005, 0.005, 0.015, 0.025 → MAD (0.005 + 0.015) / 2 = 0.01.
    close(c, "seasonal_median", Some(0.025));
    close(c, "seasonal_mad", Some(0.01));
    close(c, "seasonal_z", Some(0.025 / (1.4826 * 0.01)));
}

#[test]
fn csv_is_the_default_with_empty_fields_for_nulls_and_apps_filter() {
    let sb = sandbox();
    let csv = sb.ok(&["analyze", "--date", "2026-03-01"]);
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some(COLUMNS));
    assert_eq!(
        lines.nth(1),
        Some("ios,com.example.trails,sessions,,10.0,,,5.0,100.0,,,10.0,6.25,5.0,0.0,")
    );

    let only = sb.ok(&[
        "analyze",
        "--date",
        "2026-03-01",
        "--app",
        "android:com.example.trails",
        "--format",
        "csv",
    ]);
    let rows: Vec<&str> = only.lines().skip(1).collect();
    assert_eq!(rows.len(), 1, "{only}");
    assert!(
        rows[0].starts_with("android,com.example.trails,crash_rate,,0.05,,,0.0,,,,"),
        "{only}"
    );

    let table = sb.ok(&["analyze", "--date", "2026-03-01", "--format", "table"]);
    assert!(table.starts_with("platform  bundle_id"), "{table}");
    assert_eq!(table.lines().count(), 4, "{table}");

    // A day without data prints the header only.
    let empty = sb.ok(&["analyze", "--date", "2020-01-01"]);
    assert_eq!(empty, format!("{COLUMNS}\n"));

    let (_, err) = sb.fails(&["analyze", "--date", "yesterday"]);
    assert!(err.contains("--date") && err.contains("yesterday"), "{err}");
    let (_, err) = sb.fails(&[
        "analyze",
        "--date",
        "2026-03-01",
        "--app",
        "com.example.none",
    ]);
    assert!(err.contains("com.example.none"), "{err}");
}
