//! [`LarkWebhookNotifier`] (`lark_webhook`): the daily report as `post` messages and
//! alerts as interactive cards, signed when the bot has a secret, paced to Lark's
//! limits.

use std::sync::Arc;

use async_trait::async_trait;
use secrecy::ExposeSecret;
use serde_json::Value;
use storewatch_core::clock::{Clock, SystemClock};
use storewatch_core::notify::{AlertNotification, DailyReport, Delivery, Notifier};
use storewatch_core::{ErrorKind, Result};

use crate::config::LarkWebhookConfig;
use crate::limiter::RateLimiter;
use crate::render::{alert_card, report_posts};
use crate::sign::sign;

/// Sends to one Lark custom-bot webhook.
///
/// Failures are storewatch errors: a refused signature is `Unauthenticated`, a missing
/// keyword or a deleted bot is `Config`, Lark's rate limits are `RateLimited` (wrap in
/// [`RetryingNotifier`](storewatch_core::notify::RetryingNotifier) to retry them;
/// [`register`](crate::register) does).
#[derive(Debug)]
pub struct LarkWebhookNotifier {
    config: LarkWebhookConfig,
    http: reqwest::Client,
    limiter: Arc<RateLimiter>,
    clock: Arc<dyn Clock>,
}

impl LarkWebhookNotifier {
    /// A notifier for a validated config.
    pub fn new(config: LarkWebhookConfig) -> Result<Self> {
        config.validate()?;
        let http = crate::http::client(config.timeout())?;
        let limiter = RateLimiter::for_webhook(config.webhook_url.expose_secret());
        Ok(LarkWebhookNotifier {
            config,
            http,
            limiter,
            clock: Arc::new(SystemClock),
        })
    }

    /// Uses `clock` for signature timestamps.
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    async fn post(&self, mut body: Value) -> Result<Value> {
        if let Some(secret) = &self.config.secret {
            let ts = self.clock.now().timestamp();
            body["timestamp"] = Value::String(ts.to_string());
            body["sign"] = Value::String(sign(ts, secret.expose_secret()));
        }
        let _in_flight = self.limiter.acquire().await;
        crate::http::send(self.http.post(self.config.endpoint()).json(&body)).await
    }
}

#[async_trait]
impl Notifier for LarkWebhookNotifier {
    async fn send_report(&self, report: &DailyReport) -> Result<Delivery> {
        let posts = report_posts(
            report,
            self.config.max_body_bytes,
            self.config.keyword.as_deref(),
        );
        let n = posts.len();
        for (i, post) in posts.into_iter().enumerate() {
            self.post(post)
                .await
                .map_err(|e| e.context(format!("daily report part {} of {n}", i + 1)))?;
        }
        Ok(Delivery::default())
    }

    async fn send_alert(&self, alert: &AlertNotification) -> Result<Delivery> {
        let keyword = self.config.keyword.as_deref();
        match self.post(alert_card(alert, keyword)).await {
            // A mention Lark does not accept must not cost the alert: send it without.
            Err(e)
                if e.kind() == ErrorKind::InvalidInput
                    && e.message().contains("mention")
                    && !alert.mentions.is_empty() =>
            {
                tracing::warn!(error = %e, "alert card refused for its mentions; sending it without them");
                let mut bare = alert.clone();
                bare.mentions.clear();
                self.post(alert_card(&bare, keyword)).await?;
            }
            other => {
                other?;
            }
        }
        Ok(Delivery::default())
    }
}
