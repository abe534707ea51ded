//! [`RateLimiter`]: spaces requests evenly so a provider's per-second quota holds
//! across every concurrent task of a source.

use std::time::Duration;

use tokio::sync::Mutex;
use tokio::time::{Instant, sleep_until};

/// Lets through at most `per_second` calls a second, evenly spaced (no bursts, so a
/// quota counted over any one-second window holds).
#[derive(Debug)]
pub(crate) struct RateLimiter {
    interval: Duration,
    next: Mutex<Option<Instant>>,
}

impl RateLimiter {
    pub(crate) fn new(per_second: u32) -> Self {
        RateLimiter {
            interval: Duration::from_secs(1) / per_second.max(1),
            next: Mutex::new(None),
        }
    }

    /// Waits for the next free slot.
    pub(crate) async fn acquire(&self) {
        let at = {
            let mut next = self.next.lock().await;
            let now = Instant::now();
            let at = next.map_or(now, |n| n.max(now));
            *next = Some(at + self.interval);
            at
        };
        sleep_until(at).await;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn spaces_concurrent_callers_at_the_rate() {
        let limiter = Arc::new(RateLimiter::new(10));
        let start = Instant::now();
        let tasks: Vec<_> = (0..25)
            .map(|_| {
                let limiter = limiter.clone();
                tokio::spawn(async move {
                    limiter.acquire().await;
                    Instant::now()
                })
            })
            .collect();
        let mut times = Vec::new();
        for task in tasks {
            times.push(task.await.unwrap() - start);
        }
        times.sort();
        // In virtual time: call k goes out at k × 100 ms, so no one-second window holds more than 10.
        for (k, t) in times.iter().enumerate() {
            assert_eq!(*t, Duration::from_millis(100 * k as u64), "call {k}");
        }
        for window in times.windows(11) {
            assert!(window[10] - window[0] >= Duration::from_secs(1));
        }
    }
}
