//! Sending with a record: every send is recorded as a delivery before it is attempted
//! and marked after, so a retried execution skips what was already delivered.

use std::collections::HashMap;
use std::sync::Arc;

use super::{Pipeline, RunState};
use crate::Result;
use crate::model::{ChannelId, ChannelSpec, DeliveryStatus, Execution, Spec};
use crate::notify::{AlertNotification, DailyReport, Notifier};

/// A message to send.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Message<'a> {
    Report(&'a DailyReport),
    Alert(&'a AlertNotification),
}

/// Notifiers built during one run, by channel (`None` = inactive channel).
pub(crate) type Notifiers = HashMap<ChannelId, Option<Arc<dyn Notifier>>>;

/// How a delivery ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Delivered {
    /// Sent now or by an earlier attempt.
    Yes,
    /// The channel is inactive: nothing to send.
    Skipped,
    /// The send failed (recorded and counted).
    Failed,
}

impl Pipeline {
    pub(crate) async fn deliver(
        &self,
        execution: &Execution,
        channel_id: ChannelId,
        key: &str,
        message: Message<'_>,
        notifiers: &mut Notifiers,
        st: &mut RunState,
    ) -> Delivered {
        let store = &self.inner.store;
        let notifier = match self.notifier(channel_id, notifiers).await {
            Ok(Some(n)) => n,
            Ok(None) => return Delivered::Skipped,
            Err(e) => {
                st.error(format!("channel {channel_id}: {e}"));
                return Delivered::Failed;
            }
        };
        let record = match store
            .start_delivery(execution.chain_id(), channel_id, key)
            .await
        {
            Ok(r) => r,
            Err(e) => {
                st.error(format!(
                    "recording delivery {key} to channel {channel_id}: {e}"
                ));
                return Delivered::Failed;
            }
        };
        if record.status == DeliveryStatus::Sent {
            st.out
                .line(format!("{key} to channel {channel_id}: already delivered"));
            return Delivered::Yes;
        }
        let sent = match message {
            Message::Report(report) => notifier.send_report(report).await,
            Message::Alert(alert) => notifier.send_alert(alert).await,
        };
        let (status, error) = match &sent {
            Ok(_) => (DeliveryStatus::Sent, None),
            Err(e) => (DeliveryStatus::Failed, Some(e.to_string())),
        };
        if let Err(e) = store.finish_delivery(record.id, status, error).await {
            st.error(format!(
                "marking delivery {key} to channel {channel_id}: {e}"
            ));
        }
        match sent {
            Ok(_) => {
                st.sent += 1;
                st.out.line(format!("{key} to channel {channel_id}: sent"));
                Delivered::Yes
            }
            Err(e) => {
                st.error(format!("{key} to channel {channel_id}: {e}"));
                Delivered::Failed
            }
        }
    }

    async fn notifier(
        &self,
        id: ChannelId,
        notifiers: &mut Notifiers,
    ) -> Result<Option<Arc<dyn Notifier>>> {
        if let Some(n) = notifiers.get(&id) {
            return Ok(n.clone());
        }
        let channel = self.inner.store.get_channel(id).await?;
        let built = if channel.is_active {
            let config =
                self.keyring("channels")?
                    .open(ChannelSpec::KIND, channel.id.0, &channel.sealed)?;
            Some(
                self.inner
                    .registry
                    .build_notifier(&channel.kind, &config)
                    .map_err(|e| e.context(format!("channel {:?}", channel.name)))?,
            )
        } else {
            None
        };
        notifiers.insert(id, built.clone());
        Ok(built)
    }
}
