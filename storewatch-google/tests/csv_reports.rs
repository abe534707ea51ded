//! The bulk-report CSV parser over this crate's own fixtures and over the real samples in
//! `../shared/fixtures/real/google/` (see its SOURCES.md).

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns unwrap too

use std::path::PathBuf;

use chrono::NaiveDate;
use storewatch_core::ErrorKind;
use storewatch_core::model::Metric;
use storewatch_google::csv::{ReportKind, decode, parse_overview};

const INSTALLS: [Metric; 4] = [
    Metric::DOWNLOADS,
    Metric::UPDATES,
    Metric::UNINSTALLS,
    Metric::ACTIVE_DEVICES,
];

fn own(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("fixture {} missing: {e}", path.display()))
}

/// The shared real samples, read from the workspace root's `../shared`; their absence is a
/// failure, not a skip.
fn real(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/fixtures/real/google")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "real sample {} is missing ({e}): the workspace must sit next to ../shared (a symlink in the worktree's parent works)",
            path.display()
        )
    })
}

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn values(row: &storewatch_google::csv::ReportRow) -> Vec<Option<f64>> {
    row.values.iter().map(|(_, v)| *v).collect()
}

#[test]
fn own_installs_utf16_with_bom() {
    let bytes = own("installs_com.example.app_202609_overview.csv");
    assert_eq!(
        &bytes[..2],
        &[0xFF, 0xFE],
        "fixture must start with the UTF-16LE BOM"
    );
    // Read as UTF-8 the same bytes would be NUL-riddled; the decoder must not do that.
    let text = decode("installs", &bytes).unwrap();
    assert!(text.starts_with("Date,Package Name,") && !text.contains('\0'));
    let rows = parse_overview(
        "installs_com.example.app_202609_overview.csv",
        &bytes,
        ReportKind::Installs,
        &INSTALLS,
    )
    .unwrap();
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0].date, day(2026, 9, 19));
    assert_eq!(
        values(&rows[0]),
        vec![Some(120.0), Some(330.0), Some(15.0), Some(15400.0)]
    );
    // The unfinished day's zeros are read as zeros (Play restates them later).
    assert_eq!(values(&rows[2]), vec![Some(0.0); 4]);
}

#[test]
fn own_ratings_crlf_na_and_quotes() {
    let bytes = own("ratings_com.example.app_202609_overview.csv");
    let rows = parse_overview(
        "ratings",
        &bytes,
        ReportKind::Ratings,
        &[Metric::RATING_AVG],
    )
    .unwrap();
    let got: Vec<(NaiveDate, Option<f64>)> = rows.iter().map(|r| (r.date, r.values[0].1)).collect();
    assert_eq!(
        got,
        vec![
            (day(2026, 9, 18), Some(4.5)),
            (day(2026, 9, 19), None),
            (day(2026, 9, 20), Some(3.0))
        ]
    );
}

#[test]
fn missing_needed_column_names_object_and_column() {
    let name = "stats/installs/installs_com.example.app_201612_overview.csv";
    let bytes = own("installs_com.example.app_201612_overview.csv");
    let err = parse_overview(name, &bytes, ReportKind::Installs, &INSTALLS).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    let text = err.to_string();
    assert!(
        text.contains(name) && text.contains("\"Update events\""),
        "{text}"
    );
    // Without asking for updates the same file is fine.
    let rows = parse_overview(name, &bytes, ReportKind::Installs, &[Metric::DOWNLOADS]).unwrap();
    assert_eq!(values(&rows[0]), vec![Some(120.0)]);
}

#[test]
fn missing_bom_and_odd_bytes() {
    let bytes = own("installs_com.example.app_202609_overview.csv");
    let rows =
        parse_overview("o", &bytes[2..], ReportKind::Installs, &[Metric::DOWNLOADS]).unwrap();
    assert_eq!(rows.len(), 3);
    let err =
        parse_overview("o", &bytes[..bytes.len() - 1], ReportKind::Installs, &[]).unwrap_err();
    assert!(err.to_string().contains("odd number of bytes"), "{err}");
}

#[test]
fn real_fivetran_installs_overview() {
    let bytes = real("fivetran_seed_stats_installs_overview_DERIVED.csv");
    let rows =
        parse_overview("fivetran installs", &bytes, ReportKind::Installs, &INSTALLS).unwrap();
    assert_eq!(rows.len(), 10);
    let july = rows
        .iter()
        .find(|r| r.date == day(2021, 7, 3))
        .expect("2021-07-03 row");
    assert_eq!(july.package.as_deref(), Some("com.cable.network"));
    assert_eq!(
        values(july),
        vec![Some(23.0), Some(0.0), Some(33.0), Some(164490.0)]
    );
    // 2014 files predate Active Device Installs and the events columns: empty, so missing, never 0.
    let old = rows
        .iter()
        .find(|r| r.date == day(2014, 1, 4))
        .expect("2014-01-04 row");
    assert_eq!(values(old), vec![Some(149.0), None, Some(90.0), None]);
}

#[test]
fn real_fivetran_ratings_overview_with_na() {
    let bytes = real("fivetran_seed_stats_ratings_overview_DERIVED.csv");
    let rows = parse_overview(
        "fivetran ratings",
        &bytes,
        ReportKind::Ratings,
        &[Metric::RATING_AVG],
    )
    .unwrap();
    assert_eq!(rows.len(), 10);
    let na = rows.iter().filter(|r| r.values[0].1.is_none()).count();
    assert_eq!(na, 4, "the NA days stay missing");
    assert_eq!(rows[0].values[0].1, Some(3.0));
    assert_eq!(rows[1].values[0].1, Some(3.5));
    let country = real("fivetran_seed_stats_ratings_country_DERIVED.csv");
    let rows = parse_overview(
        "fivetran ratings country",
        &country,
        ReportKind::Ratings,
        &[Metric::RATING_AVG],
    )
    .unwrap();
    assert!(!rows.is_empty() && rows.iter().all(|r| r.values[0].1.is_none()));
}

#[test]
fn real_samples_lack_installs_columns_for_ratings() {
    // Asking the ratings sample for installs metrics names the first missing column.
    let bytes = real("fivetran_seed_stats_ratings_overview_DERIVED.csv");
    let err = parse_overview(
        "ratings_x_201706_overview.csv",
        &bytes,
        ReportKind::Installs,
        &[Metric::DOWNLOADS],
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("Daily User Installs")
            && err.to_string().contains("ratings_x_201706"),
        "{err}"
    );
}

#[test]
fn utf8_and_utf16_of_real_sample_agree() {
    let bytes = real("fivetran_seed_stats_installs_overview_DERIVED.csv");
    let text = String::from_utf8(bytes.clone()).unwrap();
    let mut utf16 = vec![0xFF, 0xFE];
    utf16.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
    let a = parse_overview("a", &bytes, ReportKind::Installs, &INSTALLS).unwrap();
    let b = parse_overview("b", &utf16, ReportKind::Installs, &INSTALLS).unwrap();
    assert_eq!(a, b);
}
