//! [`ReportConfig`]: which daily report goes where.

use serde::{Deserialize, Serialize};

use super::app::validate_name;
use super::{AppId, ChannelId, Metric, Record, ReportId, Spec};
use crate::{Error, Result};

/// A daily report; stored as a [`ReportConfig`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportSpec {
    /// Display name.
    pub name: String,
    /// One app, or `None` for the portfolio report of every active app.
    #[serde(default)]
    pub app_id: Option<AppId>,
    /// The metrics shown, in order.
    pub metrics: Vec<Metric>,
    /// Where it goes: typically a webhook for the message and optionally a sheet for rows.
    pub channels: Vec<ChannelId>,
    /// Inactive reports are not sent.
    #[serde(default = "super::app::yes")]
    pub is_active: bool,
}

impl Spec for ReportSpec {
    type Id = ReportId;
    const KIND: &'static str = "report";

    fn validate(&self) -> Result<()> {
        validate_name("name", &self.name)?;
        if self.metrics.is_empty() {
            return Err(Error::invalid_field(
                "metrics",
                &self.metrics,
                "at least one metric",
            ));
        }
        if self.channels.is_empty() {
            return Err(Error::invalid_field(
                "channels",
                &self.channels,
                "at least one channel",
            ));
        }
        Ok(())
    }
}

/// A stored report configuration.
pub type ReportConfig = Record<ReportSpec>;
