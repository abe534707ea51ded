//! [`RetryingNotifier`]: retries any notifier's retryable failures with exponential
//! backoff, honouring the provider's `retry_after`.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use super::{AlertNotification, DailyReport, Delivery, Notifier};
use crate::Result;

/// Wraps a notifier: `RateLimited`, `Unavailable` and `Timeout` errors are retried up
/// to `attempts` times in all, waiting the provider's `retry_after` when it gave one,
/// else `base × 2ⁿ` capped at `cap`. Permanent errors return at once.
#[derive(Debug, Clone)]
pub struct RetryingNotifier {
    inner: Arc<dyn Notifier>,
    attempts: u32,
    base: Duration,
    cap: Duration,
}

impl RetryingNotifier {
    /// Wraps `inner` with 4 attempts, 500 ms base and 30 s cap.
    pub fn new(inner: Arc<dyn Notifier>) -> Self {
        RetryingNotifier {
            inner,
            attempts: 4,
            base: Duration::from_millis(500),
            cap: Duration::from_secs(30),
        }
    }

    /// Sets the number of attempts in all (at least 1).
    #[must_use]
    pub fn with_attempts(mut self, attempts: u32) -> Self {
        self.attempts = attempts.max(1);
        self
    }

    /// Sets the first delay and the longest one.
    #[must_use]
    pub fn with_backoff(mut self, base: Duration, cap: Duration) -> Self {
        self.base = base;
        self.cap = cap;
        self
    }

    async fn retry<'a, F, Fut>(&'a self, send: F) -> Result<Delivery>
    where
        F: Fn(&'a dyn Notifier) -> Fut,
        Fut: std::future::Future<Output = Result<Delivery>>,
    {
        let mut delay = self.base;
        let mut attempt = 1;
        loop {
            match send(self.inner.as_ref()).await {
                Err(e) if e.is_retryable() && attempt < self.attempts => {
                    let wait = e.retry_after().unwrap_or(delay).min(self.cap);
                    tracing::debug!(attempt, ?wait, error = %e, "retrying notification");
                    tokio::time::sleep(wait).await;
                    delay = (delay * 2).min(self.cap);
                    attempt += 1;
                }
                other => return other,
            }
        }
    }
}

#[async_trait]
impl Notifier for RetryingNotifier {
    async fn send_report(&self, report: &DailyReport) -> Result<Delivery> {
        self.retry(|n| n.send_report(report)).await
    }

    async fn send_alert(&self, alert: &AlertNotification) -> Result<Delivery> {
        self.retry(|n| n.send_alert(alert)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::RecordingNotifier;
    use crate::{Error, ErrorKind};

    #[derive(Debug)]
    struct Failing(ErrorKind);

    #[async_trait]
    impl Notifier for Failing {
        async fn send_report(&self, _: &DailyReport) -> Result<Delivery> {
            Err(Error::new(self.0, "no"))
        }
        async fn send_alert(&self, _: &AlertNotification) -> Result<Delivery> {
            Err(Error::new(self.0, "no"))
        }
    }

    fn report() -> DailyReport {
        DailyReport {
            title: "t".into(),
            day: chrono::NaiveDate::default(),
            apps: vec![],
            totals: vec![],
            notes: vec![],
        }
    }

    #[tokio::test(start_paused = true)]
    async fn retries_retryable_then_succeeds() {
        let rec = Arc::new(RecordingNotifier::new());
        rec.fail_next(2);
        let n = RetryingNotifier::new(rec.clone());
        n.send_report(&report()).await.unwrap();
        assert_eq!(rec.messages().len(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn gives_up_after_attempts_and_never_retries_permanent_errors() {
        let rec = Arc::new(RecordingNotifier::new());
        rec.fail_next(10);
        let err = RetryingNotifier::new(rec.clone())
            .with_attempts(3)
            .send_report(&report())
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unavailable);
        rec.fail_next(0);
        assert_eq!(rec.messages().len(), 0);
        let err = RetryingNotifier::new(Arc::new(Failing(ErrorKind::Unauthenticated)))
            .send_report(&report())
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unauthenticated);
    }
}
