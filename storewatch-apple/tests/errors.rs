//! Every error case of the provider note, against the fake over real HTTP.

#![allow(clippy::unwrap_used)] // test helpers panic on broken fixtures by design

mod common;

use std::time::Duration;

use chrono::TimeZone;
use common::*;
use storewatch_apple::fake::{
    DayState, Endpoint, FakeAppStoreConnect, Fault, SalesBody, SegmentFault, TestKey,
};
use storewatch_apple::{AppStoreConnectConfig, AppStoreConnectSource};
use storewatch_core::ErrorKind;
use storewatch_core::clock::ManualClock;
use storewatch_core::model::Metric;
use storewatch_core::source::{CollectRequest, DayOutcome, MetricSource};

fn failed_kind(o: &DayOutcome) -> ErrorKind {
    match o {
        DayOutcome::Failed(e) => e.kind(),
        other => panic!("expected a failure, got {other:?}"),
    }
}

fn failed_message(o: &DayOutcome) -> String {
    match o {
        DayOutcome::Failed(e) => e.to_string(),
        other => panic!("expected a failure, got {other:?}"),
    }
}

#[tokio::test]
async fn yesterday_moves_from_not_yet_to_ready_at_the_pacific_hour() {
    let start = day("2026-03-01");
    let last = day("2026-03-05");
    // 06:00 Pacific (PST, UTC-8) on the day after the last day: not ready until 08:00.
    let clock = ManualClock::new(chrono::Utc.with_ymd_and_hms(2026, 3, 6, 14, 0, 0).unwrap());
    let fake = fake(
        FakeAppStoreConnect::builder()
            .apps(2)
            .days(5)
            .first_day(start)
            .clock(clock),
    )
    .await;
    let source = source(&fake);
    let batch = source
        .collect(&sales_request(targets(&fake, 2), last, last))
        .await
        .unwrap();
    for app in [1, 2] {
        match outcome(&batch, app, last) {
            DayOutcome::NotYetAvailable {
                retry_after: Some(t),
            } => assert!(*t > fake.now()),
            other => panic!("expected not yet available, got {other:?}"),
        }
        assert_eq!(
            value(&batch, app, &Metric::DOWNLOADS, last, ""),
            None,
            "nothing stored for a day not published"
        );
    }
    fake.manual_clock()
        .unwrap()
        .advance(Duration::from_secs(3 * 3600));
    let batch = source
        .collect(&sales_request(targets(&fake, 2), last, last))
        .await
        .unwrap();
    assert!(matches!(outcome(&batch, 1, last), DayOutcome::Collected));
    assert_sales_match(&fake, &batch, 2, last);
}

#[tokio::test]
async fn no_sales_for_the_date_is_a_real_zero_for_every_app() {
    let fake = fake(FakeAppStoreConnect::builder().apps(3).days(4)).await;
    let d = fake.catalogue().start + chrono::Duration::days(1);
    fake.set_day_state(d, DayState::NoSales);
    let source = source(&fake);
    let batch = source
        .collect(&sales_request(targets(&fake, 3), d, d))
        .await
        .unwrap();
    for app in 1..=3 {
        assert!(matches!(outcome(&batch, app, d), DayOutcome::NoData));
        for m in [
            Metric::DOWNLOADS,
            Metric::REDOWNLOADS,
            Metric::UPDATES,
            Metric::IAP_UNITS,
            Metric::PROCEEDS,
        ] {
            assert_eq!(
                value(&batch, app, &m, d, ""),
                Some(0.0),
                "{m} is a real zero"
            );
        }
    }
}

#[tokio::test]
async fn a_report_version_error_is_retried_once_with_the_named_version() {
    let fake = fake(FakeAppStoreConnect::builder().apps(2).days(4)).await;
    fake.set_report_version("SALES", "1_1");
    let source = source(&fake);
    let d = fake.catalogue().start;
    let batch = source
        .collect(&sales_request(targets(&fake, 2), d, d))
        .await
        .unwrap();
    assert_sales_match(&fake, &batch, 2, d);
    assert_eq!(
        fake.request_count(Endpoint::SalesReports),
        2,
        "one refusal, one retry"
    );
    assert_eq!(source.report_version(), "1_1");
    let next = d + chrono::Duration::days(1);
    source
        .collect(&sales_request(targets(&fake, 2), next, next))
        .await
        .unwrap();
    assert_eq!(
        fake.request_count(Endpoint::SalesReports),
        3,
        "the corrected version is kept"
    );
}

#[tokio::test]
async fn other_bad_parameters_fail_without_retry() {
    let fake = fake(FakeAppStoreConnect::builder().apps(1).days(2)).await;
    let mut config = fake.config();
    config.vendor_number = "99999999".to_owned();
    let source = source_with(&fake, config);
    let d = fake.catalogue().start;
    let batch = source
        .collect(&sales_request(targets(&fake, 1), d, d))
        .await
        .unwrap();
    assert_eq!(failed_kind(outcome(&batch, 1, d)), ErrorKind::InvalidInput);
    assert!(failed_message(outcome(&batch, 1, d)).contains("filter[vendorNumber]"));
    assert_eq!(fake.request_count(Endpoint::SalesReports), 1);
}

#[tokio::test]
async fn a_401_is_answered_by_one_fresh_token_and_one_retry() {
    let fake = fake(FakeAppStoreConnect::builder().apps(1).days(2)).await;
    let source = source(&fake);
    let d = fake.catalogue().start;
    fake.inject(Some(Endpoint::SalesReports), Fault::Unauthorized);
    let batch = source
        .collect(&sales_request(targets(&fake, 1), d, d))
        .await
        .unwrap();
    assert!(matches!(outcome(&batch, 1, d), DayOutcome::Collected));
    assert_eq!(fake.request_count(Endpoint::SalesReports), 2);
    fake.inject(Some(Endpoint::SalesReports), Fault::Unauthorized);
    fake.inject(Some(Endpoint::SalesReports), Fault::Unauthorized);
    let batch = source
        .collect(&sales_request(targets(&fake, 1), d, d))
        .await
        .unwrap();
    assert_eq!(
        failed_kind(outcome(&batch, 1, d)),
        ErrorKind::Unauthenticated
    );
    assert_eq!(
        fake.request_count(Endpoint::SalesReports),
        4,
        "exactly one retry after a 401"
    );
}

#[tokio::test]
async fn bad_credentials_are_refused() {
    let fake = fake(FakeAppStoreConnect::builder().apps(1).days(2)).await;
    // A key the account does not know (unknown kid, signature unverifiable).
    let stranger = TestKey::generate("stranger");
    let config = AppStoreConnectConfig::new(
        stranger.issuer_id.clone(),
        stranger.key_id.clone(),
        stranger.private_pem.clone(),
        "80012345",
    )
    .unwrap()
    .with_base_url(fake.base_url());
    let err = source_with(&fake, config).healthcheck().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthenticated);
    // A known kid signed with another key: bad signature.
    let forged = AppStoreConnectConfig::new(
        fake.key().issuer_id.clone(),
        fake.key().key_id.clone(),
        stranger.private_pem.clone(),
        "80012345",
    )
    .unwrap()
    .with_base_url(fake.base_url());
    assert_eq!(
        source_with(&fake, forged)
            .healthcheck()
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::Unauthenticated
    );
    // A clock 30 minutes behind mints tokens that are already expired.
    let behind = ManualClock::new(fake.now() - chrono::Duration::minutes(30));
    let src =
        AppStoreConnectSource::with_clock(fake.config(), std::sync::Arc::new(behind)).unwrap();
    assert_eq!(
        src.healthcheck().await.unwrap_err().kind(),
        ErrorKind::Unauthenticated
    );
    // A clock 10 minutes ahead: iat in the future, refused unless the fake allows skew.
    let ahead = ManualClock::new(fake.now() + chrono::Duration::minutes(10));
    let src = AppStoreConnectSource::with_clock(fake.config(), std::sync::Arc::new(ahead)).unwrap();
    assert_eq!(
        src.healthcheck().await.unwrap_err().kind(),
        ErrorKind::Unauthenticated
    );
    fake.set_iat_skew(700);
    src.healthcheck().await.unwrap();
    // A revoked key: Apple answers 401 or 403.
    fake.revoke_key(&fake.key().key_id, 403);
    let err = source(&fake).healthcheck().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PermissionDenied);
    fake.revoke_key(&fake.key().key_id, 401);
    let src = source(&fake);
    let err = src
        .collect(&sales_request(
            targets(&fake, 1),
            fake.catalogue().start,
            fake.catalogue().start,
        ))
        .await
        .unwrap_err();
    assert_eq!(
        err.kind(),
        ErrorKind::Unauthenticated,
        "nothing can be asked: collect fails as a whole"
    );
}

#[tokio::test]
async fn the_agreement_switch_is_reported_as_an_agreement_not_a_key_problem() {
    let fake = fake(FakeAppStoreConnect::builder().apps(1).days(2)).await;
    fake.set_agreement_missing(true);
    let source = source(&fake);
    let d = fake.catalogue().start;
    let err = source
        .collect(&sales_request(targets(&fake, 1), d, d))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PermissionDenied);
    assert!(err.to_string().contains("agreement"), "{err}");
    assert!(!err.to_string().contains("Team key"), "{err}");
    assert_eq!(
        fake.request_count(Endpoint::Apps),
        1,
        "no retry of a permanent 403"
    );
    let err = source.healthcheck().await.unwrap_err();
    assert!(err.to_string().contains("agreement"));
}

#[tokio::test]
async fn a_forbidden_sales_report_names_the_key_role() {
    let fake = fake(FakeAppStoreConnect::builder().apps(1).days(2)).await;
    let d = fake.catalogue().start;
    fake.set_day_state(d, DayState::Forbidden);
    let batch = source(&fake)
        .collect(&sales_request(targets(&fake, 1), d, d))
        .await
        .unwrap();
    assert_eq!(
        failed_kind(outcome(&batch, 1, d)),
        ErrorKind::PermissionDenied
    );
    assert!(failed_message(outcome(&batch, 1, d)).contains("Team key"));
}

#[tokio::test]
async fn transient_failures_are_retried_with_backoff() {
    let fake = fake(FakeAppStoreConnect::builder().apps(2).days(2)).await;
    let d = fake.catalogue().start;
    fake.set_retry_after(Some(1));
    for fault in [
        Fault::RateLimited,
        Fault::ServerError,
        Fault::BadGateway,
        Fault::Unavailable,
        Fault::ConnectionReset,
    ] {
        fake.inject(Some(Endpoint::SalesReports), fault);
    }
    let source = source(&fake);
    let batch = source
        .collect(&sales_request(targets(&fake, 2), d, d))
        .await
        .unwrap();
    assert_sales_match(&fake, &batch, 2, d);
    assert_eq!(
        fake.request_count(Endpoint::SalesReports),
        6,
        "five faults, then the report"
    );
}

#[tokio::test]
async fn a_stalled_response_times_out_and_is_retried() {
    let fake = fake(FakeAppStoreConnect::builder().apps(1).days(2)).await;
    let d = fake.catalogue().start;
    fake.inject(
        Some(Endpoint::SalesReports),
        Fault::Stall(Duration::from_secs(4)),
    );
    let mut config = fake.config();
    config.http.timeout_secs = 1;
    let batch = source_with(&fake, config)
        .collect(&sales_request(targets(&fake, 1), d, d))
        .await
        .unwrap();
    assert!(matches!(outcome(&batch, 1, d), DayOutcome::Collected));
    assert_eq!(fake.request_count(Endpoint::SalesReports), 2);
}

#[tokio::test]
async fn a_lasting_server_error_fails_the_day_after_the_retries() {
    let fake = fake(FakeAppStoreConnect::builder().apps(1).days(3)).await;
    let d = fake.catalogue().start;
    fake.set_day_state(d, DayState::ServerError);
    let batch = source(&fake)
        .collect(&sales_request(
            targets(&fake, 1),
            d,
            d + chrono::Duration::days(1),
        ))
        .await
        .unwrap();
    assert_eq!(failed_kind(outcome(&batch, 1, d)), ErrorKind::Unavailable);
    assert!(
        matches!(
            outcome(&batch, 1, d + chrono::Duration::days(1)),
            DayOutcome::Collected
        ),
        "one day's failure does not fail the others"
    );
    assert_eq!(
        fake.request_count(Endpoint::SalesReports),
        6 + 1,
        "1 + 5 retries, plus the other day"
    );
}

#[tokio::test]
async fn the_burst_limit_is_survived() {
    let fake = fake(FakeAppStoreConnect::builder().apps(2).days(12)).await;
    fake.set_burst_limit(Some(1));
    let (start, end) = (fake.catalogue().start, fake.catalogue().last_day());
    // Three requests in flight against a burst limit of one: retries must outlast the
    // contention, however the scheduler interleaves them.
    let mut config = fake.config();
    config.http.max_retries = 20;
    let batch = source_with(&fake, config)
        .collect(&sales_request(targets(&fake, 2), start, end))
        .await
        .unwrap();
    assert!(
        batch
            .outcomes
            .iter()
            .all(|o| matches!(o.outcome, DayOutcome::Collected)),
        "{:?}",
        batch.outcomes
    );
    assert!(fake.rate_limited_count() > 0, "the burst limit was hit");
}

#[tokio::test]
async fn malformed_reports_fail_their_day_only_and_name_date_line_and_column() {
    let fake = fake(FakeAppStoreConnect::builder().apps(2).days(8)).await;
    let start = fake.catalogue().start;
    let days: Vec<_> = start.iter_days().take(8).collect();
    let cases = [
        (
            SalesBody::NonNumericUnits,
            Some(&["line 3", "column \"Units\"", "\"abc\""][..]),
        ),
        (SalesBody::ShortRow, Some(&["line 2", "fields"][..])),
        (SalesBody::EmptyGzip, Some(&["empty"][..])),
        (
            SalesBody::TruncatedGzip,
            Some(&["truncated or corrupt"][..]),
        ),
        (SalesBody::NotGzip, Some(&["not gzip"][..])),
        (SalesBody::LongRow, None),
        (SalesBody::CrlfNoFinalNewline, None),
    ];
    for (d, (body, _)) in days.iter().zip(&cases) {
        fake.set_sales_body(*d, *body);
    }
    let batch = source(&fake)
        .collect(&sales_request(targets(&fake, 2), start, days[7]))
        .await
        .unwrap();
    for (d, (body, expect)) in days.iter().zip(&cases) {
        for app in [1, 2] {
            match expect {
                Some(words) => {
                    assert_eq!(
                        failed_kind(outcome(&batch, app, *d)),
                        ErrorKind::InvalidInput,
                        "{body:?}"
                    );
                    let message = failed_message(outcome(&batch, app, *d));
                    assert!(message.contains(&d.to_string()), "{body:?}: {message}");
                    for w in *words {
                        assert!(message.contains(w), "{body:?}: {message} lacks {w}");
                    }
                    assert!(
                        batch.points.iter().all(|p| p.date != *d),
                        "nothing of a failed day is kept"
                    );
                }
                None => assert!(
                    matches!(outcome(&batch, app, *d), DayOutcome::Collected),
                    "{body:?} is tolerated"
                ),
            }
        }
    }
    assert_sales_match(&fake, &batch, 2, days[6]);
    assert_sales_match(&fake, &batch, 2, days[7]);
}

#[tokio::test]
async fn an_oversized_report_is_parsed() {
    let fake = fake(FakeAppStoreConnect::builder().apps(20).days(2)).await;
    let d = fake.catalogue().start;
    let times = 200;
    fake.set_sales_body(d, SalesBody::Oversized(times));
    let batch = source(&fake)
        .collect(&sales_request(targets(&fake, 20), d, d))
        .await
        .unwrap();
    let e = fake.catalogue().expected_sales(3, d);
    let expected: f64 =
        rust_decimal::prelude::ToPrimitive::to_f64(&e.downloads).unwrap() * f64::from(times);
    assert_eq!(value(&batch, 4, &Metric::DOWNLOADS, d, ""), Some(expected));
}

#[tokio::test]
async fn header_variants_are_read_by_column_name() {
    use storewatch_apple::fake::HeaderVariant;
    for variant in [HeaderVariant::Reordered, HeaderVariant::Thirty] {
        let fake = fake(FakeAppStoreConnect::builder().apps(3).days(2)).await;
        fake.set_header_variant(variant);
        let d = fake.catalogue().start;
        let batch = source(&fake)
            .collect(&sales_request(targets(&fake, 3), d, d))
            .await
            .unwrap();
        assert_sales_match(&fake, &batch, 3, d);
    }
}

#[tokio::test]
async fn expired_or_corrupt_segments_are_listed_again() {
    let fake = fake(FakeAppStoreConnect::builder().apps(1).days(4)).await;
    let d = fake.catalogue().last_day();
    let req = CollectRequest::new(targets(&fake, 1), d, d).with_metrics(vec![Metric::SESSIONS]);
    let clean = {
        let batch = source(&fake).collect(&req).await.unwrap();
        value(&batch, 1, &Metric::SESSIONS, d, "").unwrap()
    };
    for fault in [
        SegmentFault::Expired,
        SegmentFault::BadChecksum,
        SegmentFault::BadSize,
    ] {
        fake.inject_segment_fault(fault);
        let before = fake.request_count(Endpoint::Segments);
        let batch = source(&fake).collect(&req).await.unwrap();
        assert_eq!(
            value(&batch, 1, &Metric::SESSIONS, d, ""),
            Some(clean),
            "{fault:?}"
        );
        assert!(
            fake.request_count(Endpoint::Segments) > before + 1,
            "{fault:?} made the client list again"
        );
    }
    // Two bad listings in a row: the analytics part is retried later, never stored wrong.
    fake.inject_segment_fault(SegmentFault::BadChecksum);
    fake.inject_segment_fault(SegmentFault::BadChecksum);
    let batch = source(&fake).collect(&req).await.unwrap();
    assert!(
        matches!(outcome(&batch, 1, d), DayOutcome::NotYetAvailable { .. }),
        "{:?}",
        outcome(&batch, 1, d)
    );
    assert_eq!(value(&batch, 1, &Metric::SESSIONS, d, ""), None);
}

#[tokio::test]
async fn a_key_that_may_not_create_analytics_requests_fails_analytics_only() {
    let fake = fake(
        FakeAppStoreConnect::builder()
            .apps(1)
            .days(3)
            .without_analytics_request(0),
    )
    .await;
    let reader = TestKey::generate("sales-and-reports-key");
    fake.register_key(&reader, false);
    let config = AppStoreConnectConfig::new(
        reader.issuer_id.clone(),
        reader.key_id.clone(),
        reader.private_pem.clone(),
        "80012345",
    )
    .unwrap()
    .with_base_url(fake.base_url());
    let d = fake.catalogue().last_day();
    let batch = source_with(&fake, config)
        .collect(&CollectRequest::new(targets(&fake, 1), d, d))
        .await
        .unwrap();
    assert!(matches!(outcome(&batch, 1, d), DayOutcome::Collected));
    assert!(value(&batch, 1, &Metric::SESSIONS, d, "").is_none());
    assert!(
        value(&batch, 1, &Metric::DOWNLOADS, d, "").is_some(),
        "sales still flow"
    );
    let only = CollectRequest::new(targets(&fake, 1), d, d).with_metrics(vec![Metric::SESSIONS]);
    let reader_source = source_with(
        &fake,
        AppStoreConnectConfig::new(
            reader.issuer_id.clone(),
            reader.key_id.clone(),
            reader.private_pem.clone(),
            "80012345",
        )
        .unwrap()
        .with_base_url(fake.base_url()),
    );
    let batch = reader_source.collect(&only).await.unwrap();
    assert_eq!(
        failed_kind(outcome(&batch, 1, d)),
        ErrorKind::PermissionDenied
    );
}

/// Direct HTTP checks of the fake's own faithfulness (what a client never sends).
#[tokio::test]
async fn the_fake_validates_like_apple() {
    let fake = fake(FakeAppStoreConnect::builder().apps(1).days(3)).await;
    let tokens = storewatch_apple::auth::TokenSource::new(
        &fake.key().issuer_id,
        &fake.key().key_id,
        &fake.key().private_pem,
        fake.clock(),
    )
    .unwrap();
    let token = tokens.token().unwrap();
    let http = reqwest::Client::new();
    let get = |query: String, bearer: Option<String>| {
        let mut r = http
            .get(format!("{}/v1/salesReports?{query}", fake.base_url()))
            .header("accept", "application/a-gzip");
        if let Some(b) = bearer {
            r = r.header("authorization", b);
        }
        r.send()
    };
    let base = "filter[frequency]=DAILY&filter[reportType]=SALES&filter[reportSubType]=SUMMARY&filter[vendorNumber]=80012345";
    let ok = get(
        format!("{base}&filter[reportDate]=2026-03-01&filter[version]=1_0"),
        Some(format!("Bearer {token}")),
    )
    .await
    .unwrap();
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.headers()["content-encoding"], "agzip");
    assert_eq!(ok.headers()["content-type"], "application/a-gzip");
    assert!(
        ok.headers()["x-rate-limit"]
            .to_str()
            .unwrap()
            .starts_with("user-hour-lim:3600;user-hour-rem:")
    );
    assert!(
        ok.headers()["x-reports-filename"]
            .to_str()
            .unwrap()
            .starts_with("S_D_80012345_20260301")
    );
    assert_eq!(&ok.bytes().await.unwrap()[..2], &[0x1f, 0x8b]);
    // Percent-encoded brackets work too.
    let encoded = base.replace('[', "%5B").replace(']', "%5D");
    let r = get(
        format!("{encoded}&filter%5BreportDate%5D=2026-03-01"),
        Some(format!("Bearer {token}")),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 200);
    // No bearer prefix, no header: 401 with Apple's body.
    for bearer in [Some(token.to_string()), None] {
        let r = get(format!("{base}&filter[reportDate]=2026-03-01"), bearer)
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
        assert!(r.text().await.unwrap().contains("NOT_AUTHORIZED"));
    }
    // Missing filter, bad enum, weekly on a Monday.
    let auth = Some(format!("Bearer {token}"));
    let r = get("filter[frequency]=DAILY".to_owned(), auth.clone())
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("PARAMETER_ERROR.REQUIRED"));
    let r = get(base.replace("DAILY", "HOURLY"), auth.clone())
        .await
        .unwrap();
    assert!(r.text().await.unwrap().contains("PARAMETER_ERROR.INVALID"));
    let r = get(
        format!(
            "{}&filter[reportDate]=2026-03-02",
            base.replace("DAILY", "WEEKLY")
        ),
        auth.clone(),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 400);
    // Omitted daily date: the latest ready day for SALES, no-sales 404 for subscriptions.
    assert_eq!(
        get(base.to_owned(), auth.clone()).await.unwrap().status(),
        200
    );
    let r = get(base.replace("SALES", "SUBSCRIPTION"), auth.clone())
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert!(r.text().await.unwrap().contains("no sales"));
    // An Individual key (sub=user) may not read sales.
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
    header.kid = Some(fake.key().key_id.clone());
    header.typ = Some("JWT".to_owned());
    let now = fake.now().timestamp();
    let claims = serde_json::json!({"sub": "user", "iat": now - 10, "exp": now + 600, "aud": "appstoreconnect-v1"});
    use secrecy::ExposeSecret;
    let key =
        jsonwebtoken::EncodingKey::from_ec_pem(fake.key().private_pem.expose_secret().as_bytes())
            .unwrap();
    let individual = jsonwebtoken::encode(&header, &claims, &key).unwrap();
    let r = get(
        format!("{base}&filter[reportDate]=2026-03-01"),
        Some(format!("Bearer {individual}")),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 403);
    assert!(r.text().await.unwrap().contains("FORBIDDEN_ERROR"));
    // A lifetime over 20 minutes is refused.
    let long = serde_json::json!({"iss": fake.key().issuer_id, "iat": now - 10, "exp": now + 1300, "aud": "appstoreconnect-v1"});
    let long = jsonwebtoken::encode(&header, &long, &key).unwrap();
    assert_eq!(
        get(
            format!("{base}&filter[reportDate]=2026-03-01"),
            Some(format!("Bearer {long}"))
        )
        .await
        .unwrap()
        .status(),
        401
    );
    // S3 refuses an Authorization header on a pre-signed URL.
    let r = http
        .get(format!(
            "{}/reports/x/0.csv.gz?X-Amz-Date={now}&X-Amz-Expires=300",
            fake.s3_url()
        ))
        .header("authorization", format!("Bearer {token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("Only one auth mechanism allowed")
    );
    let r = http
        .get(format!(
            "{}/reports/x/0.csv.gz?X-Amz-Date={}&X-Amz-Expires=300",
            fake.s3_url(),
            now - 301
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert!(r.text().await.unwrap().contains("Request has expired"));
}

#[tokio::test]
async fn an_unknown_bundle_id_fails_only_its_app() {
    use storewatch_core::model::{AppId, BundleId, Platform};
    use storewatch_core::source::AppTarget;
    let fake = fake(FakeAppStoreConnect::builder().apps(2).days(2)).await;
    let d = fake.catalogue().start;
    let mut apps = targets(&fake, 2);
    apps.push(AppTarget {
        app_id: AppId(9),
        bundle_id: BundleId::parse(Platform::Ios, "com.fake.missing").unwrap(),
        store_id: None,
    });
    // Known by its stored Apple id only: its own rows are still found.
    apps[1].bundle_id = BundleId::parse(Platform::Ios, "com.fake.renamed").unwrap();
    apps[1].store_id = Some(fake.catalogue().apps[1].apple_id.clone());
    let batch = source(&fake)
        .collect(&sales_request(apps, d, d))
        .await
        .unwrap();
    assert_eq!(failed_kind(outcome(&batch, 9, d)), ErrorKind::NotFound);
    assert!(failed_message(outcome(&batch, 9, d)).contains("com.fake.missing"));
    assert_sales_match(&fake, &batch, 1, d);
    let e = fake.catalogue().expected_sales(1, d);
    assert_eq!(
        value(&batch, 2, &Metric::DOWNLOADS, d, ""),
        Some(rust_decimal::prelude::ToPrimitive::to_f64(&e.downloads).unwrap())
    );
    assert_eq!(fake.request_count(Endpoint::SalesReports), 1);
}
