//! A sliding-window limiter per webhook: at most 5 sends per second and 100 per minute,
//! Lark's documented limits, so a burst waits instead of being refused.
//!
//! Limiters are shared by every notifier of the same webhook in the process (the
//! pipeline builds a notifier per run), keyed by a hash of the webhook URL.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use sha2::{Digest, Sha256};
use tokio::time::Instant;

/// Windows and their budgets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Limits {
    pub(crate) per_second: usize,
    pub(crate) per_minute: usize,
}

impl Limits {
    pub(crate) const LARK_WEBHOOK: Limits = Limits {
        per_second: 5,
        per_minute: 100,
    };
}

/// Send times of one webhook within the last minute.
#[derive(Debug)]
pub(crate) struct RateLimiter {
    limits: Limits,
    sent: Mutex<VecDeque<Instant>>,
    // Serialises waiters so messages leave in the order they were submitted.
    turn: tokio::sync::Mutex<()>,
}

impl RateLimiter {
    pub(crate) fn new(limits: Limits) -> Self {
        RateLimiter {
            limits,
            sent: Mutex::new(VecDeque::new()),
            turn: tokio::sync::Mutex::new(()),
        }
    }

    /// The shared limiter of the webhook at `url`.
    pub(crate) fn for_webhook(url: &str) -> Arc<RateLimiter> {
        static LIMITERS: OnceLock<Mutex<HashMap<[u8; 32], Arc<RateLimiter>>>> = OnceLock::new();
        let key: [u8; 32] = Sha256::digest(url.as_bytes()).into();
        let mut map = LIMITERS
            .get_or_init(Default::default)
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        map.entry(key)
            .or_insert_with(|| Arc::new(RateLimiter::new(Limits::LARK_WEBHOOK)))
            .clone()
    }

    /// Waits until one more send fits both windows, then records it.
    pub(crate) async fn acquire(&self) {
        let _turn = self.turn.lock().await;
        loop {
            let wait = {
                let mut sent = self.sent.lock().unwrap_or_else(|p| p.into_inner());
                let now = Instant::now();
                while sent
                    .front()
                    .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(60))
                {
                    sent.pop_front();
                }
                let in_last_second = sent
                    .iter()
                    .rev()
                    .take_while(|t| now.duration_since(**t) < Duration::from_secs(1))
                    .count();
                if sent.len() < self.limits.per_minute && in_last_second < self.limits.per_second {
                    sent.push_back(now);
                    return;
                }
                let second_free = sent
                    .iter()
                    .rev()
                    .nth(self.limits.per_second.saturating_sub(1))
                    .map(|t| *t + Duration::from_secs(1));
                let minute_free = (sent.len() >= self.limits.per_minute)
                    .then(|| sent[sent.len() - self.limits.per_minute] + Duration::from_secs(60));
                let until = [second_free, minute_free]
                    .into_iter()
                    .flatten()
                    .max()
                    .unwrap_or(now);
                // A small margin keeps us clear of the server's own window boundary.
                until.saturating_duration_since(now) + Duration::from_millis(20)
            };
            tokio::time::sleep(wait).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn bursts_are_paced_to_both_windows() {
        let limiter = RateLimiter::new(Limits::LARK_WEBHOOK);
        let start = Instant::now();
        let mut times = Vec::new();
        for _ in 0..150 {
            limiter.acquire().await;
            times.push(start.elapsed());
        }
        for (i, t) in times.iter().enumerate() {
            let in_second = times[..=i]
                .iter()
                .filter(|u| t.saturating_sub(**u) < Duration::from_secs(1))
                .count();
            let in_minute = times[..=i]
                .iter()
                .filter(|u| t.saturating_sub(**u) < Duration::from_secs(60))
                .count();
            assert!(
                in_second <= 5 && in_minute <= 100,
                "send {i} at {t:?}: {in_second}/s {in_minute}/min"
            );
        }
        assert!(
            times[99] < Duration::from_secs(21),
            "the first 100 go at 5/s: {:?}",
            times[99]
        );
        assert!(
            times[100] >= Duration::from_secs(60),
            "the 101st waits for the minute: {:?}",
            times[100]
        );
    }
}
