//! Every error case of the provider note, through `GooglePlaySource` against the fake:
//! token refusals, 401/403 variants, 429 and 5xx retries, resets, stalls.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns unwrap too

mod common;

use std::time::Duration;

use common::*;
use storewatch_core::ErrorKind;
use storewatch_core::model::{AppId, Metric};
use storewatch_core::source::{CollectBatch, CollectRequest, DayOutcome, MetricSource};
use storewatch_google::fake::{Endpoint, Fault, TokenFault};
use storewatch_google::{REPORTING_SCOPE, STORAGE_SCOPE};

fn crash_req() -> CollectRequest {
    CollectRequest::new(
        vec![target(1, "com.example.app")],
        day(2026, 9, 10),
        day(2026, 9, 12),
    )
    .with_metrics(vec![Metric::CRASH_RATE])
}

fn installs_req() -> CollectRequest {
    CollectRequest::new(
        vec![target(1, "com.example.app")],
        day(2026, 9, 10),
        day(2026, 9, 12),
    )
    .with_metrics(vec![Metric::DOWNLOADS])
}

fn all_collected(batch: &CollectBatch) -> bool {
    !batch.outcomes.is_empty()
        && batch
            .outcomes
            .iter()
            .all(|o| matches!(o.outcome, DayOutcome::Collected))
}

fn failures(batch: &CollectBatch) -> Vec<&storewatch_core::Error> {
    batch
        .outcomes
        .iter()
        .map(|o| match &o.outcome {
            DayOutcome::Failed(e) => e,
            other => panic!("expected a failure on {}, got {other:?}", o.day),
        })
        .collect()
}

#[tokio::test]
async fn invalid_grant_fails_the_collection_and_says_what_to_check() {
    let fake = fake_with(&["com.example.app"], today()).await;
    fake.set_token_fault(Some(TokenFault::InvalidGrant));
    let source = source_for(&fake, fast_http());
    let err = source.collect(&crash_req()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthenticated);
    let text = err.to_string();
    assert!(
        text.contains("Invalid JWT Signature.") && text.contains("clock"),
        "{text}"
    );
    assert!(!text.contains("PRIVATE KEY"));
    assert_eq!(fake.requests(Endpoint::Query), 0);
    let err = source.healthcheck().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthenticated);
}

#[tokio::test]
async fn a_key_google_does_not_know_is_refused() {
    // Signed with another key: the fake verifies the RS256 signature.
    let fake = fake_with(&["com.example.app"], today()).await;
    let source = source_with_key(&fake, EMAIL, OTHER_PRIVATE_KEY, fast_http());
    let err = source.collect(&crash_req()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthenticated);
    assert!(err.to_string().contains("Invalid JWT Signature."), "{err}");
    // An e-mail the fake has no account for.
    let source = source_with_key(
        &fake,
        "ghost@p.iam.gserviceaccount.com",
        PRIVATE_KEY,
        fast_http(),
    );
    let err = source.collect(&crash_req()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthenticated);
    assert!(
        err.to_string().contains("ghost@p.iam.gserviceaccount.com"),
        "{err}"
    );
}

#[tokio::test]
async fn token_endpoint_oddities() {
    let fake = fake_with(&["com.example.app"], today()).await;
    for (fault, kind) in [
        (TokenFault::InvalidScope, ErrorKind::Internal),
        (TokenFault::NonJson, ErrorKind::Unavailable),
        (TokenFault::NoAccessToken, ErrorKind::Unavailable),
    ] {
        fake.set_token_fault(Some(fault.clone()));
        let source = source_for(&fake, fast_http());
        let err = source.collect(&crash_req()).await.unwrap_err();
        assert_eq!(err.kind(), kind, "{fault:?}: {err}");
        assert!(err.to_string().contains("token endpoint"), "{err}");
    }
}

#[tokio::test]
async fn a_token_without_expiry_still_works() {
    let fake = fake_with(&["com.example.app"], today()).await;
    fake.set_token_fault(Some(TokenFault::NoExpiresIn));
    let source = source_for(&fake, fast_http());
    assert!(all_collected(&source.collect(&crash_req()).await.unwrap()));
    assert_eq!(fake.requests(Endpoint::Token), 1);
}

#[tokio::test]
async fn short_lived_tokens_are_refreshed() {
    let fake = fake_with(&["com.example.app"], today()).await;
    // Under a minute of life: yup-oauth2 refreshes before each use.
    fake.set_token_fault(Some(TokenFault::ShortExpiresIn(30)));
    let source = source_for(&fake, fast_http());
    assert!(all_collected(&source.collect(&crash_req()).await.unwrap()));
    assert!(
        fake.requests(Endpoint::Token) > 1,
        "{:?}",
        fake.request_counts()
    );
    fake.set_token_fault(None);
    fake.reset_counts();
    let fresh = source_for(&fake, fast_http());
    fresh.collect(&crash_req()).await.unwrap();
    fresh.collect(&crash_req()).await.unwrap();
    assert_eq!(
        fake.requests(Endpoint::Token),
        1,
        "an hour-long token is reused"
    );
}

#[tokio::test]
async fn revoked_bearer_is_refreshed_once() {
    let fake = fake_with(&["com.example.app"], today()).await;
    let source = source_for(&fake, fast_http());
    assert!(all_collected(&source.collect(&crash_req()).await.unwrap()));
    fake.revoke_tokens();
    assert!(all_collected(&source.collect(&crash_req()).await.unwrap()));
    assert_eq!(fake.requests(Endpoint::Token), 2);
}

#[tokio::test]
async fn reporting_403s_name_the_missing_grant() {
    let fake = fake_with(&["com.example.app"], today()).await;
    fake.set_service_disabled(true);
    let source = source_for(&fake, fast_http());
    let batch = source.collect(&crash_req()).await.unwrap();
    for e in failures(&batch) {
        assert_eq!(e.kind(), ErrorKind::PermissionDenied);
        assert!(e.to_string().contains("not enabled"), "{e}");
    }
    let err = source.healthcheck().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PermissionDenied);
    fake.set_service_disabled(false);

    fake.set_granted_scopes(Some(vec![STORAGE_SCOPE.to_owned()]));
    let source = source_for(&fake, fast_http());
    let batch = source.collect(&crash_req()).await.unwrap();
    for e in failures(&batch) {
        assert_eq!(e.kind(), ErrorKind::PermissionDenied);
        assert!(e.to_string().contains(REPORTING_SCOPE), "{e}");
    }
}

#[tokio::test]
async fn unknown_package_looks_like_a_missing_grant() {
    let fake = fake_with(&[], today()).await;
    let source = source_for(&fake, fast_http());
    let batch = source.collect(&crash_req()).await.unwrap();
    for e in failures(&batch) {
        assert_eq!(e.kind(), ErrorKind::PermissionDenied);
        assert!(e.to_string().contains("check the package name"), "{e}");
    }
}

#[tokio::test]
async fn bucket_not_granted_names_the_bulk_report_permission() {
    let fake = fake_with(&["com.example.app"], today()).await;
    fake.set_bucket_forbidden(true);
    let source = source_for(&fake, fast_http());
    let batch = source.collect(&installs_req()).await.unwrap();
    for e in failures(&batch) {
        assert_eq!(e.kind(), ErrorKind::PermissionDenied);
        let text = e.to_string();
        assert!(
            text.contains("download bulk reports") && text.contains("24 hours"),
            "{text}"
        );
    }
    assert_eq!(fake.requests(Endpoint::Download), 1, "403 is not retried");
    let err = source.healthcheck().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PermissionDenied);
    assert_eq!(fake.requests(Endpoint::List), 1);
}

#[tokio::test]
async fn rate_limits_are_retried_with_and_without_retry_after() {
    let fake = fake_with(&["com.example.app"], today()).await;
    let source = source_for(&fake, fast_http());
    fake.fail_next(
        Endpoint::Query,
        Fault::TooManyRequests {
            retry_after: Some(1),
        },
        1,
    );
    fake.fail_next(
        Endpoint::Query,
        Fault::TooManyRequests { retry_after: None },
        1,
    );
    fake.fail_next(
        Endpoint::Download,
        Fault::TooManyRequests { retry_after: None },
        2,
    );
    let req = CollectRequest::new(
        vec![target(1, "com.example.app")],
        day(2026, 9, 10),
        day(2026, 9, 12),
    )
    .with_metrics(vec![Metric::CRASH_RATE, Metric::DOWNLOADS]);
    let batch = source.collect(&req).await.unwrap();
    assert!(all_collected(&batch));
    assert_eq!(fake.requests(Endpoint::Query), 3);
    assert_eq!(fake.requests(Endpoint::Download), 3);
}

#[tokio::test]
async fn server_errors_resets_and_stalls_are_retried() {
    let fake = fake_with(&["com.example.app"], today()).await;
    let mut http = fast_http();
    http["timeout_secs"] = 1.into();
    let source = source_for(&fake, http);
    fake.fail_next(Endpoint::Query, Fault::Internal, 1);
    fake.fail_next(Endpoint::Query, Fault::UnavailableHtml, 1);
    fake.fail_next(Endpoint::Query, Fault::ConnectionReset, 1);
    fake.fail_next(Endpoint::Download, Fault::Stall(Duration::from_secs(3)), 1);
    let req = CollectRequest::new(
        vec![target(1, "com.example.app")],
        day(2026, 9, 10),
        day(2026, 9, 12),
    )
    .with_metrics(vec![Metric::CRASH_RATE, Metric::DOWNLOADS]);
    let batch = source.collect(&req).await.unwrap();
    assert!(all_collected(&batch), "{:?}", batch.outcomes);
    assert_eq!(fake.requests(Endpoint::Freshness), 0);
    assert_eq!(fake.requests(Endpoint::Query), 4);
    assert_eq!(fake.requests(Endpoint::Download), 2);
}

#[tokio::test]
async fn retries_give_up_and_report_unavailable() {
    let fake = fake_with(&["com.example.app"], today()).await;
    let mut http = fast_http();
    http["max_retries"] = 2.into();
    let source = source_for(&fake, http);
    fake.fail_next(Endpoint::Download, Fault::UnavailableHtml, 10);
    let batch = source.collect(&installs_req()).await.unwrap();
    for e in failures(&batch) {
        assert_eq!(e.kind(), ErrorKind::Unavailable);
        assert!(e.to_string().contains("503"), "{e}");
        assert!(e.is_retryable());
    }
    assert_eq!(
        fake.requests(Endpoint::Download),
        3,
        "one try and two retries"
    );
}

#[tokio::test]
async fn the_limiter_holds_reporting_to_its_rate() {
    // With the default 10/s, 2 apps × 2 sets × 1 query = 4 Reporting calls; the fake
    // counts them all and nothing fails for quota.
    let fake = fake_with(&["com.example.a", "com.example.b"], today()).await;
    let mut http = fast_http();
    http["reporting_requests_per_second"] = 10.into();
    let source = source_for(&fake, http);
    let req = CollectRequest::new(
        vec![target(1, "com.example.a"), target(2, "com.example.b")],
        day(2026, 9, 10),
        day(2026, 9, 11),
    )
    .with_metrics(vec![Metric::CRASH_RATE, Metric::ANR_RATE]);
    let batch = source.collect(&req).await.unwrap();
    assert!(all_collected(&batch));
    assert_eq!(
        fake.requests(Endpoint::Freshness) + fake.requests(Endpoint::Query),
        4
    );
    assert!(
        batch
            .points
            .iter()
            .all(|p| p.app_id == AppId(1) || p.app_id == AppId(2))
    );
}

#[tokio::test]
async fn a_busy_token_endpoint_is_retried() {
    let fake = fake_with(&["com.example.app"], today()).await;
    fake.fail_next(
        Endpoint::Token,
        Fault::TooManyRequests { retry_after: None },
        1,
    );
    fake.fail_next(Endpoint::Token, Fault::UnavailableHtml, 1);
    let source = source_for(&fake, fast_http());
    assert!(all_collected(&source.collect(&crash_req()).await.unwrap()));
    assert_eq!(fake.requests(Endpoint::Token), 3);
}

#[tokio::test]
async fn secrets_stay_out_of_errors_debug_and_logs() {
    let logs = storewatch_core::testkit::logs::capture();

    let fake = fake_with(&["com.example.app"], today()).await;
    let source = source_for(&fake, fast_http());
    let mut seen = Vec::new();
    fake.fail_next(Endpoint::Query, Fault::UnavailableHtml, 1);
    fake.fail_next(Endpoint::Download, Fault::Internal, 1);
    let req = CollectRequest::new(
        vec![target(1, "com.example.app")],
        day(2026, 9, 10),
        day(2026, 9, 11),
    );
    let batch = source.collect(&req).await.unwrap();
    seen.push(format!("{batch:?}"));
    fake.set_bucket_forbidden(true);
    fake.revoke_tokens();
    let batch = source.collect(&req).await.unwrap();
    seen.push(format!("{batch:?}"));
    fake.set_token_fault(Some(TokenFault::InvalidGrant));
    let fresh = source_for(&fake, fast_http());
    seen.push(format!("{:?}", fresh.collect(&req).await.unwrap_err()));
    seen.push(fresh.collect(&req).await.unwrap_err().to_string());
    seen.push(format!("{source:?} {:?}", source.config()));
    let log_text = logs.text();
    assert!(
        log_text.contains("retrying Google request"),
        "logs were not captured: {log_text}"
    );
    seen.push(log_text);

    let key_body: String = PRIVATE_KEY.lines().nth(1).unwrap().to_owned();
    for text in &seen {
        assert!(!text.contains(&key_body), "private key material in: {text}");
        assert!(!text.contains("PRIVATE KEY"), "private key in: {text}");
        assert!(!text.contains("ya29."), "access token in: {text}");
    }
    assert!(
        seen.iter().any(|t| t.contains("PermissionDenied")),
        "the test must have produced errors"
    );
}
