//! FakeLark's injected latency: every endpoint waits, and the notifiers still deliver.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns unwrap too

use std::time::{Duration, Instant};

use storewatch_core::notify::Notifier;
use storewatch_core::testkit::notifier::sample_report;
use storewatch_lark::fake::{FakeLark, WebhookOptions};
use storewatch_lark::{LarkWebhookConfig, LarkWebhookNotifier};

/// A request with a short client timeout: `Err` when the fake holds it longer.
async fn send(
    method: reqwest::Method,
    url: &str,
    timeout: Duration,
) -> reqwest::Result<reqwest::StatusCode> {
    reqwest::Client::new()
        .request(method, url)
        .header("content-type", "application/json")
        .body("{}")
        .timeout(timeout)
        .send()
        .await
        .map(|r| r.status())
}

#[tokio::test]
async fn latency_holds_webhooks_tokens_and_sheets() {
    let fake = FakeLark::start().await.unwrap();
    fake.add_webhook("bot", WebhookOptions::default());
    let base = fake.base_url();
    let calls = [
        (
            reqwest::Method::POST,
            format!("{base}/open-apis/bot/v2/hook/bot"),
        ),
        (
            reqwest::Method::POST,
            format!("{base}/open-apis/auth/v3/tenant_access_token/internal"),
        ),
        (
            reqwest::Method::GET,
            format!("{base}/open-apis/sheets/v3/spreadsheets/sht/sheets/query"),
        ),
        (
            reqwest::Method::POST,
            format!("{base}/open-apis/sheets/v2/spreadsheets/sht/values_append"),
        ),
    ];
    // Without latency: the answers every later step compares with.
    let mut statuses = Vec::new();
    for (method, url) in &calls {
        statuses.push(
            send(method.clone(), url, Duration::from_secs(30))
                .await
                .unwrap(),
        );
    }

    fake.set_latency(Duration::from_secs(3600));
    assert_eq!(fake.latency(), Duration::from_secs(3600));
    for (method, url) in &calls {
        let err = send(method.clone(), url, Duration::from_millis(300))
            .await
            .unwrap_err();
        assert!(err.is_timeout(), "{method} {url}: {err}");
    }

    // A measurable latency: each answer comes no sooner than it (a lower bound only),
    // and it is the same answer.
    let latency = Duration::from_millis(150);
    fake.set_latency(latency);
    for ((method, url), status) in calls.iter().zip(&statuses) {
        let started = Instant::now();
        let got = send(method.clone(), url, Duration::from_secs(30))
            .await
            .unwrap();
        assert!(
            started.elapsed() >= latency,
            "{method} {url} answered early"
        );
        assert_eq!(got, *status, "{method} {url}");
    }
}

#[tokio::test]
async fn a_report_is_delivered_through_latency() {
    let fake = FakeLark::start().await.unwrap();
    let cfg = fake.add_webhook("slow", WebhookOptions::default());
    fake.set_latency(Duration::from_millis(100));
    let notifier =
        LarkWebhookNotifier::new(LarkWebhookConfig::from_json(&cfg.to_string()).unwrap()).unwrap();
    let started = Instant::now();
    notifier.send_report(&sample_report(3)).await.unwrap();
    assert!(started.elapsed() >= Duration::from_millis(100));
    assert_eq!(fake.received().len(), 1);
    assert_eq!(fake.request_counts().get("webhook"), Some(&1));
}
