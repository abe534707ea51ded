//! [`SchedulerConfig`]: how a scheduler instance paces itself — tick, lease,
//! concurrency, grace periods, housekeeping and retry backoff.

use std::time::Duration;

use super::RetryPolicy;
use crate::{Error, Result};

/// How a [`StoreScheduler`](super::StoreScheduler) paces itself.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct SchedulerConfig {
    /// How often the loop looks for due slots and pending executions (default 1 s). It
    /// also wakes at the next known slot, so slots fire on time whatever the tick.
    pub tick: Duration,
    /// How long a claimed execution is held without renewal (default 60 s); renewed
    /// every third of it while running.
    pub lease: Duration,
    /// Executions this instance runs at once (default 4).
    pub concurrency: usize,
    /// How long running executions may go on after shutdown is asked (default 30 s).
    pub shutdown_grace: Duration,
    /// How long a runner has to return after its cancel token fires before it is
    /// abandoned and the run recorded anyway (default 10 s).
    pub stop_grace: Duration,
    /// How often the instance heartbeat is written (default 10 s).
    pub heartbeat_every: Duration,
    /// How often expired leases are looked for (default 5 s).
    pub reap_every: Duration,
    /// How often the schedule list is reloaded from the store (default 30 s).
    pub refresh_every: Duration,
    /// How long an instance may go without a heartbeat before the reaper forgets it
    /// (default 24 h). A process that was killed never deregisters; an instance that was
    /// only paused registers again with its next heartbeat.
    pub forget_instances_after: Duration,
    /// Backoff of retries.
    pub retry: RetryPolicy,
}

impl Default for SchedulerConfig {
    fn default() -> Self {
        SchedulerConfig {
            tick: Duration::from_secs(1),
            lease: Duration::from_secs(60),
            concurrency: 4,
            shutdown_grace: Duration::from_secs(30),
            stop_grace: Duration::from_secs(10),
            heartbeat_every: Duration::from_secs(10),
            reap_every: Duration::from_secs(5),
            refresh_every: Duration::from_secs(30),
            forget_instances_after: Duration::from_secs(24 * 3600),
            retry: RetryPolicy::default(),
        }
    }
}

impl SchedulerConfig {
    /// Sets the tick.
    #[must_use]
    pub fn with_tick(mut self, tick: Duration) -> Self {
        self.tick = tick;
        self
    }

    /// Sets the lease length.
    #[must_use]
    pub fn with_lease(mut self, lease: Duration) -> Self {
        self.lease = lease;
        self
    }

    /// Sets how many executions run at once on this instance.
    #[must_use]
    pub fn with_concurrency(mut self, concurrency: usize) -> Self {
        self.concurrency = concurrency;
        self
    }

    /// Sets the shutdown grace period.
    #[must_use]
    pub fn with_shutdown_grace(mut self, grace: Duration) -> Self {
        self.shutdown_grace = grace;
        self
    }

    /// Sets how long a cancelled runner has to return.
    #[must_use]
    pub fn with_stop_grace(mut self, grace: Duration) -> Self {
        self.stop_grace = grace;
        self
    }

    /// Sets the heartbeat, reaper and schedule-reload periods.
    #[must_use]
    pub fn with_housekeeping(
        mut self,
        heartbeat: Duration,
        reap: Duration,
        refresh: Duration,
    ) -> Self {
        self.heartbeat_every = heartbeat;
        self.reap_every = reap;
        self.refresh_every = refresh;
        self
    }

    /// Sets how long an instance may go unseen before it is forgotten.
    #[must_use]
    pub fn with_forget_instances_after(mut self, unseen: Duration) -> Self {
        self.forget_instances_after = unseen;
        self
    }

    /// Sets the retry backoff.
    #[must_use]
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Checks the values; the error names the field.
    pub fn validate(&self) -> Result<()> {
        let positive = [
            ("tick", self.tick),
            ("heartbeat_every", self.heartbeat_every),
            ("reap_every", self.reap_every),
            ("refresh_every", self.refresh_every),
        ];
        for (field, d) in positive {
            if d.is_zero() {
                return Err(Error::invalid_field(field, d, "a positive duration"));
            }
        }
        if self.lease < Duration::from_millis(30) {
            return Err(Error::invalid_field(
                "lease",
                self.lease,
                "at least 30 ms (it is renewed every third of it)",
            ));
        }
        if self.concurrency == 0 {
            return Err(Error::invalid_field("concurrency", 0, "at least 1"));
        }
        if self.retry.cap < self.retry.base {
            return Err(Error::invalid_field(
                "retry.cap",
                self.retry.cap,
                format!("at least the retry base ({:?})", self.retry.base),
            ));
        }
        if self.forget_instances_after <= self.heartbeat_every * 3 {
            return Err(Error::invalid_field(
                "forget_instances_after",
                self.forget_instances_after,
                format!(
                    "more than three heartbeats ({:?}), so live instances are never forgotten",
                    self.heartbeat_every * 3
                ),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_validation_names_the_field() {
        assert!(SchedulerConfig::default().validate().is_ok());
        let err = SchedulerConfig::default()
            .with_concurrency(0)
            .validate()
            .unwrap_err();
        assert!(err.message().contains("concurrency"), "{err}");
        let err = SchedulerConfig::default()
            .with_tick(Duration::ZERO)
            .validate()
            .unwrap_err();
        assert!(err.message().contains("tick"), "{err}");
        let err = SchedulerConfig::default()
            .with_lease(Duration::from_millis(3))
            .validate()
            .unwrap_err();
        assert!(err.message().contains("lease"), "{err}");
        let err = SchedulerConfig::default()
            .with_forget_instances_after(Duration::from_secs(30))
            .validate()
            .unwrap_err();
        assert!(err.message().contains("forget_instances_after"), "{err}");
    }
}
