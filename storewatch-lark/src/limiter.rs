//! A sliding-window limiter per webhook: at most 5 sends per second and 100 per minute,
//! Lark's documented limits, so a burst waits instead of being refused.
//!
//! Lark counts a message when it *arrives*, which is some time between the moment we
//! start sending it and the moment its response comes back. So a send counts in every
//! window while it is in flight, and once it completes it is stamped with the time its
//! response arrived: a later send that starts a full window after that stamp cannot
//! arrive inside the same window, whatever the network did to either of them.
//!
//! Limiters are shared by every notifier of the same webhook in the process (the
//! pipeline builds a notifier per run), keyed by a hash of the webhook URL.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use sha2::{Digest, Sha256};
use tokio::sync::Notify;
use tokio::time::Instant;

const SECOND: Duration = Duration::from_secs(1);
const MINUTE: Duration = Duration::from_secs(60);
/// Keeps us clear of the server's own window boundary.
const MARGIN: Duration = Duration::from_millis(20);

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

/// The sends of one webhook that still count: in flight, or completed within a minute.
#[derive(Debug, Default)]
struct Window {
    next_id: u64,
    sends: VecDeque<Send>,
}

#[derive(Debug)]
struct Send {
    id: u64,
    /// When its response arrived; `None` while in flight.
    completed: Option<Instant>,
}

/// What the next send has to wait for.
enum Wait {
    Now,
    Until(Instant),
    /// Sends in flight fill a window on their own: wait for one to complete.
    Completion,
}

impl Window {
    fn prune(&mut self, now: Instant) {
        self.sends
            .retain(|s| s.completed.is_none_or(|t| now.duration_since(t) < MINUTE));
    }

    /// When one more send fits a window of `span` holding at most `budget` sends.
    fn free_in(&self, span: Duration, budget: usize, now: Instant) -> Wait {
        let in_flight = self.sends.iter().filter(|s| s.completed.is_none()).count();
        let mut completed: Vec<Instant> = self
            .sends
            .iter()
            .filter_map(|s| s.completed)
            .filter(|t| now.duration_since(*t) < span)
            .collect();
        if in_flight + completed.len() < budget {
            return Wait::Now;
        }
        // Room for `budget - 1 - in_flight` completed sends besides the new one: wait
        // until the one just older than those leaves the window.
        let Some(keep) = budget.checked_sub(1 + in_flight) else {
            return Wait::Completion;
        };
        completed.sort_unstable_by(|a, b| b.cmp(a));
        Wait::Until(completed[keep] + span + MARGIN)
    }

    fn wait(&self, limits: Limits, now: Instant) -> Wait {
        match (
            self.free_in(SECOND, limits.per_second, now),
            self.free_in(MINUTE, limits.per_minute, now),
        ) {
            (Wait::Completion, _) | (_, Wait::Completion) => Wait::Completion,
            (Wait::Until(a), Wait::Until(b)) => Wait::Until(a.max(b)),
            (Wait::Until(t), Wait::Now) | (Wait::Now, Wait::Until(t)) => Wait::Until(t),
            (Wait::Now, Wait::Now) => Wait::Now,
        }
    }
}

/// The pacing of one webhook: its sends in flight and those of the last minute.
#[derive(Debug)]
pub(crate) struct RateLimiter {
    limits: Limits,
    window: Mutex<Window>,
    completed: Notify,
    // Serialises waiters so messages leave in the order they were submitted.
    turn: tokio::sync::Mutex<()>,
}

/// Leave to send one message; dropping it marks the send complete.
#[derive(Debug)]
#[must_use = "the send counts as in flight until the permit is dropped"]
pub(crate) struct Permit<'a> {
    limiter: &'a RateLimiter,
    id: u64,
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        let now = Instant::now();
        let mut window = self.limiter.lock();
        if let Some(send) = window.sends.iter_mut().find(|s| s.id == self.id) {
            send.completed = Some(now);
        }
        drop(window);
        self.limiter.completed.notify_waiters();
    }
}

impl RateLimiter {
    pub(crate) fn new(limits: Limits) -> Self {
        RateLimiter {
            limits,
            window: Mutex::new(Window::default()),
            completed: Notify::new(),
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

    fn lock(&self) -> std::sync::MutexGuard<'_, Window> {
        self.window.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits until one more send fits both windows; hold the permit while sending.
    pub(crate) async fn acquire(&self) -> Permit<'_> {
        let _turn = self.turn.lock().await;
        loop {
            // Registered before looking, so a completion in between is not missed.
            let completion = self.completed.notified();
            tokio::pin!(completion);
            completion.as_mut().enable();
            let wait = {
                let mut window = self.lock();
                let now = Instant::now();
                window.prune(now);
                match window.wait(self.limits, now) {
                    Wait::Now => {
                        let id = window.next_id;
                        window.next_id += 1;
                        window.sends.push_back(Send {
                            id,
                            completed: None,
                        });
                        return Permit { limiter: self, id };
                    }
                    wait => wait,
                }
            };
            match wait {
                Wait::Until(t) => {
                    tokio::select! {
                        () = tokio::time::sleep_until(t) => {}
                        () = completion => {}
                    }
                }
                _ => completion.await,
            }
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
            drop(limiter.acquire().await);
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

    #[tokio::test(start_paused = true)]
    async fn a_send_counts_while_in_flight_and_from_its_completion() {
        let limiter = Arc::new(RateLimiter::new(Limits::LARK_WEBHOOK));
        let start = Instant::now();
        let mut slow = Vec::new();
        for _ in 0..5 {
            slow.push(limiter.acquire().await);
        }
        let next = tokio::spawn({
            let limiter = limiter.clone();
            async move {
                drop(limiter.acquire().await);
                start.elapsed()
            }
        });
        tokio::time::sleep(Duration::from_secs(5)).await;
        assert!(
            !next.is_finished(),
            "five sends still in flight fill the second"
        );
        drop(slow);
        let waited = next.await.unwrap();
        assert!(
            waited >= Duration::from_secs(6),
            "the sixth starts a second after the others completed: {waited:?}"
        );
    }
}
