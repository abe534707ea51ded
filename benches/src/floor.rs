//! The floor of a batch of requests: the earliest the last one can be answered when each
//! takes a fixed latency, a client keeps at most so many in flight, and a provider lets
//! at most so many start in any window of time. It is what no client could beat, so a
//! bench divides its wall time by it.

use std::time::Duration;

/// A provider's rate window: at most `count` requests start in any `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateWindow {
    /// Requests allowed in the window.
    pub count: usize,
    /// The window's length.
    pub window: Duration,
}

impl RateWindow {
    /// `count` requests per `window`.
    pub const fn new(count: usize, window: Duration) -> Self {
        RateWindow { count, window }
    }
}

/// When the last of `n` requests is answered at the earliest: request k starts once
/// request k − `concurrency` has been answered and, for every window, request
/// k − `count` started a whole window earlier. Without windows this is
/// ⌈n ÷ concurrency⌉ × latency; with them the windows bound it.
pub fn request_floor(
    n: usize,
    latency: Duration,
    concurrency: usize,
    windows: &[RateWindow],
) -> Duration {
    let concurrency = concurrency.max(1);
    let mut starts: Vec<Duration> = Vec::with_capacity(n);
    for k in 0..n {
        let mut start = starts.last().copied().unwrap_or_default();
        if k >= concurrency {
            start = start.max(starts[k - concurrency] + latency);
        }
        for w in windows {
            if w.count > 0 && k >= w.count {
                start = start.max(starts[k - w.count] + w.window);
            }
        }
        starts.push(start);
    }
    starts.last().map_or(Duration::ZERO, |s| *s + latency)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn latency_over_concurrency_without_windows() {
        assert_eq!(request_floor(0, 50 * MS, 3, &[]), Duration::ZERO);
        assert_eq!(request_floor(3, 50 * MS, 3, &[]), 50 * MS);
        assert_eq!(request_floor(1000, 50 * MS, 16, &[]), 63 * 50 * MS);
        assert_eq!(request_floor(4, 50 * MS, 1, &[]), 200 * MS);
    }

    #[test]
    fn windows_bound_a_fast_client() {
        let per_second = [RateWindow::new(10, Duration::from_secs(1))];
        // 1000 queries at 10/s: the last starts 99 s after the first.
        assert_eq!(
            request_floor(1000, 50 * MS, 16, &per_second),
            Duration::from_secs(99) + 50 * MS
        );
        // Lark: 5/s and 100/min on one sequential bot; 10 posts end at 1.25 s.
        let lark = [
            RateWindow::new(5, Duration::from_secs(1)),
            RateWindow::new(100, Duration::from_secs(60)),
        ];
        assert_eq!(request_floor(10, 50 * MS, 1, &lark), 1250 * MS);
        // Past 100 posts the minute window takes over.
        assert_eq!(
            request_floor(101, 50 * MS, 1, &lark),
            Duration::from_secs(60) + 50 * MS
        );
    }
}
