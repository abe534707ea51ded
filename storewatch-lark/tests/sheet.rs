//! LarkSheetNotifier against FakeLark over real HTTP.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns unwrap too

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use storewatch_core::ErrorKind;
use storewatch_core::alert::AlertEventKind;
use storewatch_core::clock::ManualClock;
use storewatch_core::notify::Notifier;
use storewatch_core::testkit::notifier::{NotifierHarness, check_all, sample_alert, sample_report};
use storewatch_lark::fake::{FakeLark, Fault};
use storewatch_lark::{LarkSheetConfig, LarkSheetNotifier, SHEET_COLUMNS};

const SHEET: &str = "shtcnmBA0123456789";

fn notifier(cfg: &serde_json::Value) -> LarkSheetNotifier {
    LarkSheetNotifier::new(LarkSheetConfig::from_json(&cfg.to_string()).unwrap()).unwrap()
}

struct Harness {
    fake: FakeLark,
    notifier: Arc<dyn Notifier>,
}

#[async_trait]
impl NotifierHarness for Harness {
    fn notifier(&self) -> Arc<dyn Notifier> {
        self.notifier.clone()
    }
    async fn received(&self) -> Vec<String> {
        self.fake
            .rows(SHEET, "sxj5ws")
            .iter()
            .map(|r| serde_json::to_string(r).unwrap())
            .collect()
    }
}

#[tokio::test]
async fn passes_the_notifier_conformance_suite() {
    let fake = FakeLark::start().await.unwrap();
    let cfg = fake.add_spreadsheet("cli_conf", "secret", SHEET, "sxj5ws");
    let notifier: Arc<dyn Notifier> = Arc::new(notifier(&cfg));
    check_all(&Harness { fake, notifier }).await;
}

#[tokio::test]
async fn report_rows_follow_the_documented_columns_in_chunks() {
    let fake = FakeLark::start().await.unwrap();
    let cfg = fake.add_spreadsheet("cli_rows", "secret", SHEET, "sxj5ws");
    // 3,000 apps × 2 metrics = 6,000 rows: two appends of at most 5,000.
    notifier(&cfg)
        .send_report(&sample_report(3000))
        .await
        .unwrap();
    let rows = fake.rows(SHEET, "sxj5ws");
    assert_eq!(rows.len(), 6000);
    assert_eq!(rows[0].len(), SHEET_COLUMNS.len());
    assert_eq!(rows[0][0], "2026-03-01");
    assert_eq!(rows[0][3], "App 0");
    assert_eq!(rows[0][4], "downloads");
    assert_eq!(rows[0][5], 1200.0);
    assert_eq!(rows[1][5], "", "a missing value is an empty cell");
    assert_eq!(fake.request_counts()["values_append"], 2);
    assert_eq!(fake.request_counts()["token"], 1, "the token is cached");
    assert!(!fake.concurrent_writes_seen());
}

#[tokio::test]
async fn writes_to_one_spreadsheet_are_serial() {
    let fake = FakeLark::start().await.unwrap();
    let cfg = fake.add_spreadsheet("cli_serial", "secret", SHEET, "sxj5ws");
    let a = Arc::new(notifier(&cfg));
    let b = Arc::new(notifier(&cfg));
    let sends = (0..6).map(|i| {
        let n = if i % 2 == 0 { a.clone() } else { b.clone() };
        tokio::spawn(async move { n.send_alert(&sample_alert(AlertEventKind::Firing)).await })
    });
    for s in sends {
        s.await.unwrap().unwrap();
    }
    assert_eq!(fake.rows(SHEET, "sxj5ws").len(), 6);
    assert!(!fake.concurrent_writes_seen());
}

#[tokio::test]
async fn the_token_is_renewed_when_under_30_minutes_remain_and_after_expiry() {
    let clock = ManualClock::new("2026-03-02T06:00:00Z".parse().unwrap());
    let fake = FakeLark::start_with_clock(Arc::new(clock.clone()))
        .await
        .unwrap();
    let cfg = fake.add_spreadsheet("cli_tok", "secret", SHEET, "sxj5ws");
    let n = notifier(&cfg).with_clock(Arc::new(clock.clone()));
    n.send_alert(&sample_alert(AlertEventKind::Firing))
        .await
        .unwrap();
    clock.advance(Duration::from_secs(60 * 60));
    n.send_alert(&sample_alert(AlertEventKind::Firing))
        .await
        .unwrap();
    assert_eq!(
        fake.request_counts()["token"],
        1,
        "60 minutes left: the cached token is used"
    );
    clock.advance(Duration::from_secs(40 * 60));
    n.send_alert(&sample_alert(AlertEventKind::Firing))
        .await
        .unwrap();
    assert_eq!(
        fake.request_counts()["token"],
        2,
        "20 minutes left: renewed"
    );
    fake.expire_tokens();
    n.send_alert(&sample_alert(AlertEventKind::Firing))
        .await
        .unwrap();
    assert_eq!(
        fake.request_counts()["token"],
        3,
        "a refused token is renewed once"
    );
    assert_eq!(fake.rows(SHEET, "sxj5ws").len(), 4);
}

#[tokio::test]
async fn sheet_failures_map_to_kinds() {
    let fake = FakeLark::start().await.unwrap();
    let cfg = fake.add_spreadsheet("cli_fail", "secret", SHEET, "sxj5ws");
    let mut wrong_secret = cfg.clone();
    wrong_secret["app_secret"] = "nope".into();
    let err = notifier(&wrong_secret)
        .send_alert(&sample_alert(AlertEventKind::Firing))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthenticated);

    let mut wrong_tab = cfg.clone();
    wrong_tab["sheet_id"] = "nosuch".into();
    let err = notifier(&wrong_tab)
        .send_alert(&sample_alert(AlertEventKind::Firing))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(err.to_string().contains("tab's id"), "{err}");

    fake.set_sheet_throttle(Some(true));
    let err = notifier(&cfg)
        .send_alert(&sample_alert(AlertEventKind::Firing))
        .await
        .unwrap_err();
    assert_eq!(err.retry_after(), Some(Duration::from_secs(1)));
    fake.set_sheet_throttle(None);

    fake.revoke_spreadsheet_access(SHEET);
    let err = notifier(&cfg)
        .send_alert(&sample_alert(AlertEventKind::Firing))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PermissionDenied);
    assert!(
        err.to_string().contains("add the app to the document"),
        "{err}"
    );
    assert!(fake.rows(SHEET, "sxj5ws").is_empty());
}

/// Resets the next request, which must be `endpoint`'s: the send fails as retryable.
async fn reset_on(fake: &FakeLark, endpoint: &str, sheet: &LarkSheetNotifier) {
    let before = fake.request_counts().get(endpoint).copied().unwrap_or(0);
    fake.inject([Fault::ConnectionReset]);
    let err = sheet
        .send_alert(&sample_alert(AlertEventKind::Firing))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{endpoint}: {err}");
    assert!(err.is_retryable());
    assert_eq!(fake.request_counts()[endpoint], before + 1, "{endpoint}");
}

#[tokio::test]
async fn a_reset_connection_is_unavailable_and_loses_no_row() {
    let fake = FakeLark::start().await.unwrap();
    let cfg = fake.add_spreadsheet("cli_reset", "secret", SHEET, "sxj5ws");
    let alert = sample_alert(AlertEventKind::Firing);
    // A new notifier's first request is the token's.
    reset_on(&fake, "token", &notifier(&cfg)).await;
    // One that holds a token and knows the tab goes straight to the append.
    let sheet = notifier(&cfg);
    sheet.send_alert(&alert).await.unwrap();
    reset_on(&fake, "values_append", &sheet).await;
    assert_eq!(fake.rows(SHEET, "sxj5ws").len(), 1);
    sheet.send_alert(&alert).await.unwrap();
    assert_eq!(fake.rows(SHEET, "sxj5ws").len(), 2);
}
