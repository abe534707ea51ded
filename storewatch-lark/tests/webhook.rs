//! LarkWebhookNotifier against FakeLark over real HTTP.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns unwrap too

use std::sync::Arc;

use async_trait::async_trait;
use storewatch_core::alert::AlertEventKind;
use storewatch_core::clock::ManualClock;
use storewatch_core::model::Mention;
use storewatch_core::notify::{Notifier, RetryingNotifier};
use storewatch_core::testkit::notifier::{NotifierHarness, check_all, sample_alert, sample_report};
use storewatch_core::{ErrorKind, Registry};
use storewatch_lark::fake::{FakeLark, Fault, RateLimitMode, WebhookOptions};
use storewatch_lark::{LarkWebhookConfig, LarkWebhookNotifier, sign};

fn notifier(cfg: serde_json::Value) -> LarkWebhookNotifier {
    LarkWebhookNotifier::new(LarkWebhookConfig::from_json(&cfg.to_string()).unwrap()).unwrap()
}

struct Harness {
    fake: FakeLark,
    notifier: Arc<dyn Notifier>,
}

#[async_trait]
impl NotifierHarness for Harness {
    fn notifier(&self) -> Arc<dyn Notifier> {
        self.notifier.clone()
    }
    async fn received(&self) -> Vec<String> {
        self.fake.received().iter().map(|m| m.text()).collect()
    }
}

#[tokio::test]
async fn passes_the_notifier_conformance_suite() {
    let fake = FakeLark::start().await.unwrap();
    let cfg = fake.add_webhook(
        "conformance",
        WebhookOptions {
            secret: Some("s3cret".into()),
            ..Default::default()
        },
    );
    let notifier: Arc<dyn Notifier> = Arc::new(notifier(cfg));
    check_all(&Harness { fake, notifier }).await;
}

#[tokio::test]
async fn signed_cards_are_accepted_and_a_wrong_secret_is_refused() {
    let fake = FakeLark::start().await.unwrap();
    let mut cfg = fake.add_webhook(
        "signed",
        WebhookOptions {
            secret: Some("demo".into()),
            ..Default::default()
        },
    );
    notifier(cfg.clone())
        .send_alert(&sample_alert(AlertEventKind::Firing))
        .await
        .unwrap();
    let got = fake.received();
    assert_eq!(got.len(), 1);
    assert!(
        got[0].body["timestamp"].is_string(),
        "timestamp is sent as a string"
    );
    assert_eq!(got[0].template(), Some("red"));

    cfg["secret"] = "not-the-secret".into();
    let err = notifier(cfg)
        .send_alert(&sample_alert(AlertEventKind::Firing))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthenticated);
    assert!(err.to_string().contains("secret"), "{err}");
    assert!(!err.to_string().contains("not-the-secret"));
}

#[tokio::test]
async fn the_fake_refuses_dingtalk_style_signatures_and_integer_timestamps() {
    let fake = FakeLark::start().await.unwrap();
    fake.add_webhook(
        "strict",
        WebhookOptions {
            secret: Some("demo".into()),
            ..Default::default()
        },
    );
    let url = format!("{}/open-apis/bot/v2/hook/strict", fake.base_url());
    let now = storewatch_core::clock::Clock::now(&storewatch_core::clock::SystemClock).timestamp();
    let http = reqwest::Client::new();
    let send = |body: serde_json::Value| {
        let (http, url) = (http.clone(), url.clone());
        async move {
            http.post(url)
                .json(&body)
                .send()
                .await
                .unwrap()
                .json::<serde_json::Value>()
                .await
                .unwrap()
        }
    };
    let dingtalk = {
        use base64::Engine;
        use hmac::Mac;
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(b"demo").unwrap();
        mac.update(format!("{now}\ndemo").as_bytes());
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    };
    let text = serde_json::json!({"text": "hi"});
    let r = send(serde_json::json!({"timestamp": now.to_string(), "sign": dingtalk, "msg_type": "text", "content": text})).await;
    assert_eq!(r["code"], 19021);
    let r = send(serde_json::json!({"timestamp": now, "sign": sign(now, "demo"), "msg_type": "text", "content": text})).await;
    assert_eq!(
        r["code"], 19021,
        "integer timestamps are refused unless the knob allows them"
    );
    let r = send(serde_json::json!({"timestamp": (now - 4000).to_string(), "sign": sign(now - 4000, "demo"), "msg_type": "text", "content": text})).await;
    assert_eq!(r["code"], 19021, "more than an hour of skew");
    let r = send(serde_json::json!({"timestamp": now.to_string(), "sign": sign(now, "demo"), "msg_type": "text", "content": text})).await;
    assert_eq!(r["code"], 0);
}

#[tokio::test]
async fn a_long_report_is_split_in_order_with_nothing_lost() {
    let fake = FakeLark::start().await.unwrap();
    let cfg = fake.add_webhook("long", WebhookOptions::default());
    notifier(cfg).send_report(&sample_report(60)).await.unwrap();
    let got = fake.received();
    assert!(got.len() > 1, "a 60-app report needs several messages");
    let texts: Vec<String> = got.iter().map(|m| m.text()).collect();
    for m in &got {
        assert_eq!(m.msg_type(), "post");
        assert!(m.body.to_string().len() <= 20 * 1024);
    }
    let joined = texts.join("\n");
    let mut last = 0;
    for i in 0..60 {
        let at = joined
            .find(&format!("App {i} ("))
            .unwrap_or_else(|| panic!("App {i} lost"));
        assert!(at >= last, "App {i} out of order");
        last = at;
    }
}

#[tokio::test]
async fn mentions_render_for_open_ids_and_everyone_and_a_bad_one_falls_back() {
    let fake = FakeLark::start().await.unwrap();
    let cfg = fake.add_webhook("mentions", WebhookOptions::default());
    let mut alert = sample_alert(AlertEventKind::Firing);
    alert.mentions = vec![
        Mention::User("ou_7d8a6e6df7621556ce0d21922b676706".into()),
        Mention::All,
    ];
    let n = notifier(cfg);
    n.send_alert(&alert).await.unwrap();
    let card = fake.received()[0].body.to_string();
    assert!(
        card.contains("<at id=ou_7d8a6e6df7621556ce0d21922b676706></at>")
            && card.contains("<at id=all></at>"),
        "{card}"
    );

    alert.mentions = vec![Mention::User("ou_".into())];
    n.send_alert(&alert).await.unwrap();
    let got = fake.received();
    assert_eq!(
        got.len(),
        2,
        "the card is resent without the mention Lark refused"
    );
    assert!(!got[1].body.to_string().contains("<at id="));
}

#[tokio::test]
async fn keyword_token_and_size_failures_are_permanent_and_named() {
    let fake = FakeLark::start().await.unwrap();
    let cfg = fake.add_webhook(
        "kw",
        WebhookOptions {
            keywords: vec!["daily-kpi".into()],
            ..Default::default()
        },
    );
    let err = notifier(cfg.clone())
        .send_alert(&sample_alert(AlertEventKind::Firing))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(err.to_string().contains("keyword"), "{err}");
    let mut with_keyword = cfg;
    with_keyword["keyword"] = "daily-kpi".into();
    notifier(with_keyword)
        .send_alert(&sample_alert(AlertEventKind::Firing))
        .await
        .unwrap();

    let mut unknown = fake.add_webhook("known", WebhookOptions::default());
    unknown["webhook_url"] = "https://open.feishu.cn/open-apis/bot/v2/hook/gone0xyz".into();
    let err = notifier(unknown)
        .send_alert(&sample_alert(AlertEventKind::Firing))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(
        !err.to_string().contains("gone0xyz"),
        "the token never appears in errors: {err}"
    );

    fake.set_max_body_bytes(1000);
    let err = notifier(fake.add_webhook("small", WebhookOptions::default()))
        .send_report(&sample_report(20))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
}

#[tokio::test]
async fn transient_failures_and_rate_limits_are_retried_by_the_registered_notifier() {
    let fake = FakeLark::start().await.unwrap();
    fake.set_legacy_success(true);
    let cfg = fake.add_webhook("flaky", WebhookOptions::default());
    let mut registry = Registry::new();
    storewatch_lark::register(&mut registry);
    let n = registry
        .build_notifier("lark_webhook", &cfg.to_string().into())
        .unwrap();
    fake.inject([
        Fault::ServerError,
        Fault::NonJson200,
        Fault::ConnectionReset,
    ]);
    n.send_alert(&sample_alert(AlertEventKind::Firing))
        .await
        .unwrap();
    assert_eq!(fake.received().len(), 1);
    assert_eq!(fake.request_counts()["webhook"], 4);
}

#[tokio::test]
async fn the_fake_refuses_a_burst_that_ignores_its_limits() {
    let fake = FakeLark::start().await.unwrap();
    fake.set_rate_limit_mode(RateLimitMode::Http400TooMany);
    fake.add_webhook("raw", WebhookOptions::default());
    let url = format!("{}/open-apis/bot/v2/hook/raw", fake.base_url());
    let http = reqwest::Client::new();
    let mut codes = Vec::new();
    for _ in 0..8 {
        let r = http
            .post(&url)
            .json(&serde_json::json!({"msg_type": "text", "content": {"text": "x"}}))
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let body: serde_json::Value = r.json().await.unwrap();
        codes.push((status, body["code"].as_i64().unwrap()));
    }
    assert_eq!(&codes[..5], &[(200, 0); 5]);
    assert!(codes[5..].iter().all(|c| *c == (400, 9499)), "{codes:?}");
    assert_eq!(fake.refused_by_limiter(), 3);
}

/// Takes about 70 s: 150 cards at Lark's real 5/s and 100/min.
#[tokio::test]
async fn a_burst_of_150_alerts_is_paced_so_none_is_refused_and_order_is_kept() {
    let fake = FakeLark::start().await.unwrap();
    let cfg = fake.add_webhook("burst", WebhookOptions::default());
    let n: Arc<dyn Notifier> =
        Arc::new(RetryingNotifier::new(Arc::new(notifier(cfg))).with_attempts(1));
    for i in 0..150 {
        let mut alert = sample_alert(AlertEventKind::Firing);
        alert.app_name = format!("Burst {i}");
        n.send_alert(&alert)
            .await
            .unwrap_or_else(|e| panic!("alert {i}: {e}"));
    }
    let got = fake.received();
    assert_eq!(got.len(), 150);
    assert_eq!(fake.refused_by_limiter(), 0);
    for (i, m) in got.iter().enumerate() {
        assert!(
            m.text().contains(&format!("Burst {i} ")),
            "message {i} out of order"
        );
    }
}

#[tokio::test]
async fn sends_on_the_hour_and_half_hour_are_throttled_when_the_peak_mode_is_on() {
    let clock = ManualClock::new("2026-03-02T09:59:58Z".parse().unwrap());
    let fake = FakeLark::start_with_clock(Arc::new(clock.clone()))
        .await
        .unwrap();
    fake.set_peak_throttle(Some(std::time::Duration::from_secs(5)));
    let n = notifier(fake.add_webhook("peak", WebhookOptions::default()));
    let alert = sample_alert(AlertEventKind::Firing);
    let mut outcomes = Vec::new();
    for at in [
        "2026-03-02T09:59:58Z",
        "2026-03-02T10:00:01Z",
        "2026-03-02T10:00:06Z",
        "2026-03-02T10:30:04.9Z",
        "2026-03-02T10:45:00Z",
    ] {
        clock.set(at.parse().unwrap());
        outcomes.push(match n.send_alert(&alert).await {
            Ok(_) => "sent",
            Err(e) if matches!(e.kind(), ErrorKind::RateLimited { .. }) => "rate limited",
            Err(e) => panic!("at {at}: {e}"),
        });
    }
    assert_eq!(
        outcomes,
        ["sent", "rate limited", "sent", "rate limited", "sent"]
    );
    assert_eq!(fake.received().len(), 3);
    assert_eq!(fake.refused_by_limiter(), 2);
}
