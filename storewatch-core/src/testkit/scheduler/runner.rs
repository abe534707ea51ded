//! [`TestRunner`]: an [`ExecutionRunner`] that does what a test tells it per execution
//! and remembers every run it was handed.

use std::fmt;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use tokio_util::sync::CancellationToken;

use crate::model::{Execution, ExecutionId, ExecutionStatus};
use crate::schedule::{ExecutionRunner, RunReport};

/// What a [`TestRunner`] does with one execution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunBehaviour {
    /// Returns `Success` with one app done and one line of output.
    Succeed,
    /// Returns `Failed` with one app failed.
    Fail,
    /// Waits for its cancel token, then returns `Cancelled`.
    Hang,
    /// Waits forever, ignoring its cancel token.
    HangIgnoringCancel,
    /// Panics.
    Panic,
    /// Works this long (or until cancelled), then succeeds.
    Sleep(Duration),
}

type Plan = Box<dyn Fn(&Execution) -> RunBehaviour + Send + Sync>;

/// A runner scripted per execution by a plan; it records every execution it starts and
/// every report it returns.
pub struct TestRunner {
    plan: Plan,
    started: Mutex<Vec<Execution>>,
    finished: Mutex<Vec<(ExecutionId, ExecutionStatus)>>,
}

impl fmt::Debug for TestRunner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestRunner")
            .field("started", &self.started().len())
            .finish_non_exhaustive()
    }
}

impl TestRunner {
    /// A runner doing what `plan` says for each execution.
    pub fn new(plan: impl Fn(&Execution) -> RunBehaviour + Send + Sync + 'static) -> Self {
        TestRunner {
            plan: Box::new(plan),
            started: Mutex::new(Vec::new()),
            finished: Mutex::new(Vec::new()),
        }
    }

    /// A runner doing `behaviour` with every execution.
    pub fn always(behaviour: RunBehaviour) -> Self {
        Self::new(move |_| behaviour)
    }

    /// The executions started, in order (as claimed).
    pub fn started(&self) -> Vec<Execution> {
        self.started
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// How many times execution `id` was started.
    pub fn starts_of(&self, id: ExecutionId) -> usize {
        self.started().iter().filter(|e| e.id == id).count()
    }

    /// The runs that returned, with the status each returned.
    pub fn finished(&self) -> Vec<(ExecutionId, ExecutionStatus)> {
        self.finished
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

#[async_trait]
impl ExecutionRunner for TestRunner {
    async fn run(&self, execution: &Execution, cancel: CancellationToken) -> RunReport {
        self.started
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(execution.clone());
        let behaviour = (self.plan)(execution);
        let report = match behaviour {
            RunBehaviour::Succeed => succeeded(execution),
            RunBehaviour::Fail => {
                let mut r = RunReport::new(ExecutionStatus::Failed);
                r.error_count = 1;
                r.error_log = format!("execution {}: app failed", execution.id);
                r
            }
            RunBehaviour::Hang => {
                cancel.cancelled().await;
                RunReport::new(ExecutionStatus::Cancelled)
            }
            RunBehaviour::HangIgnoringCancel => std::future::pending().await,
            RunBehaviour::Panic => {
                panic!("test runner told to panic on execution {}", execution.id)
            }
            RunBehaviour::Sleep(d) => tokio::select! {
                () = tokio::time::sleep(d) => succeeded(execution),
                () = cancel.cancelled() => RunReport::new(ExecutionStatus::Cancelled),
            },
        };
        self.finished
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((execution.id, report.status));
        report
    }
}

fn succeeded(execution: &Execution) -> RunReport {
    let mut r = RunReport::new(ExecutionStatus::Success);
    r.success_count = 1;
    r.alerts_generated = 2;
    r.notifications_sent = 1;
    r.output_log = format!(
        "execution {} attempt {}: collected {}",
        execution.id, execution.attempt, execution.target_date
    );
    r
}
