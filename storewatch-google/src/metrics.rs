//! The metrics this source produces beyond core's well-known ones, and which Google
//! field each comes from.

use std::sync::LazyLock;

use storewatch_core::model::Metric;

fn metric(name: &'static str) -> Metric {
    // The names below are literals checked by a unit test.
    Metric::new(name).unwrap_or(Metric::CRASH_RATE)
}

/// Crashes users noticed (foreground), as a fraction: Reporting API `userPerceivedCrashRate`.
pub static USER_PERCEIVED_CRASH_RATE: LazyLock<Metric> =
    LazyLock::new(|| metric("user_perceived_crash_rate"));
/// ANRs users noticed, as a fraction: Reporting API `userPerceivedAnrRate`.
pub static USER_PERCEIVED_ANR_RATE: LazyLock<Metric> =
    LazyLock::new(|| metric("user_perceived_anr_rate"));
/// Users active that day (rounded by Google; never sum it over days): Reporting API
/// `distinctUsers` of `crashRateMetricSet`.
pub static DISTINCT_USERS: LazyLock<Metric> = LazyLock::new(|| metric("distinct_users"));

/// Every metric a [`GooglePlaySource`](crate::GooglePlaySource) produces.
pub fn all() -> Vec<Metric> {
    vec![
        Metric::CRASH_RATE,
        USER_PERCEIVED_CRASH_RATE.clone(),
        Metric::ANR_RATE,
        USER_PERCEIVED_ANR_RATE.clone(),
        DISTINCT_USERS.clone(),
        Metric::DOWNLOADS,
        Metric::UPDATES,
        Metric::UNINSTALLS,
        Metric::ACTIVE_DEVICES,
        Metric::RATING_AVG,
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_valid_and_distinct() {
        let all = all();
        for name in [
            "user_perceived_crash_rate",
            "user_perceived_anr_rate",
            "distinct_users",
        ] {
            assert!(all.contains(&Metric::new(name).unwrap()), "{name}");
        }
        let mut sorted = all.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), all.len());
    }
}
