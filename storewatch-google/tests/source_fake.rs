//! `GooglePlaySource` against `FakeGooglePlay` over real HTTP: what it stores, how few
//! requests it makes, and how it treats days Google has not published.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns unwrap too

mod common;

use std::collections::HashMap;

use chrono::NaiveDate;
use common::*;
use storewatch_core::model::{AppId, Metric, MetricPoint};
use storewatch_core::source::{CollectBatch, CollectRequest, DayOutcome, MetricSource};
use storewatch_core::{ErrorKind, Registry};
use storewatch_google::fake::{Endpoint, FakeApp, Fault, data};
use storewatch_google::metrics::{
    DISTINCT_USERS, USER_PERCEIVED_ANR_RATE, USER_PERCEIVED_CRASH_RATE,
};

fn points_by_key(batch: &CollectBatch) -> HashMap<(AppId, Metric, NaiveDate), f64> {
    let mut map = HashMap::new();
    for p in &batch.points {
        assert_eq!(p.segment, "", "only totals are emitted");
        p.validate().unwrap();
        let old = map.insert((p.app_id, p.metric.clone(), p.date), p.value);
        assert!(old.is_none(), "duplicate point {p:?}");
    }
    map
}

fn outcome_of(batch: &CollectBatch, app: AppId, day: NaiveDate) -> &DayOutcome {
    let found: Vec<_> = batch
        .outcomes
        .iter()
        .filter(|o| o.app_id == app && o.day == day)
        .collect();
    assert_eq!(found.len(), 1, "exactly one outcome for app {app} on {day}");
    &found[0].outcome
}

/// Every value the fake serves for `package` on `day`, as the source must store it.
fn expected(seed: u64, app: AppId, package: &str, day: NaiveDate) -> Vec<MetricPoint> {
    let v = data::vitals(seed, package, day);
    let i = data::installs(seed, package, day);
    let (rating, _) = data::ratings(seed, package, day);
    let mut points = vec![
        MetricPoint::total(app, Metric::CRASH_RATE, day, v.crash_rate),
        MetricPoint::total(
            app,
            USER_PERCEIVED_CRASH_RATE.clone(),
            day,
            v.user_perceived_crash_rate,
        ),
        MetricPoint::total(app, DISTINCT_USERS.clone(), day, v.distinct_users),
        MetricPoint::total(app, Metric::ANR_RATE, day, v.anr_rate),
        MetricPoint::total(
            app,
            USER_PERCEIVED_ANR_RATE.clone(),
            day,
            v.user_perceived_anr_rate,
        ),
        MetricPoint::total(app, Metric::DOWNLOADS, day, i.daily_user_installs as f64),
        MetricPoint::total(app, Metric::UPDATES, day, i.update_events as f64),
        MetricPoint::total(app, Metric::UNINSTALLS, day, i.daily_user_uninstalls as f64),
        MetricPoint::total(
            app,
            Metric::ACTIVE_DEVICES,
            day,
            i.active_device_installs as f64,
        ),
    ];
    if let Some(r) = rating {
        points.push(MetricPoint::total(app, Metric::RATING_AVG, day, r));
    }
    points
}

#[tokio::test]
async fn collects_every_metric_with_the_fakes_values() {
    let fake = fake_with(&["com.example.app"], today()).await;
    let source = source_for(&fake, fast_http());
    assert_eq!(source.kind(), "google_play");
    assert_eq!(source.metrics().len(), 10);
    let req = CollectRequest::new(
        vec![target(1, "com.example.app")],
        day(2026, 9, 10),
        day(2026, 9, 20),
    );
    let batch = source.collect(&req).await.unwrap();
    let got = points_by_key(&batch);
    let mut want = 0;
    for d in req.days() {
        assert!(
            matches!(outcome_of(&batch, AppId(1), d), DayOutcome::Collected),
            "{d}"
        );
        for p in expected(fake.seed(), AppId(1), "com.example.app", d) {
            assert_eq!(
                got.get(&(p.app_id, p.metric.clone(), p.date)),
                Some(&p.value),
                "{} on {d}",
                p.metric
            );
            want += 1;
        }
    }
    assert_eq!(got.len(), want, "nothing beyond the expected points");
    // Rates are fractions, never percentages.
    assert!(
        batch
            .points
            .iter()
            .filter(|p| p.metric == Metric::CRASH_RATE)
            .all(|p| p.value < 1.0)
    );
    assert_eq!(fake.requests(Endpoint::Token), 1);
    // A published range needs no freshness call: one query per metric set.
    assert_eq!(fake.requests(Endpoint::Freshness), 0);
    assert_eq!(fake.requests(Endpoint::Query), 2);
    assert_eq!(fake.requests(Endpoint::Download), 2);
    // The token is cached: a second collection signs no new JWT.
    source.collect(&req).await.unwrap();
    assert_eq!(fake.requests(Endpoint::Token), 1);
}

#[tokio::test]
async fn backfill_50_apps_30_days_makes_the_minimum_requests() {
    let packages: Vec<String> = (0..50).map(|i| format!("com.example.app{i:02}")).collect();
    let refs: Vec<&str> = packages.iter().map(String::as_str).collect();
    let fake = fake_with(&refs, today()).await;
    let source = source_for(&fake, fast_http());
    let apps = packages
        .iter()
        .enumerate()
        .map(|(i, p)| target(i as i64 + 1, p))
        .collect();
    // 2026-08-21 ..= 2026-09-19: 30 days over two months.
    let (from, to) = (day(2026, 8, 21), day(2026, 9, 19));
    let req = CollectRequest::new(apps, from, to);
    assert_eq!(req.days().count(), 30);
    let batch = source.collect(&req).await.unwrap();
    let metric_sets = 2;
    let months = 2;
    assert_eq!(fake.requests(Endpoint::Query), 50 * metric_sets);
    assert_eq!(fake.requests(Endpoint::Freshness), 0);
    // Installs and ratings: one object per app and month each.
    assert_eq!(fake.requests(Endpoint::Download), 50 * months * 2);
    assert_eq!(fake.requests(Endpoint::List), 0);
    assert_eq!(fake.requests(Endpoint::Token), 1);
    assert_eq!(batch.outcomes.len(), 50 * 30);
    assert!(
        batch
            .outcomes
            .iter()
            .all(|o| matches!(o.outcome, DayOutcome::Collected))
    );
    let got = points_by_key(&batch);
    let mut want = 0;
    for (i, p) in packages.iter().enumerate() {
        for d in req.days() {
            for e in expected(fake.seed(), AppId(i as i64 + 1), p, d) {
                assert_eq!(
                    got.get(&(e.app_id, e.metric.clone(), e.date)),
                    Some(&e.value)
                );
                want += 1;
            }
        }
    }
    assert_eq!(got.len(), want);
}

#[tokio::test]
async fn range_is_clamped_to_each_sets_freshness() {
    let fake = fake_with(&["com.example.app"], today()).await;
    fake.set_freshness("crashRateMetricSet", day(2026, 9, 15));
    fake.set_freshness("anrRateMetricSet", day(2026, 9, 18));
    // A failing freshness call is retried like any other.
    fake.fail_next(Endpoint::Freshness, Fault::Internal, 1);
    let source = source_for(&fake, fast_http());
    let req = CollectRequest::new(
        vec![target(1, "com.example.app")],
        day(2026, 9, 10),
        day(2026, 9, 20),
    )
    .with_metrics(vec![Metric::CRASH_RATE, Metric::ANR_RATE]);
    let batch = source.collect(&req).await.unwrap();
    let got = points_by_key(&batch);
    for d in req.days() {
        // The ANR set has 09-15..09-17, but a day pending in one set is stored whole later.
        let stored = d < day(2026, 9, 15);
        assert_eq!(
            got.contains_key(&(AppId(1), Metric::CRASH_RATE, d)),
            stored,
            "crash {d}"
        );
        assert_eq!(
            got.contains_key(&(AppId(1), Metric::ANR_RATE, d)),
            stored,
            "anr {d}"
        );
        let outcome = outcome_of(&batch, AppId(1), d);
        if d < day(2026, 9, 15) {
            assert!(matches!(outcome, DayOutcome::Collected), "{d}: {outcome:?}");
        } else {
            assert!(
                matches!(outcome, DayOutcome::NotYetAvailable { .. }),
                "{d}: {outcome:?}"
            );
        }
    }
    // Per set: the whole range (refused past freshness), freshness, the clamped range.
    assert_eq!(fake.requests(Endpoint::Query), 4);
    assert_eq!(fake.requests(Endpoint::Freshness), 3);
    assert_eq!(fake.requests(Endpoint::Download), 0);
}

#[tokio::test]
async fn freshness_stuck_before_the_range_asks_no_clamped_query() {
    let fake = fake_with(&["com.example.app"], today()).await;
    for set in ["crashRateMetricSet", "anrRateMetricSet"] {
        fake.set_freshness(set, day(2026, 9, 20));
    }
    let source = source_for(&fake, fast_http());
    let req = CollectRequest::new(
        vec![target(1, "com.example.app")],
        day(2026, 9, 20),
        day(2026, 9, 21),
    )
    .with_metrics(vec![Metric::CRASH_RATE, Metric::ANR_RATE]);
    let batch = source.collect(&req).await.unwrap();
    assert!(batch.points.is_empty());
    assert!(
        batch
            .outcomes
            .iter()
            .all(|o| matches!(o.outcome, DayOutcome::NotYetAvailable { .. }))
    );
    // The refused whole-range query per set, then freshness; nothing is left to ask.
    assert_eq!(fake.requests(Endpoint::Query), 2);
    assert_eq!(fake.requests(Endpoint::Freshness), 2);
}

#[tokio::test]
async fn month_not_generated_is_not_yet_available() {
    // On 2026-10-03 the October files do not exist yet; September's last final day is 09-30.
    let fake = fake_with(&["com.example.app"], day(2026, 10, 3)).await;
    fake.set_bulk_last_day(day(2026, 9, 30));
    let source = source_for(&fake, fast_http());
    let req = CollectRequest::new(
        vec![target(1, "com.example.app")],
        day(2026, 9, 28),
        day(2026, 10, 2),
    )
    .with_metrics(vec![Metric::DOWNLOADS, Metric::RATING_AVG]);
    let batch = source.collect(&req).await.unwrap();
    for d in req.days() {
        let outcome = outcome_of(&batch, AppId(1), d);
        if d <= day(2026, 9, 30) {
            assert!(matches!(outcome, DayOutcome::Collected), "{d}: {outcome:?}");
        } else {
            assert!(
                matches!(outcome, DayOutcome::NotYetAvailable { .. }),
                "{d}: {outcome:?}"
            );
        }
    }
    assert!(batch.points.iter().all(|p| p.date <= day(2026, 9, 30)));
    assert_eq!(
        fake.requests(Endpoint::Download),
        4,
        "two families × two months"
    );
}

#[tokio::test]
async fn days_missing_from_a_current_file_are_pending_and_unfinished_days_read_zero() {
    let fake = fake_with(&["com.example.app"], today()).await;
    // Final through 09-18; 09-19 shows Play's 0s; 09-20 and later are absent.
    fake.set_bulk_last_day(day(2026, 9, 18));
    let source = source_for(&fake, fast_http());
    let req = CollectRequest::new(
        vec![target(1, "com.example.app")],
        day(2026, 9, 17),
        day(2026, 9, 21),
    )
    .with_metrics(vec![Metric::DOWNLOADS]);
    let batch = source.collect(&req).await.unwrap();
    let got = points_by_key(&batch);
    assert_eq!(
        got.get(&(AppId(1), Metric::DOWNLOADS, day(2026, 9, 19))),
        Some(&0.0)
    );
    assert!(matches!(
        outcome_of(&batch, AppId(1), day(2026, 9, 18)),
        DayOutcome::Collected
    ));
    for d in [day(2026, 9, 20), day(2026, 9, 21)] {
        assert!(
            matches!(
                outcome_of(&batch, AppId(1), d),
                DayOutcome::NotYetAvailable { .. }
            ),
            "{d}"
        );
    }
}

#[tokio::test]
async fn old_missing_month_is_a_failure_naming_the_object() {
    let fake = fake_with(&[], today()).await;
    fake.add_app_with("com.example.app", FakeApp::new().since(day(2026, 9, 1)));
    let source = source_for(&fake, fast_http());
    let req = CollectRequest::new(
        vec![target(1, "com.example.app")],
        day(2026, 8, 1),
        day(2026, 8, 2),
    )
    .with_metrics(vec![Metric::DOWNLOADS]);
    let batch = source.collect(&req).await.unwrap();
    for o in &batch.outcomes {
        let DayOutcome::Failed(e) = &o.outcome else {
            panic!("{o:?}")
        };
        assert_eq!(e.kind(), ErrorKind::NotFound);
        assert!(
            e.to_string()
                .contains("stats/installs/installs_com.example.app_202608_overview.csv"),
            "{e}"
        );
    }
}

#[tokio::test]
async fn na_ratings_are_missing_never_zero() {
    let fake = fake_with(&["com.example.app"], today()).await;
    let source = source_for(&fake, fast_http());
    let req = CollectRequest::new(
        vec![target(1, "com.example.app")],
        day(2026, 9, 1),
        day(2026, 9, 20),
    )
    .with_metrics(vec![Metric::RATING_AVG]);
    let batch = source.collect(&req).await.unwrap();
    let got = points_by_key(&batch);
    let mut na_days = 0;
    for d in req.days() {
        match data::ratings(fake.seed(), "com.example.app", d).0 {
            Some(r) => {
                assert_eq!(got.get(&(AppId(1), Metric::RATING_AVG, d)), Some(&r));
                assert!(matches!(
                    outcome_of(&batch, AppId(1), d),
                    DayOutcome::Collected
                ));
            }
            None => {
                na_days += 1;
                assert!(
                    !got.contains_key(&(AppId(1), Metric::RATING_AVG, d)),
                    "NA on {d} stored"
                );
                assert!(matches!(
                    outcome_of(&batch, AppId(1), d),
                    DayOutcome::NoData
                ));
            }
        }
    }
    assert!(
        na_days > 0,
        "the fake's data must contain NA days for this test to mean anything"
    );
}

#[tokio::test]
async fn small_app_vitals_are_no_data() {
    let fake = fake_with(&[], today()).await;
    fake.add_app_with("com.example.tiny", FakeApp::new().small());
    let source = source_for(&fake, fast_http());
    let req = CollectRequest::new(
        vec![target(1, "com.example.tiny")],
        day(2026, 9, 10),
        day(2026, 9, 12),
    )
    .with_metrics(vec![Metric::CRASH_RATE, Metric::ANR_RATE]);
    let batch = source.collect(&req).await.unwrap();
    assert!(batch.points.is_empty());
    assert!(
        batch
            .outcomes
            .iter()
            .all(|o| matches!(o.outcome, DayOutcome::NoData))
    );
}

#[tokio::test]
async fn reporting_pages_are_followed() {
    let fake = fake_with(&["com.example.app"], today()).await;
    let mut http = fast_http();
    http["page_size"] = 7.into();
    let source = source_for(&fake, http);
    let req = CollectRequest::new(
        vec![target(1, "com.example.app")],
        day(2026, 9, 1),
        day(2026, 9, 20),
    )
    .with_metrics(vec![Metric::CRASH_RATE]);
    let batch = source.collect(&req).await.unwrap();
    assert_eq!(batch.points.len(), 20);
    assert_eq!(fake.requests(Endpoint::Query), 3, "20 rows in pages of 7");
}

#[tokio::test]
async fn utf8_reports_read_the_same() {
    let fake = fake_with(&["com.example.app"], today()).await;
    let source = source_for(&fake, fast_http());
    let req = CollectRequest::new(
        vec![target(1, "com.example.app")],
        day(2026, 9, 1),
        day(2026, 9, 20),
    )
    .with_metrics(vec![Metric::DOWNLOADS, Metric::RATING_AVG]);
    let utf16 = points_by_key(&source.collect(&req).await.unwrap());
    fake.set_utf8_reports(true);
    let utf8 = points_by_key(&source.collect(&req).await.unwrap());
    assert!(!utf16.is_empty());
    assert_eq!(utf16, utf8);
}

#[tokio::test]
async fn a_file_without_a_needed_column_stores_nothing_of_it() {
    let fake = fake_with(&["com.example.app"], today()).await;
    let object = "stats/installs/installs_com.example.app_202609_overview.csv";
    let old_header = "Date,Package Name,Daily Device Installs,Daily Device Uninstalls,Daily Device Upgrades,Total User Installs,Daily User Installs,Daily User Uninstalls,Active Device Installs\n2026-09-10,com.example.app,1,1,1,1,1,1,1\n";
    fake.put_object(object, data::utf16le_with_bom(old_header));
    let source = source_for(&fake, fast_http());
    let req = CollectRequest::new(
        vec![target(1, "com.example.app")],
        day(2026, 9, 10),
        day(2026, 9, 11),
    );
    let batch = source.collect(&req).await.unwrap();
    for m in [
        Metric::DOWNLOADS,
        Metric::UPDATES,
        Metric::UNINSTALLS,
        Metric::ACTIVE_DEVICES,
    ] {
        assert!(
            batch.points.iter().all(|p| p.metric != m),
            "{m} stored from a rejected file"
        );
    }
    // The failed days keep nothing, not even the other parts' points.
    assert!(batch.points.is_empty());
    for o in &batch.outcomes {
        let DayOutcome::Failed(e) = &o.outcome else {
            panic!("{o:?}")
        };
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        assert!(
            e.to_string().contains(object) && e.to_string().contains("Update events"),
            "{e}"
        );
    }
    // The other parts are still collected when asked alone.
    let crash = source
        .collect(&req.clone().with_metrics(vec![Metric::CRASH_RATE]))
        .await
        .unwrap();
    assert_eq!(crash.points.len(), 2);
}

#[tokio::test]
async fn one_apps_failure_never_fails_the_batch() {
    let fake = fake_with(&["com.example.ok"], today()).await;
    fake.add_app_with("com.example.hidden", FakeApp::new().not_granted());
    let source = source_for(&fake, fast_http());
    let req = CollectRequest::new(
        vec![target(1, "com.example.ok"), target(2, "com.example.hidden")],
        day(2026, 9, 10),
        day(2026, 9, 11),
    )
    .with_metrics(vec![Metric::CRASH_RATE]);
    let batch = source.collect(&req).await.unwrap();
    for o in &batch.outcomes {
        match (o.app_id, &o.outcome) {
            (AppId(1), DayOutcome::Collected) => {}
            (AppId(2), DayOutcome::Failed(e)) => {
                assert_eq!(e.kind(), ErrorKind::PermissionDenied);
                assert!(
                    e.to_string().contains("View app information (read-only)"),
                    "{e}"
                );
                assert!(e.to_string().contains("com.example.hidden"), "{e}");
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    // Permission errors are not retried, nor taken for a freshness refusal.
    assert_eq!(fake.requests(Endpoint::Query), 2);
    assert_eq!(fake.requests(Endpoint::Freshness), 0);
}

#[tokio::test]
async fn registry_builds_the_source_from_a_credential_config() {
    let fake = fake_with(&["com.example.app"], today()).await;
    let mut registry = Registry::new();
    storewatch_google::register(&mut registry);
    assert_eq!(
        registry.source_kinds().collect::<Vec<_>>(),
        vec![storewatch_google::KIND]
    );
    let source = registry
        .build_source("google_play", &config_secret(&fake))
        .unwrap();
    source.healthcheck().await.unwrap();
    assert!(!format!("{source:?}").contains("PRIVATE KEY"));
    let bad = secrecy::SecretString::from(
        r#"{"service_account_json":{"client_email":"a@b"},"bucket":"pubsite_prod_rev_1"}"#,
    );
    let err = registry.build_source("google_play", &bad).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(
        err.to_string().contains("private_key") && err.to_string().contains("google_play"),
        "{err}"
    );
}

#[tokio::test]
async fn empty_and_reversed_requests() {
    let fake = fake_with(&["com.example.app"], today()).await;
    let source = source_for(&fake, fast_http());
    let batch = source
        .collect(&CollectRequest::new(
            vec![],
            day(2026, 9, 1),
            day(2026, 9, 2),
        ))
        .await
        .unwrap();
    assert!(batch.points.is_empty() && batch.outcomes.is_empty());
    let err = source
        .collect(&CollectRequest::new(
            vec![target(1, "com.example.app")],
            day(2026, 9, 3),
            day(2026, 9, 2),
        ))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.to_string().contains("from"), "{err}");
}

#[tokio::test]
async fn pending_days_say_when_to_ask_again() {
    let fake = fake_with(&["com.example.app"], today()).await;
    fake.set_freshness("crashRateMetricSet", day(2026, 9, 21));
    let source = source_for(&fake, fast_http());
    let req = CollectRequest::new(
        vec![target(1, "com.example.app")],
        day(2026, 9, 21),
        day(2026, 9, 21),
    )
    .with_metrics(vec![Metric::CRASH_RATE]);
    let batch = source.collect(&req).await.unwrap();
    let DayOutcome::NotYetAvailable {
        retry_after: Some(at),
    } = outcome_of(&batch, AppId(1), day(2026, 9, 21))
    else {
        panic!("{:?}", batch.outcomes)
    };
    // The source's clock reads noon in Los Angeles (19:00 UTC); freshness moves hourly.
    assert_eq!(at.to_rfc3339(), "2026-09-22T20:00:00+00:00");
}

#[tokio::test]
async fn an_oversized_report_is_read_and_filtered_to_the_month() {
    let fake = fake_with(&["com.example.app"], today()).await;
    let object = "stats/installs/installs_com.example.app_202609_overview.csv";
    let mut text = String::from(data::INSTALLS_HEADER);
    text.push('\n');
    // ~20 MB once in UTF-16: rows of other days and a repeated day (the last row wins).
    for n in 0..200_000u32 {
        text.push_str(&format!(
            "2016-01-01,com.example.app,{n},1,1,0,{n},1,1,1,1,1\n"
        ));
    }
    text.push_str("2026-09-10,com.example.app,5,1,1,0,5,1,100,1,7,1\n");
    text.push_str("2026-09-10,com.example.app,6,1,1,0,6,1,100,1,7,1\n");
    let bytes = data::utf16le_with_bom(&text);
    assert!(bytes.len() > 19_000_000, "{}", bytes.len());
    fake.put_object(object, bytes);
    let source = source_for(&fake, fast_http());
    let req = CollectRequest::new(
        vec![target(1, "com.example.app")],
        day(2026, 9, 10),
        day(2026, 9, 10),
    )
    .with_metrics(vec![Metric::DOWNLOADS]);
    let batch = source.collect(&req).await.unwrap();
    let got = points_by_key(&batch);
    assert_eq!(got.len(), 1);
    assert_eq!(
        got.get(&(AppId(1), Metric::DOWNLOADS, day(2026, 9, 10))),
        Some(&6.0)
    );
}

#[tokio::test]
async fn only_complete_days_keep_points() {
    // Defaults: vitals through 09-21, bulk files final through 09-20 (09-21 shows 0 installs
    // and no ratings row yet): 09-21 is pending and must carry no point of any part.
    let fake = fake_with(&["com.example.app"], today()).await;
    let source = source_for(&fake, fast_http());
    let req = CollectRequest::new(
        vec![target(1, "com.example.app")],
        day(2026, 9, 18),
        day(2026, 9, 21),
    );
    let batch = source.collect(&req).await.unwrap();
    for o in &batch.outcomes {
        let has = batch
            .points
            .iter()
            .any(|p| p.app_id == o.app_id && p.date == o.day);
        match &o.outcome {
            DayOutcome::Collected => assert!(has, "{} collected without points", o.day),
            DayOutcome::NoData => {}
            other => assert!(!has, "{} is {other:?} but has points", o.day),
        }
    }
    assert!(matches!(
        outcome_of(&batch, AppId(1), day(2026, 9, 21)),
        DayOutcome::NotYetAvailable { .. }
    ));
    assert!(matches!(
        outcome_of(&batch, AppId(1), day(2026, 9, 20)),
        DayOutcome::Collected
    ));
}
