//! The store conformance suite (`storewatch_core::testkit::store`) against
//! PostgresStore, each check on a fresh database that is dropped with its store.

mod common;

storewatch_core::store_conformance_tests!(async { common::TestDb::new().await.into_store().await });
