//! The data model (DESIGN §2): apps, credentials, channels, rules, reports, schedules,
//! executions, metric points, alert states, deliveries and instances.
//!
//! Configuration records are [`Record`]s around a validated spec; every constructor
//! and [`Spec::validate`] names the field and the value it refuses.

mod alert;
mod app;
mod channel;
mod credential;
mod delivery;
pub mod durations;
mod execution;
mod ids;
mod instance;
mod metric;
mod platform;
mod record;
mod report;
mod rule;
mod schedule;

pub use alert::{AlertState, AlertStates, AlertStatus, Fingerprint};
pub use app::{App, AppSpec};
pub use channel::{Channel, ChannelSpec, LARK_WEBHOOK_HOSTS, validate_lark_webhook_url};
pub use credential::{Credential, CredentialSpec};
pub use delivery::{DeliveryRecord, DeliveryStatus};
pub use execution::{
    Execution, ExecutionFilter, ExecutionOutcome, ExecutionStatus, LogBuffer, NewExecution, Trigger,
};
pub use ids::{
    AppId, ChannelId, CredentialId, DeliveryId, ExecutionId, InstanceId, ReportId, RuleId,
    ScheduleId,
};
pub use instance::InstanceInfo;
pub use metric::{Metric, MetricPoint, Segment, validate_segment};
pub use platform::{BundleId, Platform};
pub use record::{Record, Spec};
pub use report::{ReportConfig, ReportSpec};
pub use rule::{AbsOp, AlertRule, AlertRuleSpec, Condition, Direction, Mention, Severity, Window};
pub use schedule::{Frequency, Schedule, ScheduleSpec, Task, parse_timezone};

/// Checks a registry kind name such as `lark_webhook`.
fn validate_kind(field: &str, kind: &str) -> crate::Result<()> {
    let ok = !kind.is_empty()
        && kind
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(crate::Error::invalid_field(
            field,
            kind,
            "a kind name like \"lark_webhook\"",
        ))
    }
}
