//! [`ExecutionRunner`]: what a scheduler hands a claimed execution to (the
//! [`Pipeline`](crate::pipeline::Pipeline) in storewatch), and the [`RunReport`] it returns.

use std::fmt::Debug;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tokio_util::sync::CancellationToken;

use crate::model::{Execution, ExecutionOutcome, ExecutionStatus};

/// How a run went, before it is recorded.
#[derive(Debug, Clone, PartialEq)]
pub struct RunReport {
    /// `Success`, `Failed` or `Cancelled`.
    pub status: ExecutionStatus,
    /// Apps and deliveries that went through.
    pub success_count: u32,
    /// Apps and deliveries that failed.
    pub error_count: u32,
    /// Alert events produced.
    pub alerts_generated: u32,
    /// Messages sent.
    pub notifications_sent: u32,
    /// Capped output log.
    pub output_log: String,
    /// Capped error log.
    pub error_log: String,
    /// Some apps' data were not yet available: ask again at this time. Not a failure.
    pub not_yet_available: Option<DateTime<Utc>>,
}

impl RunReport {
    /// A report of `status` with nothing counted.
    pub fn new(status: ExecutionStatus) -> Self {
        RunReport {
            status,
            success_count: 0,
            error_count: 0,
            alerts_generated: 0,
            notifications_sent: 0,
            output_log: String::new(),
            error_log: String::new(),
            not_yet_available: None,
        }
    }

    /// The outcome to record.
    pub fn outcome(&self) -> ExecutionOutcome {
        let mut o = ExecutionOutcome::with_status(self.status);
        o.success_count = self.success_count;
        o.error_count = self.error_count;
        o.alerts_generated = self.alerts_generated;
        o.notifications_sent = self.notifications_sent;
        o.output_log = self.output_log.clone();
        o.error_log = self.error_log.clone();
        o
    }
}

/// Runs one claimed execution. Implementations check `cancel` between units of work
/// and return `Cancelled` when it fires; they never record the outcome themselves.
#[async_trait]
pub trait ExecutionRunner: Send + Sync + Debug {
    /// Does the execution's work.
    async fn run(&self, execution: &Execution, cancel: CancellationToken) -> RunReport;
}
