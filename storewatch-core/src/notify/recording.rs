//! [`RecordingNotifier`]: a [`Notifier`] that keeps what it was asked to send — the
//! reference implementation of the trait, for tests, demos and dry runs.

use std::sync::Mutex;

use async_trait::async_trait;

use super::{AlertNotification, DailyReport, Delivery, Notifier};
use crate::{Error, ErrorKind, Result};

/// One recorded message.
#[derive(Debug, Clone, PartialEq)]
pub enum Recorded {
    /// A daily report.
    Report(DailyReport),
    /// An alert card.
    Alert(AlertNotification),
}

/// Records every message; can be told to fail the next sends.
#[derive(Debug, Default)]
pub struct RecordingNotifier {
    state: Mutex<(Vec<Recorded>, u32)>,
}

impl RecordingNotifier {
    /// An empty recorder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every message accepted so far, in order.
    pub fn messages(&self) -> Vec<Recorded> {
        self.lock().0.clone()
    }

    /// Makes the next `n` sends fail with `Unavailable`.
    pub fn fail_next(&self, n: u32) {
        self.lock().1 = n;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, (Vec<Recorded>, u32)> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn record(&self, message: Recorded) -> Result<Delivery> {
        let mut st = self.lock();
        if st.1 > 0 {
            st.1 -= 1;
            return Err(Error::new(
                ErrorKind::Unavailable,
                "recording notifier told to fail",
            ));
        }
        st.0.push(message);
        Ok(Delivery {
            provider_message_id: Some(format!("rec-{}", st.0.len())),
        })
    }
}

#[async_trait]
impl Notifier for RecordingNotifier {
    async fn send_report(&self, report: &DailyReport) -> Result<Delivery> {
        self.record(Recorded::Report(report.clone()))
    }

    async fn send_alert(&self, alert: &AlertNotification) -> Result<Delivery> {
        self.record(Recorded::Alert(alert.clone()))
    }
}
