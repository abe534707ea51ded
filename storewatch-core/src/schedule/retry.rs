//! Recording how an execution ended and queuing its retry (DESIGN §7): exponential
//! backoff with jitter for failures, the provider's hint for data not yet available.

use std::time::Duration;

use chrono::{DateTime, Days, Utc};
use rand::Rng;

use super::RunReport;
use crate::Result;
use crate::model::{Execution, ExecutionStatus, InstanceId, NewExecution};
use crate::store::RunStore;

/// When failed executions are tried again.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// Delay before the first retry (default 1 min); doubles with every attempt.
    pub base: Duration,
    /// Longest delay (default 1 h).
    pub cap: Duration,
    /// How long after the end of the target day (UTC) executions keep waiting for data
    /// that are not yet available (default 48 h).
    pub availability_deadline: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            base: Duration::from_secs(60),
            cap: Duration::from_secs(3600),
            availability_deadline: Duration::from_secs(48 * 3600),
        }
    }
}

impl RetryPolicy {
    /// The delay before attempt `attempt + 1`: `min(cap, base × 2^(attempt−1))`, with
    /// jitter drawing it uniformly from its upper half.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let exp = self.base.saturating_mul(
            1u32.checked_shl(attempt.saturating_sub(1))
                .unwrap_or(u32::MAX),
        );
        let full = exp.min(self.cap);
        let half = full / 2;
        half + half.mul_f64(rand::thread_rng().gen_range(0.0..=1.0))
    }

    /// Whether an execution for `exec`'s target day may still wait for data at `now`.
    pub fn within_availability(&self, exec: &Execution, now: DateTime<Utc>) -> bool {
        let day_end = exec
            .target_date
            .checked_add_days(Days::new(1))
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|d| d.and_utc());
        match (
            day_end,
            chrono::Duration::from_std(self.availability_deadline),
        ) {
            (Some(end), Ok(deadline)) => now < end + deadline,
            _ => false,
        }
    }
}

/// Records how `exec` (held by `instance`) ended and queues what follows: a retry with
/// backoff after `Failed` or `Timeout` while attempts remain, or a retry at the
/// provider's hint when data were not yet available and the availability deadline has
/// not passed. Returns the finished execution and the queued retry.
pub async fn complete_execution(
    store: &dyn RunStore,
    exec: &Execution,
    instance: &InstanceId,
    report: &RunReport,
    policy: &RetryPolicy,
) -> Result<(Execution, Option<Execution>)> {
    let finished = store
        .finish_execution(exec.id, instance, report.outcome())
        .await?;
    let now = store.now().await?;
    let run_after = match finished.status {
        ExecutionStatus::Failed | ExecutionStatus::Timeout if finished.can_retry() => Some(
            now + chrono::Duration::from_std(policy.backoff(finished.attempt)).unwrap_or_default(),
        ),
        ExecutionStatus::Success if report.not_yet_available.is_some() => {
            policy.within_availability(&finished, now).then(|| {
                let hint = report.not_yet_available.unwrap_or(now);
                let earliest = now + chrono::Duration::from_std(policy.base).unwrap_or_default();
                hint.max(earliest)
            })
        }
        _ => None,
    };
    let retry = match run_after {
        Some(at) => {
            store
                .insert_execution(NewExecution::retry(&finished, at))
                .await?
        }
        None => None,
    };
    Ok((finished, retry))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_within_jitter_and_caps() {
        let p = RetryPolicy::default();
        for attempt in 1..=10 {
            let full = (60u64 << (attempt - 1)).min(3600);
            let d = p.backoff(attempt).as_secs_f64();
            assert!(
                d >= full as f64 / 2.0 - 1e-6 && d <= full as f64 + 1e-6,
                "attempt {attempt}: {d}"
            );
        }
        assert!(p.backoff(u32::MAX) <= p.cap);
    }
}
