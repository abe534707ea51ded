//! The scheduler conformance suite (`storewatch_core::testkit::scheduler`): the
//! StoreScheduler guarantees on top of PostgresStore, each check on a fresh database.

mod common;

storewatch_core::scheduler_conformance_tests!(async {
    common::TestDb::new().await.into_store().await
});
