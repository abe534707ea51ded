#![doc = include_str!("../README.md")]

mod config;
mod error;
#[cfg(feature = "fake")]
pub mod fake;
mod http;
mod limiter;
pub mod render;
mod sheet;
mod sign;
mod webhook;

use std::sync::Arc;

use secrecy::ExposeSecret;
use storewatch_core::Registry;
use storewatch_core::notify::{Notifier, RetryingNotifier};

pub use config::{DEFAULT_MAX_BODY_BYTES, LarkSheetConfig, LarkWebhookConfig};
pub use sheet::{LarkSheetNotifier, MAX_ROWS_PER_APPEND, SHEET_COLUMNS, alert_row, report_rows};
pub use sign::sign;
pub use webhook::LarkWebhookNotifier;

/// Channel kind of [`LarkWebhookNotifier`].
pub const WEBHOOK_KIND: &str = "lark_webhook";
/// Channel kind of [`LarkSheetNotifier`].
pub const SHEET_KIND: &str = "lark_sheet";

/// Registers both channel kinds; their notifiers retry Lark's rate limits and
/// transient failures.
pub fn register(registry: &mut Registry) {
    registry.register_notifier(WEBHOOK_KIND, |config| {
        let cfg = LarkWebhookConfig::from_json(config.expose_secret())?;
        let notifier: Arc<dyn Notifier> = Arc::new(LarkWebhookNotifier::new(cfg)?);
        Ok(Arc::new(RetryingNotifier::new(notifier)))
    });
    registry.register_notifier(SHEET_KIND, |config| {
        let cfg = LarkSheetConfig::from_json(config.expose_secret())?;
        let notifier: Arc<dyn Notifier> = Arc::new(LarkSheetNotifier::new(cfg)?);
        Ok(Arc::new(RetryingNotifier::new(notifier)))
    });
}
