//! The store conformance suite of `storewatch_core::testkit` against `SqliteStore`,
//! each check on a fresh SQLite file.

use storewatch_sqlite::{SqliteConfig, SqliteStore};

/// A fresh store on a new file under the target's temp dir. The directory is kept
/// after the check (the store must outlive this function); `cargo clean` removes it.
async fn fresh_store() -> SqliteStore {
    let dir = tempfile::Builder::new()
        .prefix("storewatch-sqlite-conformance-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .expect("a temp dir under the target dir")
        .keep();
    let path = dir.join("storewatch.db");
    SqliteStore::open(
        path.to_str().expect("a UTF-8 temp path"),
        SqliteConfig::default(),
    )
    .await
    .expect("a fresh SQLite store")
}

storewatch_core::store_conformance_tests!(fresh_store());

/// The scheduler conformance suite on the same kind of fresh file.
mod scheduler {
    use super::fresh_store;

    storewatch_core::scheduler_conformance_tests!(fresh_store());
}
