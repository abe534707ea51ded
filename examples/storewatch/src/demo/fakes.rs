//! The providers the demo talks to, all on 127.0.0.1: `FakeAppStoreConnect`,
//! `FakeGooglePlay` and `FakeLark`, holding the sample apps' data (a weekly pattern and
//! one planted anomaly per store on the target day) and the made-up secrets that open them.

use chrono::NaiveDate;
use secrecy::SecretString;
use serde_json::{Value, json};
use storewatch_apple::fake::FakeAppStoreConnect;
use storewatch_core::Result;
use storewatch_core::model::Platform;
use storewatch_google::fake::FakeGooglePlay;
use storewatch_lark::fake::{FakeLark, WebhookOptions};

/// The bot's token, the secret part of its webhook URL. Made up, but sealed and kept
/// out of the output like a real one (the demo's test looks for it).
const WEBHOOK_TOKEN: &str = "5c0f2a91-7d4e-4b83-9e16-a2d7c4f08b35";
/// The bot's signing secret.
const SIGNING_SECRET: &str = "demo-sign-Vq7Lx2Rk9Tz4";
/// The Lark app that writes the spreadsheet.
const LARK_APP_ID: &str = "cli_a5d3demo0001";
/// Its app secret.
const LARK_APP_SECRET: &str = "demo-app-secret-Hn4Wc8Pj1Ys6";
/// The spreadsheet and its tab.
const SPREADSHEET: &str = "shtcnDemoKpi7Qw3Ze";
/// The tab the daily rows go to.
pub(super) const SHEET_ID: &str = "daily1";

/// The planted anomalies: Trail Maps' downloads collapse on iOS, Recipe Box is featured
/// on Android (an index into [`NAMES`] and the factor on the target day's downloads).
const IOS_DROP: (usize, f64) = (1, 0.3);
const ANDROID_SPIKE: (usize, f64) = (2, 4.0);

/// One sample app: its display name, store and the id the fake knows it by.
#[derive(Debug, Clone)]
pub(super) struct SampleApp {
    pub(super) name: String,
    pub(super) platform: Platform,
    pub(super) bundle_id: String,
}

/// A planted anomaly, for the header.
#[derive(Debug, Clone)]
pub(super) struct Planted {
    pub(super) app: String,
    pub(super) factor: f64,
}

/// The three running fakes; they stop serving when dropped.
pub(super) struct Fakes {
    pub(super) apple: FakeAppStoreConnect,
    pub(super) google: FakeGooglePlay,
    pub(super) lark: FakeLark,
    pub(super) apps: Vec<SampleApp>,
    pub(super) planted: Vec<Planted>,
}

/// The names of the sample apps, one of each on both stores.
const NAMES: [&str; 3] = ["Pocket Planner", "Trail Maps", "Recipe Box"];

impl Fakes {
    /// Starts the fakes with `days` days of data ending on `day` (the target day, in
    /// America/Los_Angeles, where both stores cut their days) on the system clock, so
    /// the real clients, which read the system clock, find every day published.
    pub(super) async fn start(day: NaiveDate, days: u32) -> Result<Fakes> {
        let apple = FakeAppStoreConnect::builder()
            .seed(2024)
            .apps(NAMES.len())
            .days(days)
            .last_day(day)
            .system_clock()
            .anomaly(IOS_DROP.0, day, IOS_DROP.1)
            .start()
            .await?;
        let packages: Vec<String> = apple
            .catalogue()
            .apps
            .iter()
            .map(|a| format!("{}.android", a.bundle_id))
            .collect();
        let google = FakeGooglePlay::builder()
            .seed(2024)
            .bulk_lag_days(1)
            .unfinished_days(0)
            .anomaly(&packages[ANDROID_SPIKE.0], day, ANDROID_SPIKE.1)
            .start()
            .await;
        for package in &packages {
            google.add_app(package);
        }
        let lark = FakeLark::start().await?;

        let mut apps = Vec::new();
        for (name, app) in NAMES.iter().zip(&apple.catalogue().apps) {
            apps.push(SampleApp {
                name: format!("{name} iOS"),
                platform: Platform::Ios,
                bundle_id: app.bundle_id.clone(),
            });
        }
        for (name, package) in NAMES.iter().zip(&packages) {
            apps.push(SampleApp {
                name: format!("{name} Android"),
                platform: Platform::Android,
                bundle_id: package.clone(),
            });
        }
        let planted = vec![
            Planted {
                app: format!("{} iOS", NAMES[IOS_DROP.0]),
                factor: IOS_DROP.1,
            },
            Planted {
                app: format!("{} Android", NAMES[ANDROID_SPIKE.0]),
                factor: ANDROID_SPIKE.1,
            },
        ];
        Ok(Fakes {
            apple,
            google,
            lark,
            apps,
            planted,
        })
    }

    /// The `app_store_connect` credential config: the fake's Team key and vendor number,
    /// with quick retries and more requests in flight than Apple's default allows.
    pub(super) fn apple_config(&self) -> Result<SecretString> {
        let mut config: Value = serde_json::from_str(&self.apple.config_json()).map_err(|e| {
            storewatch_core::Error::internal("the fake's config is not JSON").with_source(e)
        })?;
        config["http"]["max_concurrency"] = json!(8);
        Ok(SecretString::from(config.to_string()))
    }

    /// The `google_play` credential config: the fake's built-in throwaway service
    /// account (its key signs JWTs for the fake only) and the fake's URLs.
    pub(super) fn google_config(&self) -> SecretString {
        self.google.test_config_json(
            json!({"backoff_base_ms": 10, "backoff_max_ms": 200, "timeout_secs": 10,
                   "reporting_requests_per_second": 100}),
        )
    }

    /// The `lark_webhook` channel config: a signed bot on the fake.
    pub(super) fn webhook_config(&self) -> SecretString {
        let config = self.lark.add_webhook(
            WEBHOOK_TOKEN,
            WebhookOptions {
                secret: Some(SIGNING_SECRET.to_owned()),
                ..WebhookOptions::default()
            },
        );
        SecretString::from(config.to_string())
    }

    /// The `lark_sheet` channel config: an app allowed to append to the demo spreadsheet.
    pub(super) fn sheet_config(&self) -> SecretString {
        let config = self
            .lark
            .add_spreadsheet(LARK_APP_ID, LARK_APP_SECRET, SPREADSHEET, SHEET_ID);
        SecretString::from(config.to_string())
    }

    /// The rows appended to the demo spreadsheet's tab.
    pub(super) fn sheet_rows(&self) -> Vec<Vec<Value>> {
        self.lark.rows(SPREADSHEET, SHEET_ID)
    }

    /// Requests received so far by App Store Connect (both listeners) and Google Play.
    pub(super) fn requests(&self) -> (u64, u64) {
        (
            self.apple.request_counts().values().sum(),
            self.google.request_counts().values().sum(),
        )
    }
}
