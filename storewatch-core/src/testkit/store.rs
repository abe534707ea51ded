//! The store conformance suite: one check per contract of
//! [`ConfigStore`](crate::store::ConfigStore), [`MetricStore`](crate::store::MetricStore)
//! and [`RunStore`](crate::store::RunStore).
//!
//! Each check is a plain `pub async fn name<S: Store + 'static>(store: S)` that takes a
//! fresh, empty store and panics with a message starting with its own name when the
//! store breaks the contract. [`CHECKS`] lists them in the order [`check_all`] runs them.
//!
//! The checks read time only from the store ([`RunStore::now`](crate::store::RunStore::now)),
//! never from a clock of their own, so they hold for stores whose time is the
//! database's; the one check about lease expiry waits for a one second lease to run out
//! (with `tokio::time::sleep`), and the whole suite takes a few seconds. They compare
//! timestamps the suite makes at whole seconds, so a store that keeps microseconds
//! passes. They need a tokio runtime (some race several tasks against the store).
//!
//! # Running the suite against a new store
//!
//! In the store crate's tests, with `storewatch-core` (feature `testkit`) and `tokio`
//! (features `macros`, `rt-multi-thread`) as dev-dependencies, give
//! [`store_conformance_tests!`](crate::store_conformance_tests) an expression that
//! yields a future of a fresh store; it is evaluated once per check:
//!
//! ```ignore
//! // tests/conformance.rs of a store crate
//! use my_store::MyStore;
//!
//! storewatch_core::store_conformance_tests!(async { MyStore::connect_fresh().await.unwrap() });
//! ```
//!
//! This expands to a module `store_conformance` with one `#[tokio::test]` per check,
//! so `cargo test` lists `store_conformance::slot_is_inserted_once … ok` and so on.
//! To run the suite from a single test instead, call [`check_all`] with a factory:
//!
//! ```
//! use storewatch_core::store::MemoryStore;
//! use storewatch_core::testkit::store::check_all;
//!
//! # tokio::runtime::Builder::new_multi_thread().enable_time().build().unwrap().block_on(async {
//! check_all(|| async { MemoryStore::new() }).await;
//! # });
//! ```

/// Panics with `check: message` unless `cond` holds.
macro_rules! ensure {
    ($check:expr, $cond:expr, $($msg:tt)+) => {
        if !$cond {
            panic!("{}: {}", $check, format_args!($($msg)+));
        }
    };
}

/// Panics with `check: message`, both values and the expression, unless they are equal.
macro_rules! ensure_eq {
    ($check:expr, $left:expr, $right:expr, $($msg:tt)+) => {{
        let (left, right) = (&$left, &$right);
        if left != right {
            panic!(
                "{}: {}\n  got:      {:?}\n  expected: {:?}",
                $check,
                format_args!($($msg)+),
                left,
                right
            );
        }
    }};
}

mod config;
mod counts;
mod metrics;
mod run_records;
mod runs;

use std::fmt::Debug;
use std::panic::AssertUnwindSafe;

use chrono::{DateTime, NaiveDate, SubsecRound, Utc};
use futures::FutureExt;

pub use self::config::{
    config_records_round_trip, invalid_spec_refused, missing_records_not_found,
    reserved_ids_are_distinct_and_used, stale_version_conflicts, unique_names_conflict,
};
pub use self::counts::counts_summarize_runs_and_points;
pub use self::metrics::{
    delete_app_cascades, history_selects_days_apps_metrics, latest_dates, upsert_is_idempotent,
    upsert_refuses_nan_and_writes_nothing,
};
pub use self::run_records::{
    alert_states_round_trip, delete_rule_cascades_alert_states, deliveries_keyed_by_chain,
    delivery_sent_is_not_restarted, instances_register_heartbeat_deregister,
    lost_instances_are_forgotten,
};
pub use self::runs::{
    cancel_pending_and_running, claim_by_id_takes_only_that_execution,
    claim_hands_each_execution_to_one_claimer, claim_takes_oldest_due_first,
    executions_round_trip_newest_first, expired_lease_is_reaped, finish_only_by_holder,
    lease_renewed_only_by_holder, skipped_slot_is_never_claimed, slot_is_inserted_once,
};
use crate::{Error, ErrorKind, Result};

/// The list of checks, written once: [`check_all`], [`CHECKS`] and
/// [`store_conformance_tests!`](crate::store_conformance_tests) are all expanded from it.
#[doc(hidden)]
#[macro_export]
macro_rules! __store_conformance_checks {
    (@expand tests ($factory:expr) [$($name:ident),* $(,)?]) => {
        /// The store conformance suite, one test per contract.
        mod store_conformance {
            #[allow(unused_imports)]
            use super::*;

            $(
                #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    $crate::testkit::store::$name(($factory).await).await;
                }
            )*
        }
    };
    (@expand suite () [$($name:ident),* $(,)?]) => {
        /// The name of every check, in the order [`check_all`] runs them.
        pub const CHECKS: &[&str] = &[$(stringify!($name)),*];

        /// Runs every check, each against a fresh store from `factory`, printing
        /// `store conformance: <name> ... ok` (or `FAILED`) per check, and panics at the
        /// end naming the checks that failed.
        ///
        /// Needs a tokio runtime: some checks race several tasks against the store.
        pub async fn check_all<F, Fut, S>(factory: F)
        where
            F: Fn() -> Fut,
            Fut: ::std::future::Future<Output = S>,
            S: $crate::store::Store + 'static,
        {
            let mut failed: Vec<&'static str> = Vec::new();
            $(
                let outcome = AssertUnwindSafe(async { $name(factory().await).await })
                    .catch_unwind()
                    .await;
                report(stringify!($name), outcome.is_ok(), &mut failed);
            )*
            if !failed.is_empty() {
                panic!(
                    "store conformance: {} of {} checks failed: {}",
                    failed.len(),
                    CHECKS.len(),
                    failed.join(", ")
                );
            }
        }
    };
    ($mode:ident $args:tt) => {
        $crate::__store_conformance_checks!(@expand $mode $args [
            reserved_ids_are_distinct_and_used,
            config_records_round_trip,
            missing_records_not_found,
            stale_version_conflicts,
            unique_names_conflict,
            invalid_spec_refused,
            upsert_is_idempotent,
            upsert_refuses_nan_and_writes_nothing,
            history_selects_days_apps_metrics,
            latest_dates,
            delete_app_cascades,
            delete_rule_cascades_alert_states,
            alert_states_round_trip,
            slot_is_inserted_once,
            skipped_slot_is_never_claimed,
            executions_round_trip_newest_first,
            claim_takes_oldest_due_first,
            claim_by_id_takes_only_that_execution,
            claim_hands_each_execution_to_one_claimer,
            lease_renewed_only_by_holder,
            finish_only_by_holder,
            expired_lease_is_reaped,
            cancel_pending_and_running,
            delivery_sent_is_not_restarted,
            deliveries_keyed_by_chain,
            instances_register_heartbeat_deregister,
            lost_instances_are_forgotten,
            counts_summarize_runs_and_points,
        ]);
    };
}

/// Expands to a module `store_conformance` with one `#[tokio::test]` per check of the
/// [store conformance suite](crate::testkit::store), each against a fresh store.
///
/// The argument is an expression of type `impl Future<Output = S>` where
/// `S: Store + 'static`, typically an `async { … }` block; it is evaluated once per
/// check, so each check gets its own store. Names in scope where the macro is invoked
/// are visible to it. The crate invoking it needs `tokio` with the `macros` and
/// `rt-multi-thread` features.
///
/// ```ignore
/// use storewatch_core::store::MemoryStore;
///
/// storewatch_core::store_conformance_tests!(async { MemoryStore::new() });
/// ```
#[macro_export]
macro_rules! store_conformance_tests {
    ($factory:expr $(,)?) => {
        $crate::__store_conformance_checks!(tests($factory));
    };
}

crate::__store_conformance_checks!(suite());

#[allow(clippy::print_stdout)] // the suite's progress report, like libtest's
fn report(name: &'static str, passed: bool, failed: &mut Vec<&'static str>) {
    if passed {
        println!("store conformance: {name} ... ok");
    } else {
        println!("store conformance: {name} ... FAILED");
        failed.push(name);
    }
}

/// The value of `result`, or a panic naming the check and the step that failed.
#[track_caller]
fn ok<T>(check: &str, step: &str, result: Result<T>) -> T {
    match result {
        Ok(value) => value,
        Err(e) => panic!("{check}: {step} failed: {e}"),
    }
}

/// The error of `result` if it is of `kind`, else a panic naming the check and step.
#[track_caller]
fn fails<T: Debug>(check: &str, step: &str, result: Result<T>, kind: ErrorKind) -> Error {
    match result {
        Err(e) if e.kind() == kind => e,
        Err(e) => panic!("{check}: {step} should fail with {kind}, but failed with {e}"),
        Ok(value) => panic!("{check}: {step} should fail with {kind}, but gave {value:?}"),
    }
}

/// `t` without its fraction of a second, so it survives any store's precision.
fn whole_seconds(t: DateTime<Utc>) -> DateTime<Utc> {
    t.trunc_subsecs(0)
}

/// The `n`th day of March 2026.
fn march(n: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 3, n).unwrap_or(NaiveDate::MIN)
}

/// `d` plus `n` days.
fn plus_days(d: NaiveDate, n: u64) -> NaiveDate {
    d.checked_add_days(chrono::Days::new(n)).unwrap_or(d)
}
