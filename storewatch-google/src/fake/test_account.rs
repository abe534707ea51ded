//! A throwaway service account the fake knows how to accept, for demos and benchmarks that
//! need a working `google_play` credential without a key of their own. Its keys are the
//! test-only fixtures of this crate: they sign JWTs for the fake and grant nothing anywhere
//! else.

/// The `client_email` of the built-in test account.
pub const TEST_CLIENT_EMAIL: &str = "storewatch-fake@storewatch-test.iam.gserviceaccount.com";

pub(super) const PUBLIC_KEY_PEM: &str =
    include_str!("../../tests/fixtures/test_only_service_account_key.pub.pem");

pub(super) const PRIVATE_KEY_PEM: &str =
    include_str!("../../tests/fixtures/test_only_service_account_key.pem");
