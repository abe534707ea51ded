//! Shared set-up of the tests against `FakeGooglePlay`.

#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use std::sync::Arc;

use chrono::NaiveDate;
use secrecy::SecretString;
use storewatch_core::clock::ManualClock;
use storewatch_core::model::{AppId, BundleId, Platform};
use storewatch_core::source::AppTarget;
use storewatch_google::fake::FakeGooglePlay;
use storewatch_google::{GooglePlayConfig, GooglePlaySource};

pub const EMAIL: &str = "play-metrics@storewatch-test.iam.gserviceaccount.com";
/// Test-only keys (see tests/fixtures/README.md).
pub const PRIVATE_KEY: &str = include_str!("../fixtures/test_only_service_account_key.pem");
pub const PUBLIC_KEY: &str = include_str!("../fixtures/test_only_service_account_key.pub.pem");
pub const OTHER_PRIVATE_KEY: &str = include_str!("../fixtures/test_only_other_key.pem");

pub fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

/// "Today" of most tests (America/Los_Angeles).
pub fn today() -> NaiveDate {
    day(2026, 9, 22)
}

pub fn target(i: i64, package: &str) -> AppTarget {
    AppTarget {
        app_id: AppId(i),
        bundle_id: BundleId::parse(Platform::Android, package).unwrap(),
        store_id: None,
    }
}

/// Fast retries and no effective rate limit, unless a test says otherwise.
pub fn fast_http() -> serde_json::Value {
    serde_json::json!({
        "timeout_secs": 2,
        "max_retries": 3,
        "backoff_base_ms": 1,
        "backoff_max_ms": 20,
        "reporting_requests_per_second": 1000,
    })
}

pub async fn fake_with(apps: &[&str], today: NaiveDate) -> FakeGooglePlay {
    let fake = FakeGooglePlay::builder()
        .seed(11)
        .today(today)
        .start()
        .await;
    fake.add_service_account(EMAIL, PUBLIC_KEY);
    for app in apps {
        fake.add_app(app);
    }
    fake
}

pub fn source_for(fake: &FakeGooglePlay, http: serde_json::Value) -> GooglePlaySource {
    source_with_key(fake, EMAIL, PRIVATE_KEY, http)
}

pub fn source_with_key(
    fake: &FakeGooglePlay,
    email: &str,
    key: &str,
    http: serde_json::Value,
) -> GooglePlaySource {
    let config = GooglePlayConfig::from_json(&fake.config_json(email, key, http)).unwrap();
    // Noon in Los Angeles on the fake's "today".
    let now = fake.today().and_hms_opt(19, 0, 0).unwrap().and_utc();
    GooglePlaySource::builder(config)
        .clock(Arc::new(ManualClock::new(now)))
        .build()
        .unwrap()
}

pub fn config_secret(fake: &FakeGooglePlay) -> SecretString {
    fake.config_json(EMAIL, PRIVATE_KEY, fast_http())
}
