//! The fake's deterministic data: N apps over D days with a weekly pattern and chosen
//! anomalies, rendered as Sales TSV rows and Analytics files, with the expected totals
//! computed from the structured rows (not from the rendered text).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use chrono::{Datelike, Duration, NaiveDate, Weekday};
use rust_decimal::Decimal;

/// One app of the fake account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeApp {
    /// Apple's numeric id, as a string.
    pub apple_id: String,
    /// The bundle id.
    pub bundle_id: String,
    /// The SKU (what in-app rows carry in `Parent Identifier`).
    pub sku: String,
    /// The display name.
    pub name: String,
}

/// A multiplier on one app's numbers on one day.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Anomaly {
    /// Index of the app in the catalogue.
    pub app: usize,
    /// The day.
    pub date: NaiveDate,
    /// The multiplier (e.g. 5.0 for a spike, 0.1 for a drop).
    pub factor: f64,
}

/// One structured row of a SALES SUMMARY report.
#[derive(Debug, Clone, PartialEq)]
pub struct SalesRow {
    /// `Product Type Identifier`.
    pub product_type: &'static str,
    /// `Units` (negative for a refund).
    pub units: Decimal,
    /// `Developer Proceeds` per unit (positive even on refunds).
    pub proceeds: Decimal,
    /// `Currency of Proceeds` (blank on free rows).
    pub proceeds_currency: &'static str,
    /// `Customer Price` per unit.
    pub customer_price: Decimal,
    /// `Customer Currency`.
    pub customer_currency: &'static str,
    /// `Country Code`.
    pub country: &'static str,
    /// `Apple Identifier`.
    pub apple_id: String,
    /// `SKU`.
    pub sku: String,
    /// `Title`.
    pub title: String,
    /// `Parent Identifier` (blank on app rows).
    pub parent: String,
    /// `Subscription` (`New`/`Renewal` on IAY rows).
    pub subscription: &'static str,
    /// `Device`.
    pub device: &'static str,
}

/// Expected per-app totals of a day.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExpectedSales {
    /// Σ units of 1, 1F, 1T.
    pub downloads: Decimal,
    /// Σ units of 3, 3F.
    pub redownloads: Decimal,
    /// Σ units of 7, 7F, 7T.
    pub updates: Decimal,
    /// Σ units of IA1, IA9, IAY.
    pub iap_units: Decimal,
    /// Σ units × proceeds per currency.
    pub proceeds: BTreeMap<String, Decimal>,
}

/// Expected analytics values of an app on a `Date`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ExpectedAnalytics {
    /// Sessions.
    pub sessions: f64,
    /// Σ unique devices of the sessions report.
    pub active_devices: f64,
    /// Crashes.
    pub crashes: f64,
}

/// The header of the 28-column SALES SUMMARY report.
pub const HEADER_28: [&str; 28] = [
    "Provider",
    "Provider Country",
    "SKU",
    "Developer",
    "Title",
    "Version",
    "Product Type Identifier",
    "Units",
    "Developer Proceeds",
    "Begin Date",
    "End Date",
    "Customer Currency",
    "Country Code",
    "Currency of Proceeds",
    "Apple Identifier",
    "Customer Price",
    "Promo Code",
    "Parent Identifier",
    "Subscription",
    "Period",
    "Category",
    "CMB",
    "Device",
    "Supported Platforms",
    "Proceeds Reason",
    "Preserved Pricing",
    "Client",
    "Order Type",
];

/// Which header a rendered report uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HeaderVariant {
    /// The documented 28 columns.
    #[default]
    Standard,
    /// The same columns in reverse order.
    Reordered,
    /// 30 columns: `CDR`, `Promotion Name` and a second `Client` added.
    Thirty,
}

/// The fake account's apps and their numbers.
#[derive(Debug, Clone)]
pub struct Catalogue {
    /// The apps.
    pub apps: Vec<FakeApp>,
    /// First day with data.
    pub start: NaiveDate,
    /// Number of days with data.
    pub days: u32,
    /// The seed every number derives from.
    pub seed: u64,
    /// Chosen anomalies.
    pub anomalies: Vec<Anomaly>,
}

fn mix(mut x: u64) -> u64 {
    // splitmix64: cheap, deterministic, well spread.
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

impl Catalogue {
    /// `apps` apps with data on `days` days from `start`.
    pub fn new(seed: u64, apps: usize, start: NaiveDate, days: u32) -> Catalogue {
        let apps = (0..apps)
            .map(|i| FakeApp {
                apple_id: (1_400_000_000u64
                    + (mix(seed ^ i as u64) % 90_000_000) * 10
                    + i as u64 % 10)
                    .to_string(),
                bundle_id: format!("com.fake.app{i}"),
                sku: format!("FAKE{i:04}"),
                name: format!("Fake App {i}"),
            })
            .collect();
        Catalogue {
            apps,
            start,
            days,
            seed,
            anomalies: Vec::new(),
        }
    }

    /// Adds an anomaly.
    #[must_use]
    pub fn with_anomaly(mut self, app: usize, date: NaiveDate, factor: f64) -> Catalogue {
        self.anomalies.push(Anomaly { app, date, factor });
        self
    }

    /// Whether `date` is one of the catalogue's days.
    pub fn has_day(&self, date: NaiveDate) -> bool {
        date >= self.start && date < self.start + Duration::days(i64::from(self.days))
    }

    /// The last day with data.
    pub fn last_day(&self) -> NaiveDate {
        self.start + Duration::days(i64::from(self.days.max(1)) - 1)
    }

    fn noise(&self, app: usize, date: NaiveDate, salt: u64) -> u64 {
        mix(self.seed ^ mix(app as u64 ^ mix(date.num_days_from_ce() as u64 ^ (salt << 40))))
    }

    /// First-time downloads of an app on a day: a base per app, a weekly pattern (weekends
    /// higher), noise and anomalies.
    pub fn base_downloads(&self, app: usize, date: NaiveDate) -> i64 {
        let base = 50 + (mix(self.seed ^ app as u64) % 400) as i64;
        let weekly = match date.weekday() {
            Weekday::Sat | Weekday::Sun => 1.4,
            Weekday::Fri => 1.1,
            _ => 1.0,
        };
        let noise = (self.noise(app, date, 1) % 21) as f64 / 100.0 + 0.9;
        let factor: f64 = self
            .anomalies
            .iter()
            .filter(|a| a.app == app && a.date == date)
            .map(|a| a.factor)
            .product();
        ((base as f64) * weekly * noise * factor).round() as i64
    }

    /// The structured sales rows of a day (every app, plus an app of another developer
    /// account row that no watched app matches).
    pub fn sales_rows(&self, date: NaiveDate) -> Vec<SalesRow> {
        let mut rows = Vec::new();
        if !self.has_day(date) {
            return rows;
        }
        let d = |s: &str| s.parse::<Decimal>().unwrap_or_default();
        for (i, app) in self.apps.iter().enumerate() {
            let dl = self.base_downloads(i, date);
            let us = dl * 6 / 10;
            let row =
                |product_type, units: i64, proceeds: &str, pc, price: &str, cc, country, device| {
                    SalesRow {
                        product_type,
                        units: Decimal::from(units),
                        proceeds: d(proceeds),
                        proceeds_currency: pc,
                        customer_price: d(price),
                        customer_currency: cc,
                        country,
                        apple_id: app.apple_id.clone(),
                        sku: app.sku.clone(),
                        title: app.name.clone(),
                        parent: String::new(),
                        subscription: "",
                        device,
                    }
                };
            rows.push(row("1F", us, "0", "USD", "0", "USD", "US", "iPhone"));
            rows.push(row(
                "1F",
                dl - us - dl / 10,
                "0",
                "",
                "0",
                "EUR",
                "DE",
                "iPhone",
            ));
            rows.push(row("1T", dl / 10, "0", "JPY", "0", "JPY", "JP", "iPad"));
            rows.push(row("3F", dl / 5, "0", "USD", "0", "USD", "US", "iPhone"));
            rows.push(row("7F", dl / 2, "0", "USD", "0", "USD", "US", "iPhone"));
            let iap = dl / 20 + 1;
            let in_app =
                |product_type, units: i64, proceeds: &str, pc, price: &str, cc, country, sub| {
                    SalesRow {
                        product_type,
                        units: Decimal::from(units),
                        proceeds: d(proceeds),
                        proceeds_currency: pc,
                        customer_price: d(price),
                        customer_currency: cc,
                        country,
                        apple_id: format!("{}01", app.apple_id),
                        sku: format!("{}.coins", app.sku),
                        title: "Coins".to_owned(),
                        parent: app.sku.clone(),
                        subscription: sub,
                        device: "iPhone",
                    }
                };
            rows.push(in_app("IA1", iap, "0.70", "USD", "0.99", "USD", "US", ""));
            rows.push(in_app(
                "IA1",
                iap / 2 + 1,
                ".84",
                "EUR",
                "1.19",
                "EUR",
                "DE",
                "",
            ));
            rows.push(in_app(
                "IAY",
                iap / 3 + 1,
                "4.89",
                "USD",
                "6.99",
                "USD",
                "US",
                "New",
            ));
            rows.push(in_app(
                "IAY",
                iap / 2,
                "5.94",
                "USD",
                "6.99",
                "USD",
                "US",
                "Renewal",
            ));
            if self.noise(i, date, 2).is_multiple_of(3) {
                // A refund: negative units, positive proceeds, negative customer price.
                rows.push(in_app("IA1", -1, "0.70", "USD", "-0.99", "USD", "US", ""));
            }
        }
        rows.push(SalesRow {
            product_type: "1F",
            units: Decimal::from(3),
            proceeds: Decimal::ZERO,
            proceeds_currency: "USD",
            customer_price: Decimal::ZERO,
            customer_currency: "USD",
            country: "US",
            apple_id: "999999999".to_owned(),
            sku: "OTHER".to_owned(),
            title: "Not Watched".to_owned(),
            parent: String::new(),
            subscription: "",
            device: "iPhone",
        });
        rows
    }

    /// The expected totals of app `app` on `date`, from the structured rows.
    pub fn expected_sales(&self, app: usize, date: NaiveDate) -> ExpectedSales {
        let a = &self.apps[app];
        let mut e = ExpectedSales::default();
        for r in self.sales_rows(date) {
            let mine = if r.parent.is_empty() {
                r.apple_id == a.apple_id
            } else {
                r.parent == a.sku
            };
            if !mine {
                continue;
            }
            match r.product_type {
                "1" | "1F" | "1T" => e.downloads += r.units,
                "3" | "3F" => e.redownloads += r.units,
                "7" | "7F" | "7T" => e.updates += r.units,
                "IA1" | "IA9" | "IAY" => e.iap_units += r.units,
                _ => {}
            }
            let amount = r.units * r.proceeds;
            if !amount.is_zero() {
                *e.proceeds
                    .entry(r.proceeds_currency.to_owned())
                    .or_default() += amount;
            }
        }
        e
    }

    /// Renders rows as the report's TSV (LF endings, trailing newline).
    pub fn render_tsv(&self, date: NaiveDate, rows: &[SalesRow], variant: HeaderVariant) -> String {
        let mut header: Vec<&str> = HEADER_28.to_vec();
        if variant == HeaderVariant::Thirty {
            header.extend(["CDR", "Promotion Name", "Client"]);
            header.remove(header.iter().position(|h| *h == "Order Type").unwrap_or(0));
        }
        if variant == HeaderVariant::Reordered {
            header.reverse();
        }
        let day = date.format("%m/%d/%Y").to_string();
        let mut out = header.join("\t");
        out.push('\n');
        for r in rows {
            let cells: Vec<String> = header
                .iter()
                .map(|h| match *h {
                    "Provider" => "APPLE".to_owned(),
                    "Provider Country" => "US".to_owned(),
                    "SKU" => r.sku.clone(),
                    "Developer" => "Fake Developer".to_owned(),
                    "Title" => r.title.clone(),
                    "Version" => "1.0".to_owned(),
                    "Product Type Identifier" => r.product_type.to_owned(),
                    "Units" => r.units.to_string(),
                    "Developer Proceeds" => r.proceeds.to_string(),
                    "Begin Date" | "End Date" => day.clone(),
                    "Customer Currency" => r.customer_currency.to_owned(),
                    "Country Code" => r.country.to_owned(),
                    "Currency of Proceeds" => blank(r.proceeds_currency),
                    "Apple Identifier" => r.apple_id.clone(),
                    "Customer Price" => r.customer_price.to_string(),
                    "Parent Identifier" => blank(&r.parent),
                    "Subscription" => blank(r.subscription),
                    "Category" => "Utilities".to_owned(),
                    "CMB" => String::new(),
                    "Device" => r.device.to_owned(),
                    "Supported Platforms" => "iOS".to_owned(),
                    "Client" => " ".to_owned(),
                    _ => " ".to_owned(),
                })
                .collect();
            out.push_str(&cells.join("\t"));
            out.push('\n');
        }
        out
    }

    /// Sessions (`Date` = `date`) of an app per device, as first published (`corrected` =
    /// false) or as corrected by the next instance.
    fn sessions(&self, app: usize, date: NaiveDate, corrected: bool) -> [(f64, f64); 2] {
        let dl = self.base_downloads(app, date) as f64;
        let total = (dl * 8.0).round() + if corrected { 40.0 } else { 0.0 };
        let iphone = (total * 0.7).round();
        [
            (iphone, (iphone / 3.0).round()),
            (total - iphone, ((total - iphone) / 3.0).round()),
        ]
    }

    fn crashes(&self, app: usize, date: NaiveDate) -> f64 {
        (self.noise(app, date, 3) % 9) as f64
    }

    /// The analytics file of `report` for an app in the instance processed on `processing`:
    /// rows for `processing − 1` and a correction of `processing − 2`. Sessions files are
    /// tab-separated with Apple's capitalisation; crash files comma-separated, lowercase.
    pub fn analytics_file(&self, report: &str, app: usize, processing: NaiveDate) -> String {
        let a = &self.apps[app];
        let mut out = String::new();
        let dates = [
            (processing - Duration::days(2), true),
            (processing - Duration::days(1), false),
        ];
        if report == crate::analytics::SESSIONS_REPORT {
            out.push_str("Date\tApp Name\tApp Apple Identifier\tApp Version\tDevice\tPlatform Version\tSource Type\tPage Type\tApp Download Date\tTerritory\tSessions\tTotal Session Duration\tUnique Devices\n");
            for (date, corrected) in dates {
                if !self.has_day(date) {
                    continue;
                }
                for ((sessions, devices), device) in self
                    .sessions(app, date, corrected)
                    .into_iter()
                    .zip(["iPhone", "iPad"])
                {
                    let _ = writeln!(
                        out,
                        "{date}\t{}\t{}\t1.0\t{device}\tiOS 18\tApp Store search\tNo page\t\tUS\t{sessions}\t{}\t{devices}",
                        a.name,
                        a.apple_id,
                        sessions * 60.0
                    );
                }
                // A group of fewer than 5 users is omitted by Apple: nothing is written.
            }
        } else {
            out.push_str("date,app name,app apple identifier,app version,device,platform version,crashes,unique devices\n");
            for (date, _) in dates {
                if !self.has_day(date) {
                    continue;
                }
                let crashes = self.crashes(app, date);
                if crashes > 0.0 {
                    let _ = writeln!(
                        out,
                        "{date},\"{}, the app\",{},1.0,iPhone,iOS 18,{crashes},{crashes}",
                        a.name, a.apple_id
                    );
                }
            }
        }
        out
    }

    /// What a client should hold for an app's `Date` after reading every instance
    /// processed up to `last_processing` (the later instance's correction wins).
    pub fn expected_analytics(
        &self,
        app: usize,
        date: NaiveDate,
        last_processing: NaiveDate,
    ) -> Option<ExpectedAnalytics> {
        if !self.has_day(date) || last_processing <= date {
            return None;
        }
        let corrected = last_processing >= date + Duration::days(2);
        let s = self.sessions(app, date, corrected);
        Some(ExpectedAnalytics {
            sessions: s[0].0 + s[1].0,
            active_devices: s[0].1 + s[1].1,
            crashes: self.crashes(app, date),
        })
    }
}

fn blank(s: &str) -> String {
    if s.is_empty() {
        " ".to_owned()
    } else {
        s.to_owned()
    }
}
