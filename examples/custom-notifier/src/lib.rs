//! A Slack incoming-webhook notifier: the guide for adding a notifier to storewatch.
//!
//! 1. a config parsed from the channel's opened JSON, secrets in `SecretString`;
//! 2. the [`Notifier`] trait: render, post, map the provider's answers to [`ErrorKind`]s;
//! 3. `register()` so channels of kind [`KIND`] get this notifier;
//! 4. `tests/conformance.rs` runs `storewatch_core::testkit::notifier::check_all`.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::{Value, json};
use storewatch_core::notify::{
    AlertNotification, DailyReport, Delivery, Notifier, RetryingNotifier,
};
use storewatch_core::{Error, ErrorKind, Registry, Result};

/// The channel kind.
pub const KIND: &str = "slack_webhook";

/// `{"webhook_url": "https://hooks.slack.com/services/T…/B…/…"}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlackConfig {
    /// The webhook URL: the only credential, kept secret.
    pub webhook_url: SecretString,
}

/// Posts Block Kit messages to one Slack webhook.
#[derive(Debug)]
pub struct SlackWebhookNotifier {
    url: SecretString,
    http: reqwest::Client,
}

impl SlackWebhookNotifier {
    /// A notifier for the config's webhook.
    pub fn new(config: SlackConfig) -> Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build();
        let http = http.map_err(|e| Error::new(ErrorKind::Config, "HTTP client").with_source(e))?;
        Ok(SlackWebhookNotifier {
            url: config.webhook_url,
            http,
        })
    }

    async fn post(&self, text: String) -> Result<Delivery> {
        let body = json!({"text": text, "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]});
        let resp = self
            .http
            .post(self.url.expose_secret())
            .json(&body)
            .send()
            .await
            .map_err(|e| {
                Error::new(ErrorKind::Unavailable, "Slack could not be reached")
                    .with_source(e.without_url())
            })?;
        let status = resp.status().as_u16();
        let retry_after = resp
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok()?.parse().ok());
        let answer = resp.text().await.unwrap_or_default();
        let kind = match (status, answer.as_str()) {
            (200, _) => return Ok(Delivery::default()),
            (429, _) => ErrorKind::RateLimited {
                retry_after: retry_after.map(Duration::from_secs),
            },
            (500.., _) => ErrorKind::Unavailable,
            (_, "invalid_payload" | "invalid_blocks" | "no_text") => ErrorKind::InvalidInput,
            _ => ErrorKind::Config, // channel_not_found, channel_is_archived, invalid_token, …
        };
        Err(Error::new(
            kind,
            format!("Slack answered {status}: {answer}"),
        ))
    }
}

#[async_trait]
impl Notifier for SlackWebhookNotifier {
    async fn send_report(&self, report: &DailyReport) -> Result<Delivery> {
        let mut lines = vec![format!("*{}* — {}", report.title, report.day)];
        for app in &report.apps {
            let metrics: Vec<String> = app
                .metrics
                .iter()
                .map(|m| {
                    format!(
                        "{} {}",
                        m.metric,
                        m.value.map_or("–".into(), |v| v.to_string())
                    )
                })
                .collect();
            lines.push(format!(
                "{} ({}): {}",
                app.app_name,
                app.platform,
                metrics.join(", ")
            ));
        }
        // Slack sections hold 3,000 characters: send the report in parts of that size.
        let mut part = String::new();
        for line in lines {
            if part.len() + line.len() > 2900 {
                self.post(std::mem::take(&mut part)).await?;
            }
            part.push_str(&line);
            part.push('\n');
        }
        self.post(part).await
    }

    async fn send_alert(&self, a: &AlertNotification) -> Result<Delivery> {
        let who: Vec<String> = a.mentions.iter().map(|m| format!("<@{m}>")).collect();
        let state = if a.kind == storewatch_core::alert::AlertEventKind::Resolved {
            "RESOLVED"
        } else {
            "FIRING"
        };
        let text = format!(
            "*[{state}] {}* {}: {} {} on {} (value {}) {}",
            a.app_name,
            a.rule_name,
            a.metric,
            a.rule_text,
            a.day,
            a.value,
            who.join(" ")
        );
        self.post(text).await
    }
}

/// Registers [`KIND`], retrying Slack's 429s and 5xx.
pub fn register(registry: &mut Registry) {
    registry.register_notifier(KIND, |config| {
        let cfg: SlackConfig = serde_json::from_str::<Value>(config.expose_secret())
            .and_then(serde_json::from_value)
            .map_err(|e| {
                Error::new(
                    ErrorKind::InvalidInput,
                    format!("slack_webhook config: {e}"),
                )
            })?;
        let inner: Arc<dyn Notifier> = Arc::new(SlackWebhookNotifier::new(cfg)?);
        Ok(Arc::new(RetryingNotifier::new(inner)))
    });
}
