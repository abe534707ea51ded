//! Apple sales report parse + aggregate throughput against plain gzip decoding of the same
//! bytes, measured in the same run. Prints the ratio (target ≥ 0.6 of decode speed).
//!
//! `cargo bench -p storewatch-benches --bench apple_parse`
#![allow(clippy::print_stdout, clippy::unwrap_used, missing_docs)]

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use flate2::read::MultiGzDecoder;
use storewatch_apple::sales::parse_sales_report;

const HEADER: &str = "Provider\tProvider Country\tSKU\tDeveloper\tTitle\tVersion\tProduct Type Identifier\tUnits\tDeveloper Proceeds\tBegin Date\tEnd Date\tCustomer Currency\tCountry Code\tCurrency of Proceeds\tApple Identifier\tCustomer Price\tPromo Code\tParent Identifier\tSubscription\tPeriod\tCategory\tCMB\tDevice\tSupported Platforms\tProceeds Reason\tPreserved Pricing\tClient\tOrder Type";

/// About `target` bytes of a realistic daily report: 500 apps, many countries and
/// currencies, app, update, re-download, in-app and subscription rows, a few refunds.
fn report(target: usize) -> Vec<u8> {
    let countries = [
        ("US", "USD"),
        ("DE", "EUR"),
        ("FR", "EUR"),
        ("JP", "JPY"),
        ("GB", "GBP"),
        ("RU", "RUB"),
        ("BR", "BRL"),
        ("IN", "INR"),
    ];
    let types = [
        "1F", "1F", "3F", "7F", "7F", "IA1", "IAY", "1T", "IA1", "7T",
    ];
    let mut out = String::with_capacity(target + 4096);
    out.push_str(HEADER);
    out.push('\n');
    let mut x: u64 = 42;
    let mut next = || {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        x >> 33
    };
    while out.len() < target {
        let app = next() % 500;
        let (country, currency) = countries[(next() % 8) as usize];
        let t = types[(next() % 10) as usize];
        let in_app = t.starts_with("IA");
        let mut units = (next() % 40 + 1) as i64;
        if in_app && next() % 25 == 0 {
            units = -1;
        }
        let (proceeds, price) = if in_app {
            ("4.89", "6.99")
        } else {
            ("0.00", "0.00")
        };
        let sub = if t == "IAY" {
            if next() % 2 == 0 { "New" } else { "Renewal" }
        } else {
            " "
        };
        let (apple_id, parent) = if in_app {
            (format!("16{app:08}01"), format!("SKU{app:05}"))
        } else {
            (format!("16{app:08}"), " ".to_owned())
        };
        out.push_str(&format!(
            "APPLE\tUS\tSKU{app:05}\tDeveloper {app}\tApp number {app}\t2.3.{}\t{t}\t{units}\t{proceeds}\t09/20/2026\t09/20/2026\t{currency}\t{country}\t{currency}\t{apple_id}\t{price}\t \t{parent}\t{sub}\t \tGames\t\tiPhone\tiOS\t \t \t \t \n",
            next() % 10
        ));
    }
    out.into_bytes()
}

fn best_of(runs: usize, mut f: impl FnMut()) -> Duration {
    (0..runs)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .min()
        .unwrap()
}

fn main() {
    let text = report(50 << 20);
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(&text).unwrap();
    let gz = e.finish().unwrap();
    let date = NaiveDate::from_ymd_opt(2026, 9, 20).unwrap();
    let mb = text.len() as f64 / (1 << 20) as f64;
    println!(
        "apple_parse: {mb:.1} MB decompressed, {:.1} MB gzip",
        gz.len() as f64 / (1 << 20) as f64
    );

    let decode = best_of(5, || {
        let mut sink = Vec::with_capacity(text.len());
        MultiGzDecoder::new(gz.as_slice())
            .read_to_end(&mut sink)
            .unwrap();
        assert_eq!(sink.len(), text.len());
    });
    let mut apps = 0;
    let parse = best_of(5, || {
        let summary = parse_sales_report(&gz, date).unwrap();
        // Aggregate as a collection does: every app's totals with its in-app rows.
        apps = 0;
        for app in 0..500 {
            let sales = summary.for_app(&format!("16{app:08}"), Some(&format!("SKU{app:05}")));
            apps += usize::from(!sales.downloads.is_zero());
        }
    });
    assert!(apps > 400);
    let parse_only = best_of(5, || {
        storewatch_apple::sales::parse_tsv(text.as_slice(), date).unwrap();
    });
    println!("apple_parse: parse of the decompressed text alone {parse_only:?}");
    let decode_mbs = mb / decode.as_secs_f64();
    let parse_mbs = mb / parse.as_secs_f64();
    println!("apple_parse: gzip decode only      {decode_mbs:8.1} MB/s ({decode:?})");
    println!("apple_parse: decode+parse+aggregate {parse_mbs:8.1} MB/s ({parse:?})");
    println!(
        "apple_parse: ratio parse/decode = {:.2} (target >= 0.60)",
        parse_mbs / decode_mbs
    );
}
