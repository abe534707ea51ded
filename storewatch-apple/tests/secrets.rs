//! A planted key and the tokens it mints never show in logs, errors or Debug output.

#![allow(clippy::unwrap_used)] // test helpers panic on broken fixtures by design

mod common;

use common::*;
use secrecy::ExposeSecret;
use storewatch_apple::fake::{DayState, Endpoint, FakeAppStoreConnect, Fault, SalesBody};
use storewatch_core::source::{CollectRequest, MetricSource};

#[tokio::test]
async fn no_key_or_token_in_logs_errors_or_debug() {
    let logs = storewatch_core::testkit::logs::capture();

    let fake = fake(
        FakeAppStoreConnect::builder()
            .apps(2)
            .days(6)
            .without_analytics_request(1),
    )
    .await;
    let (start, end) = (fake.catalogue().start, fake.catalogue().last_day());
    fake.set_report_version("SALES", "1_1");
    fake.set_day_state(start, DayState::ServerError);
    fake.set_sales_body(
        start + chrono::Duration::days(1),
        SalesBody::NonNumericUnits,
    );
    fake.inject(Some(Endpoint::Segments), Fault::Unauthorized);
    fake.inject(None, Fault::ConnectionReset);
    let source = source(&fake);
    let batch = source
        .collect(&CollectRequest::new(targets(&fake, 2), start, end))
        .await
        .unwrap();
    fake.set_agreement_missing(true);
    let err = source.healthcheck().await.unwrap_err();

    let pem = fake.key().private_pem.expose_secret().to_owned();
    let mut secrets: Vec<String> = pem
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .map(str::to_owned)
        .collect();
    let tokens = fake.tokens_seen();
    assert!(!tokens.is_empty());
    secrets.extend(
        tokens
            .iter()
            .map(|t| t.split('.').next_back().unwrap().to_owned()),
    );
    let mut texts = vec![
        logs.text(),
        format!("{err} {err:?}"),
        format!("{source:?}"),
        format!("{:?}", fake.config()),
    ];
    texts.extend(batch.outcomes.iter().map(|o| format!("{o:?}")));
    assert!(
        texts[0].contains("retrying"),
        "the run logged something: {}",
        texts[0]
    );
    for text in &texts {
        for secret in &secrets {
            assert!(
                !text.contains(secret.as_str()),
                "a secret leaked into: {text}"
            );
        }
        assert!(
            !text.contains("Bearer "),
            "a bearer header leaked into: {text}"
        );
    }
}
