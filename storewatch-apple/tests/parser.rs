//! The sales parser over the project's own fixtures and over real samples from
//! `../shared/fixtures/real/apple/` (a missing sample fails the test).

#![allow(clippy::unwrap_used)] // test helpers panic on broken fixtures by design

use std::collections::BTreeMap;
use std::io::Write;
use std::str::FromStr;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use storewatch_apple::sales::{SalesSummary, parse_sales_report};
use storewatch_core::ErrorKind;

fn gz(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

fn own(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("fixture {path}: {e}"))
}

fn real(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/../../shared/fixtures/real/apple/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!("real sample {path} is missing ({e}): the workspace needs ../shared beside it")
    })
}

fn dec(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

fn date() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 4, 10).unwrap()
}

fn check_example_app(summary: &SalesSummary) {
    let app = summary.for_app("1111111111", Some("EXAMPLE1"));
    assert_eq!(app.downloads, dec("14"));
    assert_eq!(app.redownloads, dec("2"));
    assert_eq!(app.updates, dec("7"));
    assert_eq!(
        app.iap_units,
        dec("7"),
        "5 - 2 (refund) + 3 new + 1 renewal"
    );
    assert_eq!(app.refunded_units, dec("2"));
    assert_eq!(app.restores, dec("1"));
    assert_eq!(app.subscriptions_new, dec("3"));
    assert_eq!(app.subscription_renewals, dec("1"));
    let proceeds: BTreeMap<String, Decimal> = [
        ("USD".to_owned(), dec("2.10")),
        ("EUR".to_owned(), dec("19.56")),
    ]
    .into();
    assert_eq!(
        app.proceeds, proceeds,
        "refunds subtract; one amount per currency"
    );
    let other = summary.for_app("2222222222", Some("OTHER2"));
    assert_eq!(other.downloads, dec("6"));
    assert_eq!(other.iap_units, dec("0"));
    // Without its SKU an app keeps its own rows only.
    assert_eq!(summary.for_app("1111111111", None).iap_units, dec("0"));
}

#[test]
fn refunds_and_in_app_rows_go_to_the_parent_app() {
    let summary = parse_sales_report(&gz(&own("refunds_28col.tsv")), date()).unwrap();
    assert_eq!(summary.rows, 10);
    check_example_app(&summary);
}

#[test]
fn a_duplicated_client_column_is_tolerated() {
    let summary = parse_sales_report(&gz(&own("duplicate_client_29col.tsv")), date()).unwrap();
    check_example_app(&summary);
}

#[test]
fn a_reordered_thirty_column_crlf_variant_with_leading_dot_decimals() {
    let summary =
        parse_sales_report(&gz(&own("thirty_columns_reordered_crlf.tsv")), date()).unwrap();
    assert_eq!(summary.rows, 10);
    check_example_app(&summary);
}

#[test]
fn an_empty_report_is_all_zeros_but_no_header_is_an_error() {
    let summary = parse_sales_report(&gz(&own("empty_header_only.tsv")), date()).unwrap();
    assert_eq!(summary.rows, 0);
    assert_eq!(
        summary.for_app("1111111111", Some("EXAMPLE1")).downloads,
        dec("0")
    );
    let err = parse_sales_report(&gz(b""), date()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.to_string().contains("2026-04-10"), "{err}");
}

#[test]
fn a_non_numeric_unit_names_date_line_and_column() {
    let text = String::from_utf8(own("refunds_28col.tsv")).unwrap();
    let bad: String = text
        .lines()
        .enumerate()
        .map(|(i, l)| if i == 4 { l.replacen("\t7\t", "\tseven\t", 1) } else { l.to_owned() } + "\n")
        .collect();
    let err = parse_sales_report(&gz(bad.as_bytes()), date()).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("2026-04-10")
            && msg.contains("line 5")
            && msg.contains("\"Units\"")
            && msg.contains("seven"),
        "{msg}"
    );
}

#[test]
fn a_truncated_gzip_names_the_date() {
    let full = gz(&own("refunds_28col.tsv"));
    let err = parse_sales_report(&full[..full.len() / 2], date()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(
        err.to_string().contains("sales report for 2026-04-10"),
        "{err}"
    );
    assert!(err.to_string().contains("truncated"), "{err}");
}

/// An independent, naive reading of a TSV: (header, rows as maps).
fn naive(text: &str) -> Vec<BTreeMap<String, String>> {
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split('\t').collect();
    lines
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let mut m = BTreeMap::new();
            for (h, v) in header.iter().zip(l.split('\t')) {
                m.entry(h.to_string())
                    .or_insert_with(|| v.trim().to_owned());
            }
            m
        })
        .collect()
}

#[test]
fn real_28_column_daily_summary() {
    let bytes = real("appstore-sdk-go_sales_summary_daily_28col.tsv");
    let d = NaiveDate::from_ymd_opt(2020, 10, 5).unwrap();
    let summary = parse_sales_report(&gz(&bytes), d).unwrap();
    let rows = naive(std::str::from_utf8(&bytes).unwrap());
    assert_eq!(summary.rows, rows.len() as u64);
    assert_eq!(rows.len(), 46);
    // Per app (Apple Identifier) for app rows, per parent SKU for IAY rows.
    let mut by_id: BTreeMap<String, (Decimal, Decimal, Decimal)> = BTreeMap::new();
    let mut iay = Decimal::ZERO;
    let mut proceeds: BTreeMap<String, Decimal> = BTreeMap::new();
    for r in &rows {
        let units = dec(&r["Units"]);
        let e = by_id.entry(r["Apple Identifier"].clone()).or_default();
        match r["Product Type Identifier"].as_str() {
            "1" => e.0 += units,
            "3" => e.1 += units,
            "7" => e.2 += units,
            "IAY" => {
                assert_eq!(r["Parent Identifier"], "foo.bar.baz");
                iay += units;
            }
            other => panic!("unexpected type {other}"),
        }
        let amount = units * dec(&r["Developer Proceeds"]);
        if !amount.is_zero() {
            *proceeds
                .entry(r["Currency of Proceeds"].clone())
                .or_default() += amount;
        }
    }
    for (id, (dl, re, up)) in &by_id {
        let app = summary.for_app(id, None);
        assert_eq!(
            (app.downloads, app.redownloads, app.updates),
            (*dl, *re, *up),
            "app {id}"
        );
    }
    let total = summary.grand_total();
    assert_eq!(total.iap_units, iay);
    assert!(iay > Decimal::ZERO);
    assert_eq!(total.proceeds, proceeds);
    assert!(
        total.proceeds.contains_key("RUB"),
        "proceeds stay in their currency"
    );
    // Every IAY row is attributed to its parent's SKU.
    assert_eq!(summary.for_app("none", Some("foo.bar.baz")).iap_units, iay);
}

#[test]
fn real_22_column_older_layout() {
    let bytes = real("itunes_connect-autoingestion_sales_summary_daily_22col.tsv");
    let d = NaiveDate::from_ymd_opt(2015, 2, 28).unwrap();
    let summary = parse_sales_report(&gz(&bytes), d).unwrap();
    assert_eq!(summary.rows, 2);
    assert_eq!(
        summary.for_app("123456789", Some("AwesomeApp")).downloads,
        dec("1")
    );
    assert_eq!(
        summary.for_app("234567890", Some("SuperCoolApp")).updates,
        dec("1")
    );
    assert!(
        summary.grand_total().proceeds.is_empty(),
        "free apps have no proceeds"
    );
}

#[test]
fn real_files_that_are_not_sales_summaries_are_refused_by_name() {
    for (file, missing) in [
        (
            "parseitc_legacy2010_daily_27col_demo1.txt",
            "Developer Proceeds",
        ),
        ("appstore-sdk-go_financial_zz.tsv", "Units"),
        (
            "appstore-sdk-go_subscription_summary.tsv",
            "Product Type Identifier",
        ),
        (
            "appstore-sdk-go_subscription_event.tsv",
            "Product Type Identifier",
        ),
        (
            "appstore-sdk-go_subscriber_detailed.tsv",
            "Product Type Identifier",
        ),
    ] {
        let err = parse_sales_report(&gz(&real(file)), date()).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{file}");
        assert!(err.to_string().contains(missing), "{file}: {err}");
        assert!(err.to_string().contains("line 1"), "{file}: {err}");
    }
}
