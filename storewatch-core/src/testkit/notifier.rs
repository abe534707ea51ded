//! The notifier conformance suite: what every [`Notifier`] must do, checked through a
//! [`NotifierHarness`] that sees what the receiving end got.
//!
//! Each check panics with a message starting `notifier contract <name>` when it breaks.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::NaiveDate;

use crate::alert::AlertEventKind;
use crate::model::{BundleId, Mention, Metric, Platform, Severity};
use crate::notify::{
    AlertNotification, AppReport, DailyReport, MetricLine, Notifier, PlatformTotal,
};

/// A notifier under test and a view of what its receiver (a fake server, a recorder) got.
#[async_trait]
pub trait NotifierHarness: Send + Sync {
    /// The notifier under test.
    fn notifier(&self) -> Arc<dyn Notifier>;
    /// Every message the receiving end accepted so far, in order, as text (e.g. the
    /// JSON body a fake server received).
    async fn received(&self) -> Vec<String>;
}

/// Runs every notifier check, printing each name as it passes.
pub async fn check_all(harness: &dyn NotifierHarness) {
    macro_rules! run {
        ($($check:ident),* $(,)?) => {$(
            $check(harness).await;
            println!("notifier conformance: {} ... ok", stringify!($check));
        )*};
    }
    run!(
        report_is_delivered,
        alert_card_names_app_metric_and_rule,
        resolved_card_differs_from_firing,
        mentions_are_rendered,
        large_report_is_delivered,
        unusual_text_is_delivered,
    );
}

/// A sample report of `n` apps, with names `App <i>` and two metrics.
pub fn sample_report(n: usize) -> DailyReport {
    let day = NaiveDate::from_ymd_opt(2026, 3, 1).unwrap_or_default();
    let apps = (0..n)
        .map(|i| AppReport {
            app_name: format!("App {i}"),
            platform: if i % 2 == 0 {
                Platform::Ios
            } else {
                Platform::Android
            },
            bundle_id: sample_bundle(&format!("com.example.app{i}")),
            metrics: vec![
                MetricLine {
                    metric: Metric::DOWNLOADS,
                    value: Some(1200.0 + i as f64),
                    dod_pct: Some(-12.5),
                    wow_pct: Some(3.0),
                    yoy_pct: None,
                    last_28d: (0..28).map(|d| Some(1000.0 + d as f64)).collect(),
                },
                MetricLine {
                    metric: Metric::CRASH_RATE,
                    value: None,
                    dod_pct: None,
                    wow_pct: None,
                    yoy_pct: None,
                    last_28d: vec![None; 28],
                },
            ],
        })
        .collect();
    DailyReport {
        title: "Conformance daily report".to_owned(),
        day,
        apps,
        totals: vec![PlatformTotal {
            platform: Platform::Ios,
            metric: Metric::DOWNLOADS,
            value: 5000.0,
            dod_pct: Some(1.5),
            wow_pct: Some(-2.0),
            yoy_pct: Some(40.0),
        }],
        notes: vec![],
    }
}

/// A bundle id valid on both platforms (`com.example.appN`).
fn sample_bundle(id: &str) -> BundleId {
    BundleId::parse(Platform::Android, id).expect("sample bundle ids are valid")
}

/// A sample alert card.
pub fn sample_alert(kind: AlertEventKind) -> AlertNotification {
    AlertNotification {
        app_name: "Conformance App".to_owned(),
        platform: Platform::Android,
        bundle_id: sample_bundle("com.example.app"),
        metric: Metric::CRASH_RATE,
        segment: String::new(),
        day: NaiveDate::from_ymd_opt(2026, 3, 1).unwrap_or_default(),
        value: 0.034,
        baseline: Some(0.011),
        change_pct: Some(209.1),
        rule_name: "Crash rate too high".to_owned(),
        rule_text: "is above 0.02".to_owned(),
        severity: Severity::Critical,
        kind,
        mentions: vec![],
        link: Some("https://admin.example.com/apps/1".to_owned()),
    }
}

async fn new_messages(h: &dyn NotifierHarness, before: usize, contract: &str) -> Vec<String> {
    let all = h.received().await;
    assert!(
        all.len() > before,
        "notifier contract {contract}: the receiver got no new message"
    );
    all[before..].to_vec()
}

fn contains_all(messages: &[String], needles: &[&str], contract: &str) {
    let joined = messages.join("\n");
    for needle in needles {
        assert!(
            joined.contains(needle),
            "notifier contract {contract}: {needle:?} missing from what was received:\n{joined}"
        );
    }
}

/// The daily report is accepted and carries the title and every app's name.
pub async fn report_is_delivered(h: &dyn NotifierHarness) {
    let before = h.received().await.len();
    h.notifier()
        .send_report(&sample_report(3))
        .await
        .unwrap_or_else(|e| {
            panic!("notifier contract report_is_delivered: send_report failed: {e}")
        });
    let got = new_messages(h, before, "report_is_delivered").await;
    contains_all(&got, &["App 0", "App 1", "App 2"], "report_is_delivered");
}

/// A firing card names the app, the metric and the rule.
pub async fn alert_card_names_app_metric_and_rule(h: &dyn NotifierHarness) {
    let before = h.received().await.len();
    h.notifier()
        .send_alert(&sample_alert(AlertEventKind::Firing))
        .await
        .unwrap_or_else(|e| {
            panic!("notifier contract alert_card_names_app_metric_and_rule: send_alert failed: {e}")
        });
    let got = new_messages(h, before, "alert_card_names_app_metric_and_rule").await;
    contains_all(
        &got,
        &["Conformance App", "Crash rate too high"],
        "alert_card_names_app_metric_and_rule",
    );
}

/// A resolved card is not the firing card again.
pub async fn resolved_card_differs_from_firing(h: &dyn NotifierHarness) {
    let n = h.notifier();
    let before = h.received().await.len();
    n.send_alert(&sample_alert(AlertEventKind::Firing))
        .await
        .unwrap_or_else(|e| {
            panic!("notifier contract resolved_card_differs_from_firing: firing failed: {e}")
        });
    n.send_alert(&sample_alert(AlertEventKind::Resolved))
        .await
        .unwrap_or_else(|e| {
            panic!("notifier contract resolved_card_differs_from_firing: resolved failed: {e}")
        });
    let got = new_messages(h, before, "resolved_card_differs_from_firing").await;
    assert!(
        got.len() >= 2,
        "notifier contract resolved_card_differs_from_firing: expected two messages, got {}",
        got.len()
    );
    assert_ne!(
        got[got.len() - 2],
        got[got.len() - 1],
        "notifier contract resolved_card_differs_from_firing: the resolved card equals the firing one"
    );
}

/// A mentioned user's open_id reaches the receiver.
pub async fn mentions_are_rendered(h: &dyn NotifierHarness) {
    let mut alert = sample_alert(AlertEventKind::Firing);
    alert.mentions = vec![Mention::User("ou_conformance42".to_owned())];
    let before = h.received().await.len();
    h.notifier().send_alert(&alert).await.unwrap_or_else(|e| {
        panic!("notifier contract mentions_are_rendered: send_alert failed: {e}")
    });
    let got = new_messages(h, before, "mentions_are_rendered").await;
    contains_all(&got, &["ou_conformance42"], "mentions_are_rendered");
}

/// A portfolio report of 300 apps is accepted (split or condensed as the provider's
/// size limits require) and no app is lost.
pub async fn large_report_is_delivered(h: &dyn NotifierHarness) {
    let before = h.received().await.len();
    h.notifier()
        .send_report(&sample_report(300))
        .await
        .unwrap_or_else(|e| {
            panic!("notifier contract large_report_is_delivered: send_report failed: {e}")
        });
    let got = new_messages(h, before, "large_report_is_delivered").await;
    contains_all(
        &got,
        &["App 0", "App 150", "App 299"],
        "large_report_is_delivered",
    );
}

/// Names with quotes, markup-like text and non-ASCII characters are delivered.
pub async fn unusual_text_is_delivered(h: &dyn NotifierHarness) {
    let mut alert = sample_alert(AlertEventKind::Firing);
    alert.app_name = "Café ☕ * _x_ & Co".to_owned();
    let before = h.received().await.len();
    h.notifier().send_alert(&alert).await.unwrap_or_else(|e| {
        panic!("notifier contract unusual_text_is_delivered: send_alert failed: {e}")
    });
    let got = new_messages(h, before, "unusual_text_is_delivered").await;
    contains_all(&got, &["Café ☕"], "unusual_text_is_delivered");
}
