//! Conformance suites (feature `testkit`): the shared tests every implementation of a
//! storewatch trait runs.
//!
//! - [`scheduler`]: the scheduler's guarantees on top of every
//!   [`Store`](crate::store::Store) — `scheduler::check_all`, or the
//!   [`scheduler_conformance_tests!`](crate::scheduler_conformance_tests) macro.

pub mod scheduler;
