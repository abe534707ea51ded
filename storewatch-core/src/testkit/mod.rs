//! Conformance suites (feature `testkit`): the shared tests every implementation of a
//! storewatch trait runs, and the sample records they are built from.
//!
//! - [`store`]: every [`Store`](crate::store::Store) — `store::check_all`, or the
//!   [`store_conformance_tests!`](crate::store_conformance_tests) macro for one
//!   `#[tokio::test]` per contract.
//! - [`notifier`]: every [`Notifier`](crate::notify::Notifier) — `notifier::check_all`
//!   with a [`NotifierHarness`](notifier::NotifierHarness) over the receiving end.
//! - [`source`]: every [`MetricSource`](crate::source::MetricSource) —
//!   `source::check_all` with a [`SourceCheck`](source::SourceCheck).
//! - [`scheduler`]: the scheduler's guarantees on top of every store —
//!   `scheduler::check_all`, or the
//!   [`scheduler_conformance_tests!`](crate::scheduler_conformance_tests) macro.
//! - [`logs`]: captures what is logged, to show that no secret reaches the logs.
//!
//! The helpers below build valid records that differ by `n`, so a suite can create as
//! many as it needs without clashing names.

pub mod logs;
pub mod notifier;
pub mod scheduler;
pub mod source;
pub mod store;

use secrecy::SecretString;

use crate::model::{
    AlertRuleSpec, AppSpec, ChannelId, ChannelSpec, Condition, CredentialId, CredentialSpec,
    Direction, Frequency, Mention, Metric, Platform, ReportSpec, ScheduleSpec, Severity, Task,
    Window,
};
use crate::secrets::{Keyring, fingerprint};

/// A keyring with one fixed, public key (id `testkit`): for tests only.
pub fn test_keyring() -> Keyring {
    Keyring::from_raw(&[("testkit", [0x42; 32])]).expect("a 32-byte raw key is a valid keyring")
}

/// An active iOS app `Sample app {n}`, bundle id `com.example.app{n}`, Apple id
/// `{1000000 + n}`.
pub fn sample_app_spec(n: u32) -> AppSpec {
    let mut spec = AppSpec::new(
        format!("Sample app {n}"),
        Platform::Ios,
        &format!("com.example.app{n}"),
    )
    .expect("sample app spec is valid");
    spec.store_id = Some((1_000_000 + u64::from(n)).to_string());
    spec
}

/// An active Android app `Sample android app {n}`, package `com.example.android{n}`.
pub fn sample_android_app_spec(n: u32) -> AppSpec {
    AppSpec::new(
        format!("Sample android app {n}"),
        Platform::Android,
        &format!("com.example.android{n}"),
    )
    .expect("sample android app spec is valid")
}

/// An App Store Connect credential `Sample credential {n}`, its config sealed for
/// credential `id` with [`test_keyring`].
pub fn sample_credential_spec(id: CredentialId, n: u32) -> CredentialSpec {
    let config = SecretString::from(format!(
        r#"{{"issuer_id":"issuer-{n}","key_id":"KEY{n}","private_key":"-----BEGIN PRIVATE KEY-----\nsample\n-----END PRIVATE KEY-----","vendor_number":"8{n}"}}"#
    ));
    CredentialSpec {
        name: format!("Sample credential {n}"),
        platform: Platform::Ios,
        kind: "app_store_connect".to_owned(),
        sealed: test_keyring()
            .seal("credential", id.0, &config)
            .expect("sealing with the test keyring works"),
        fingerprint: fingerprint(&config),
    }
}

/// An active Lark webhook channel `Sample channel {n}`, its config sealed for channel
/// `id` with [`test_keyring`].
pub fn sample_channel_spec(id: ChannelId, n: u32) -> ChannelSpec {
    let config = SecretString::from(format!(
        r#"{{"webhook_url":"https://open.feishu.cn/open-apis/bot/v2/hook/sample-{n}"}}"#
    ));
    ChannelSpec {
        name: format!("Sample channel {n}"),
        kind: "lark_webhook".to_owned(),
        sealed: test_keyring()
            .seal("channel", id.0, &config)
            .expect("sealing with the test keyring works"),
        fingerprint: fingerprint(&config),
        is_active: true,
    }
}

/// A rule `Sample rule {n}` on every app's downloads (a 30 % week-over-week fall),
/// alerting `channel` with a one hour cooldown.
pub fn sample_rule_spec(n: u32, channel: ChannelId) -> AlertRuleSpec {
    let mut spec = AlertRuleSpec::new(
        format!("Sample rule {n}"),
        Metric::DOWNLOADS,
        Condition::PctChange {
            window: Window::Wow,
            direction: Direction::Down,
            threshold_pct: 30.0,
        },
        Severity::Warning,
        channel,
    )
    .expect("sample rule spec is valid");
    spec.for_days = 2;
    spec.cooldown = std::time::Duration::from_secs(3600);
    spec.min_baseline = Some(100.0);
    spec.mentions = vec![Mention::All, Mention::User(format!("ou_sample{n}"))];
    spec.notify_resolved = true;
    spec
}

/// A portfolio report `Sample report {n}` of downloads and proceeds to `channel`.
pub fn sample_report_spec(n: u32, channel: ChannelId) -> ReportSpec {
    ReportSpec {
        name: format!("Sample report {n}"),
        app_id: None,
        metrics: vec![Metric::DOWNLOADS, Metric::PROCEEDS],
        channels: vec![channel],
        is_active: true,
    }
}

/// A daily full-analysis schedule `Sample schedule {n}` at 06:30 Europe/Berlin.
pub fn sample_schedule_spec(n: u32) -> ScheduleSpec {
    ScheduleSpec::new(
        format!("Sample schedule {n}"),
        Task::FullAnalysis,
        Frequency::Daily,
        6,
        30,
        "Europe/Berlin",
    )
    .expect("sample schedule spec is valid")
}
