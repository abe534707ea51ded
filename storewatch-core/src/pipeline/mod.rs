//! [`Pipeline`] (DESIGN §4): runs one execution — DataCollection, AlertCheck or
//! FullAnalysis — over any [`Store`], [`Registry`], [`Analyzer`] and [`AlertEvaluator`].
//!
//! The pipeline never records an execution's end itself: it returns a [`RunReport`]
//! (it is the scheduler's [`ExecutionRunner`]); [`Pipeline::execute`] adds the
//! recording and the retry for callers without a scheduler.
//!
//! Failure isolation: one app's failure is counted in `error_count` and logged; the
//! other apps go on. A provider that has not published a day yet makes its apps
//! *pending*: the run succeeds and asks for a retry at the provider's hint.

mod alerts;
mod collect;
mod deliver;
mod reports;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use tokio_util::sync::CancellationToken;

pub use alerts::AlertCheckOutput;
pub use collect::CollectionSummary;
pub use reports::{build_daily_report, pct_change};

use crate::alert::AlertEvaluator;
use crate::analysis::Analyzer;
use crate::clock::{Clock, SystemClock};
use crate::model::{App, CredentialId, Execution, ExecutionStatus, InstanceId, LogBuffer, Task};
use crate::schedule::{ExecutionRunner, RetryPolicy, RunReport, complete_execution};
use crate::secrets::Keyring;
use crate::source::MetricSource;
use crate::store::Store;
use crate::{Error, ErrorKind, Registry, Result};

/// Tunables of the pipeline.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct PipelineConfig {
    /// How far back DataCollection fills missing days (default 14).
    pub lookback_days: u32,
    /// How many recent days DataCollection collects again to pick up the providers'
    /// late corrections (default 3).
    pub restate_days: u32,
    /// Base URL of the admin UI; alert cards link to it when set.
    pub admin_base_url: Option<String>,
    /// Byte cap of each execution log (default 64 KiB).
    pub log_cap: usize,
}

impl Default for PipelineConfig {
    fn default() -> Self {
        PipelineConfig {
            lookback_days: 14,
            restate_days: 3,
            admin_base_url: None,
            log_cap: LogBuffer::DEFAULT_CAP,
        }
    }
}

impl PipelineConfig {
    /// Sets the admin base URL for alert links.
    #[must_use]
    pub fn with_admin_base_url(mut self, url: impl Into<String>) -> Self {
        self.admin_base_url = Some(url.into().trim_end_matches('/').to_owned());
        self
    }

    /// Sets how far back missing days are filled.
    #[must_use]
    pub fn with_lookback_days(mut self, days: u32) -> Self {
        self.lookback_days = days.max(1);
        self
    }

    /// Sets how many recent days are collected again.
    #[must_use]
    pub fn with_restate_days(mut self, days: u32) -> Self {
        self.restate_days = days.max(1);
        self
    }
}

/// Runs the collect → analyze → alert → notify tasks.
///
/// A credential's source is built once per version of the credential and kept for the
/// executions that follow (clones of a pipeline share them), so what a source caches —
/// access tokens, app ids, report ids, connection pools — outlives one run; updating the
/// credential builds a new source, and removing it drops the old one.
///
/// ```
/// use std::sync::Arc;
/// use storewatch_core::pipeline::Pipeline;
/// use storewatch_core::{Registry, store::MemoryStore};
/// # use storewatch_core::{alert::*, analysis::*, model::*};
/// # #[derive(Debug)] struct A; impl Analyzer for A { fn analyze(&self, _: &MetricHistory, day: chrono::NaiveDate) -> storewatch_core::Result<Analysis> { Ok(Analysis { day, summaries: vec![] }) } }
/// # #[derive(Debug)] struct E; impl AlertEvaluator for E { fn evaluate(&self, _: &Analysis, _: &[AlertRule], _: &AlertStates, _: chrono::DateTime<chrono::Utc>) -> Evaluation { Evaluation::default() } }
///
/// let pipeline = Pipeline::builder(Arc::new(MemoryStore::new()), Registry::new())
///     .analyzer(Arc::new(A))
///     .evaluator(Arc::new(E))
///     .build()?;
/// # Ok::<(), storewatch_core::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Pipeline {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    store: Arc<dyn Store>,
    registry: Registry,
    analyzer: Arc<dyn Analyzer>,
    evaluator: Arc<dyn AlertEvaluator>,
    clock: Arc<dyn Clock>,
    keyring: Option<Keyring>,
    config: PipelineConfig,
    sources: Mutex<BuiltSources>,
}

/// Built sources by credential, with the credential version each was built from.
type BuiltSources = HashMap<CredentialId, (i64, Arc<dyn MetricSource>)>;

/// Builds a [`Pipeline`]; the analyzer and the evaluator are required.
#[derive(Debug)]
pub struct PipelineBuilder {
    store: Arc<dyn Store>,
    registry: Registry,
    analyzer: Option<Arc<dyn Analyzer>>,
    evaluator: Option<Arc<dyn AlertEvaluator>>,
    clock: Arc<dyn Clock>,
    keyring: Option<Keyring>,
    config: PipelineConfig,
}

impl PipelineBuilder {
    /// The analyzer (e.g. `PolarsAnalyzer`).
    #[must_use]
    pub fn analyzer(mut self, analyzer: Arc<dyn Analyzer>) -> Self {
        self.analyzer = Some(analyzer);
        self
    }

    /// The alert evaluator (e.g. `RuleEvaluator`).
    #[must_use]
    pub fn evaluator(mut self, evaluator: Arc<dyn AlertEvaluator>) -> Self {
        self.evaluator = Some(evaluator);
        self
    }

    /// The clock (default: the system clock).
    #[must_use]
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The keyring that opens credentials and channels (required as soon as one exists).
    #[must_use]
    pub fn keyring(mut self, keyring: Keyring) -> Self {
        self.keyring = Some(keyring);
        self
    }

    /// Tunables.
    #[must_use]
    pub fn config(mut self, config: PipelineConfig) -> Self {
        self.config = config;
        self
    }

    /// The pipeline; `Config` error when the analyzer or evaluator is missing.
    pub fn build(self) -> Result<Pipeline> {
        let missing =
            |what: &str| Error::new(ErrorKind::Config, format!("pipeline: no {what} given"));
        Ok(Pipeline {
            inner: Arc::new(Inner {
                store: self.store,
                registry: self.registry,
                analyzer: self.analyzer.ok_or_else(|| missing("analyzer"))?,
                evaluator: self.evaluator.ok_or_else(|| missing("alert evaluator"))?,
                clock: self.clock,
                keyring: self.keyring,
                config: self.config,
                sources: Mutex::new(HashMap::new()),
            }),
        })
    }
}

/// What one run accumulates: counts and capped logs.
#[derive(Debug)]
pub(crate) struct RunState {
    pub(crate) success: u32,
    pub(crate) errors: u32,
    pub(crate) alerts: u32,
    pub(crate) sent: u32,
    pub(crate) pending_until: Option<DateTime<Utc>>,
    pub(crate) any_pending: bool,
    pub(crate) out: LogBuffer,
    pub(crate) err: LogBuffer,
}

impl RunState {
    fn new(cap: usize) -> Self {
        RunState {
            success: 0,
            errors: 0,
            alerts: 0,
            sent: 0,
            pending_until: None,
            any_pending: false,
            out: LogBuffer::new(cap),
            err: LogBuffer::new(cap),
        }
    }

    pub(crate) fn error(&mut self, what: impl std::fmt::Display) {
        self.errors += 1;
        tracing::warn!(error = %what, "execution step failed");
        self.err.line(what.to_string());
    }

    pub(crate) fn pending(&mut self, retry_after: Option<DateTime<Utc>>) {
        self.any_pending = true;
        if let Some(at) = retry_after {
            self.pending_until = Some(self.pending_until.map_or(at, |cur| cur.min(at)));
        }
    }

    fn into_report(self, cancelled: bool, now: DateTime<Utc>) -> RunReport {
        let status = if cancelled {
            ExecutionStatus::Cancelled
        } else if self.errors > 0 {
            ExecutionStatus::Failed
        } else {
            ExecutionStatus::Success
        };
        let mut report = RunReport::new(status);
        report.success_count = self.success;
        report.error_count = self.errors;
        report.alerts_generated = self.alerts;
        report.notifications_sent = self.sent;
        report.output_log = self.out.finish();
        report.error_log = self.err.finish();
        report.not_yet_available = self.any_pending.then(|| self.pending_until.unwrap_or(now));
        report
    }
}

impl Pipeline {
    /// Starts building a pipeline over `store` with the sources and notifiers of `registry`.
    pub fn builder(store: Arc<dyn Store>, registry: Registry) -> PipelineBuilder {
        PipelineBuilder {
            store,
            registry,
            analyzer: None,
            evaluator: None,
            clock: Arc::new(SystemClock),
            keyring: None,
            config: PipelineConfig::default(),
        }
    }

    /// The keyring that opens the stored `what` (credentials or channels).
    fn keyring(&self, what: &str) -> Result<&Keyring> {
        self.inner.keyring.as_ref().ok_or_else(|| {
            Error::new(
                ErrorKind::Config,
                format!("no master key: set STOREWATCH_MASTER_KEY to open the stored {what}"),
            )
        })
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.inner.store
    }

    /// Runs `execution` and records its end in the store (as `instance`, which must
    /// hold its lease), queuing a retry when it failed with attempts left or when data
    /// were not yet available. Returns the finished execution and the queued retry.
    pub async fn execute(
        &self,
        execution: &Execution,
        instance: &InstanceId,
        cancel: CancellationToken,
        policy: &RetryPolicy,
    ) -> Result<(Execution, Option<Execution>)> {
        let report = self.run(execution, cancel).await;
        complete_execution(
            self.inner.store.as_ref(),
            execution,
            instance,
            &report,
            policy,
        )
        .await
    }

    /// The apps an execution works on: its one app, or every active app.
    async fn target_apps(&self, execution: &Execution) -> Result<Vec<App>> {
        match execution.app_id {
            Some(id) => Ok(vec![self.inner.store.get_app(id).await?]),
            None => Ok(self
                .inner
                .store
                .list_apps()
                .await?
                .into_iter()
                .filter(|a| a.is_active)
                .collect()),
        }
    }

    async fn run_task(
        &self,
        execution: &Execution,
        cancel: &CancellationToken,
        st: &mut RunState,
    ) -> Result<()> {
        let apps = self.target_apps(execution).await?;
        let day = execution.target_date;
        match execution.task {
            Task::DataCollection => {
                self.collect(&apps, day, cancel, st).await?;
            }
            Task::AlertCheck => {
                self.alert_check(execution, &apps, day, st).await?;
            }
            Task::FullAnalysis => {
                self.collect(&apps, day, cancel, st).await?;
                if cancel.is_cancelled() {
                    return Ok(());
                }
                let output = self.alert_check(execution, &apps, day, st).await?;
                if cancel.is_cancelled() {
                    return Ok(());
                }
                self.send_reports(execution, &apps, &output, st).await?;
            }
        }
        Ok(())
    }

    /// Today's date for a target computed in UTC (used by callers without a schedule).
    pub fn today(&self) -> NaiveDate {
        self.inner.clock.now().date_naive()
    }
}

#[async_trait]
impl ExecutionRunner for Pipeline {
    async fn run(&self, execution: &Execution, cancel: CancellationToken) -> RunReport {
        let mut st = RunState::new(self.inner.config.log_cap);
        st.out.line(format!(
            "{} for {} (attempt {}, {})",
            execution.task, execution.target_date, execution.attempt, execution.trigger
        ));
        if let Err(e) = self.run_task(execution, &cancel, &mut st).await {
            st.error(format!("{} aborted: {e}", execution.task));
        }
        st.into_report(cancel.is_cancelled(), self.inner.clock.now())
    }
}
