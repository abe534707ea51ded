//! Notification (DESIGN §3): the [`Notifier`] trait and the messages it renders.

mod message;
mod recording;
mod retry;

use std::fmt::Debug;
use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

pub use message::{AlertNotification, AppReport, DailyReport, MetricLine, PlatformTotal};
pub use recording::{Recorded, RecordingNotifier};
pub use retry::RetryingNotifier;

use crate::Result;

/// What a provider said when it accepted a message.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Delivery {
    /// The provider's message id, when it returns one.
    pub provider_message_id: Option<String>,
}

/// Sends messages to one channel. Built by the channel kind's factory from the
/// channel's opened config; one instance per channel.
///
/// Errors are storewatch errors: `RateLimited` and `Unavailable` are retryable, a
/// refused signature or a bad webhook is `Unauthenticated` / `Config`. Run
/// [`testkit::notifier::check_all`](crate::testkit) against a new notifier.
#[async_trait]
pub trait Notifier: Send + Sync + Debug {
    /// Sends the daily report.
    async fn send_report(&self, report: &DailyReport) -> Result<Delivery>;
    /// Sends one alert card (firing or resolved).
    async fn send_alert(&self, alert: &AlertNotification) -> Result<Delivery>;
}

macro_rules! forward_notifier {
    ($ty:ty) => {
        #[async_trait]
        impl<T: Notifier + ?Sized> Notifier for $ty {
            async fn send_report(&self, report: &DailyReport) -> Result<Delivery> {
                (**self).send_report(report).await
            }
            async fn send_alert(&self, alert: &AlertNotification) -> Result<Delivery> {
                (**self).send_alert(alert).await
            }
        }
    };
}
forward_notifier!(Arc<T>);
forward_notifier!(Box<T>);
