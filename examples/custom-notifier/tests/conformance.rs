//! The Slack notifier passes the notifier conformance suite against a local Slack-like server.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use axum::Router;
use axum::extract::State;
use axum::routing::post;
use storewatch_core::Registry;
use storewatch_core::notify::Notifier;
use storewatch_core::testkit::notifier::{NotifierHarness, check_all};

type Received = Arc<Mutex<Vec<String>>>;

/// Answers like Slack: `200 ok` as text, recording the payload's text.
async fn slack(State(received): State<Received>, body: String) -> &'static str {
    let json: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
    received
        .lock()
        .expect("the recorder is never poisoned")
        .push(json["text"].as_str().unwrap_or_default().to_owned());
    "ok"
}

struct Harness {
    notifier: Arc<dyn Notifier>,
    received: Received,
}

#[async_trait]
impl NotifierHarness for Harness {
    fn notifier(&self) -> Arc<dyn Notifier> {
        self.notifier.clone()
    }
    async fn received(&self) -> Vec<String> {
        self.received
            .lock()
            .expect("the recorder is never poisoned")
            .clone()
    }
}

#[tokio::test]
async fn slack_notifier_passes_the_conformance_suite() {
    let received = Received::default();
    let app = Router::new()
        .route("/services/T0/B0/x", post(slack))
        .with_state(received.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/services/T0/B0/x", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let mut registry = Registry::new();
    custom_notifier::register(&mut registry);
    let config = serde_json::json!({ "webhook_url": url }).to_string();
    let notifier = registry
        .build_notifier(custom_notifier::KIND, &config.into())
        .unwrap();
    check_all(&Harness { notifier, received }).await;
}
