//! The core source conformance suite (`storewatch_core::testkit::source::check_all`) run
//! against `GooglePlaySource` and `FakeGooglePlay`.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns unwrap too

mod common;

use std::sync::Arc;

use common::*;
use storewatch_core::source::CollectRequest;
use storewatch_core::testkit::source::{SourceCheck, check_all};

#[tokio::test]
async fn google_play_source_passes_the_source_conformance_suite() {
    let fake = fake_with(&["com.example.one", "com.example.two"], today()).await;
    let source = source_for(&fake, fast_http());
    let check = SourceCheck {
        source: Arc::new(source),
        request: CollectRequest::new(
            vec![target(1, "com.example.one"), target(2, "com.example.two")],
            day(2026, 9, 10),
            day(2026, 9, 20),
        ),
        unknown_app: Some(target(3, "com.example.unknown")),
    };
    check_all(&check).await;
}
