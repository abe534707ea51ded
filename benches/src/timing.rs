//! Wall-clock timing of repeated runs: the best of a few, which is the least disturbed
//! by other work on the machine.

use std::time::{Duration, Instant};

/// Runs `f` `runs` times (at least once) and returns the shortest duration and the last
/// result.
pub fn best_of<T>(runs: usize, mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut timed = || {
        let start = Instant::now();
        let out = f();
        (start.elapsed(), out)
    };
    let (mut best, mut out) = timed();
    for _ in 1..runs {
        // Drop the previous result first so runs do not overlap in memory.
        drop(out);
        let (elapsed, next) = timed();
        best = best.min(elapsed);
        out = next;
    }
    (best, out)
}

/// Items per second.
pub fn per_second(items: usize, elapsed: Duration) -> f64 {
    items as f64 / elapsed.as_secs_f64().max(f64::MIN_POSITIVE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn best_of_runs_each_time_and_returns_last() {
        let mut calls = 0;
        let (_, out) = best_of(3, || {
            calls += 1;
            calls
        });
        assert_eq!((calls, out), (3, 3));
        let (_, out) = best_of(0, || 7);
        assert_eq!(out, 7);
    }

    #[test]
    fn per_second_divides() {
        assert_eq!(per_second(10, Duration::from_secs(2)), 5.0);
    }
}
