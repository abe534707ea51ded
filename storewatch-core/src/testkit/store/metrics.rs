//! Checks of [`MetricStore`](crate::store::MetricStore): upserts, history queries,
//! latest dates, and what deleting an app removes.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{NaiveDate, SubsecRound};

use super::{fails, march, ok, plus_days};
use crate::ErrorKind;
use crate::analysis::MetricHistory;
use crate::model::{
    AlertState, AlertStatus, App, AppId, Fingerprint, Metric, MetricPoint, Platform,
};
use crate::store::{DaySelection, HistoryQuery, Store};
use crate::testkit::{
    sample_android_app_spec, sample_app_spec, sample_channel_spec, sample_rule_spec,
};

/// `points` in (app, metric, segment, date) order.
fn sorted(mut points: Vec<MetricPoint>) -> Vec<MetricPoint> {
    points.sort_by(|a, b| {
        (a.app_id, &a.metric, &a.segment, a.date).cmp(&(b.app_id, &b.metric, &b.segment, b.date))
    });
    points
}

/// Everything stored, as sorted points.
async fn everything<S: Store>(check: &str, store: &S) -> Vec<MetricPoint> {
    // Wide, yet inside what every database's date type holds.
    let all = HistoryQuery::range(
        NaiveDate::from_ymd_opt(2000, 1, 1).unwrap_or_default(),
        NaiveDate::from_ymd_opt(2100, 1, 1).unwrap_or_default(),
    );
    sorted(ok(check, "history of every day", store.history(&all).await).to_points())
}

/// `days` days from 1 March 2026 of downloads, crash rate and (iOS only) proceeds in
/// USD, with a distinct value per point.
fn sample_points(app: &App, days: u64) -> Vec<MetricPoint> {
    let mut points = Vec::new();
    for d in 0..days {
        let date = plus_days(march(1), d);
        let base = app.id.0 as f64 * 10_000.0 + d as f64 * 10.0;
        points.push(MetricPoint::total(
            app.id,
            Metric::DOWNLOADS,
            date,
            base + 0.25,
        ));
        points.push(MetricPoint::total(
            app.id,
            Metric::CRASH_RATE,
            date,
            0.001 * (d as f64 + 1.0),
        ));
        if app.platform == Platform::Ios {
            points.push(
                MetricPoint::total(app.id, Metric::PROCEEDS, date, base + 0.5)
                    .with_segment("currency:USD"),
            );
        }
    }
    points
}

/// Upserting the same points again changes nothing; upserting a point with a new value
/// replaces the value in place. Each upsert returns the number of points it wrote.
pub async fn upsert_is_idempotent<S: Store + 'static>(store: S) {
    const CHECK: &str = "upsert_is_idempotent";
    let app = ok(
        CHECK,
        "create_app",
        store.create_app(sample_app_spec(1)).await,
    );
    let points = sample_points(&app, 3);
    let written = ok(CHECK, "upsert_points", store.upsert_points(&points).await);
    ensure_eq!(
        CHECK,
        written,
        points.len() as u64,
        "points written by the first upsert"
    );
    let again = ok(
        CHECK,
        "upsert_points again",
        store.upsert_points(&points).await,
    );
    ensure_eq!(
        CHECK,
        again,
        points.len() as u64,
        "points written by the same upsert again"
    );
    ensure_eq!(
        CHECK,
        everything(CHECK, &store).await,
        sorted(points.clone()),
        "the stored points after upserting the same batch twice"
    );

    let mut corrected = points[1].clone();
    corrected.value = 0.125;
    let mut expected = points.clone();
    expected[1] = corrected.clone();
    let written = ok(
        CHECK,
        "upsert_points of a corrected value",
        store.upsert_points(std::slice::from_ref(&corrected)).await,
    );
    ensure_eq!(CHECK, written, 1, "points written by a one-point upsert");
    ensure_eq!(
        CHECK,
        everything(CHECK, &store).await,
        sorted(expected),
        "the stored points after a corrected value (replaced in place, nothing added)"
    );
    ensure_eq!(
        CHECK,
        ok(
            CHECK,
            "upsert_points of nothing",
            store.upsert_points(&[]).await
        ),
        0,
        "points written by an empty upsert"
    );
}

/// A batch with a NaN or infinite value, a malformed segment or an unknown app is
/// refused whole with `InvalidInput` naming the app, metric and day, and writes nothing
/// (even the valid points before the bad one).
pub async fn upsert_refuses_nan_and_writes_nothing<S: Store + 'static>(store: S) {
    const CHECK: &str = "upsert_refuses_nan_and_writes_nothing";
    let app = ok(
        CHECK,
        "create_app",
        store.create_app(sample_app_spec(1)).await,
    );
    let good = sample_points(&app, 2);
    let day = march(2);
    let bad_points = [
        (
            "a NaN value",
            MetricPoint::total(app.id, Metric::SESSIONS, day, f64::NAN),
        ),
        (
            "an infinite value",
            MetricPoint::total(app.id, Metric::SESSIONS, day, f64::INFINITY),
        ),
        (
            "a -infinite value",
            MetricPoint::total(app.id, Metric::SESSIONS, day, f64::NEG_INFINITY),
        ),
        (
            "a malformed segment",
            MetricPoint::total(app.id, Metric::PROCEEDS, day, 1.0).with_segment("EUR"),
        ),
        (
            "an unknown app",
            MetricPoint::total(AppId(app.id.0 + 1000), Metric::DOWNLOADS, day, 1.0),
        ),
    ];
    for (what, bad) in bad_points {
        let mut batch = good.clone();
        batch.push(bad.clone());
        let err = fails(
            CHECK,
            &format!("upsert_points with {what}"),
            store.upsert_points(&batch).await,
            ErrorKind::InvalidInput,
        );
        let text = err.to_string();
        for part in [
            bad.app_id.to_string(),
            bad.metric.to_string(),
            bad.date.to_string(),
        ] {
            ensure!(
                CHECK,
                text.contains(&part),
                "the error for {what} does not name {part:?}: {text}"
            );
        }
        ensure!(
            CHECK,
            everything(CHECK, &store).await.is_empty(),
            "a batch refused for {what} wrote points"
        );
    }
    ensure_eq!(
        CHECK,
        ok(
            CHECK,
            "upsert_points of the valid points",
            store.upsert_points(&good).await
        ),
        good.len() as u64,
        "points written once the bad one is gone"
    );
}

/// `history` returns exactly the points a [`HistoryQuery`] selects (day range, listed
/// days, apps, metrics), grouped one series per (app, metric, segment) carrying the
/// app's platform and bundle id.
pub async fn history_selects_days_apps_metrics<S: Store + 'static>(store: S) {
    const CHECK: &str = "history_selects_days_apps_metrics";
    let ios = ok(
        CHECK,
        "create_app",
        store.create_app(sample_app_spec(1)).await,
    );
    let android = ok(
        CHECK,
        "create_app",
        store.create_app(sample_android_app_spec(2)).await,
    );
    let without_points = ok(
        CHECK,
        "create_app",
        store.create_app(sample_app_spec(3)).await,
    );
    let mut points = sample_points(&ios, 14);
    points.extend(sample_points(&android, 14));
    ok(CHECK, "upsert_points", store.upsert_points(&points).await);

    let d = |n: u64| plus_days(march(1), n);
    let queries = [
        HistoryQuery::range(d(3), d(9)),
        HistoryQuery::range(d(0), d(13)).with_apps(vec![android.id]),
        HistoryQuery::range(d(5), d(5)).with_metrics(vec![Metric::PROCEEDS]),
        HistoryQuery::new(DaySelection::Days(vec![d(7), d(1), d(7), d(20)]))
            .with_apps(vec![ios.id, without_points.id])
            .with_metrics(vec![Metric::DOWNLOADS, Metric::CRASH_RATE]),
        HistoryQuery::range(d(20), d(30)),
        HistoryQuery::range(d(9), d(3)),
        HistoryQuery::range(d(0), d(13)).with_apps(vec![]),
    ];
    for query in queries {
        let history = ok(CHECK, "history", store.history(&query).await);
        let expected: Vec<MetricPoint> = points
            .iter()
            .filter(|p| query.matches(p.app_id, &p.metric, p.date))
            .cloned()
            .collect();
        ensure_eq!(
            CHECK,
            sorted(history.to_points()),
            sorted(expected),
            "the points selected by {query:?}"
        );
        check_series(CHECK, &history, &[&ios, &android, &without_points]);
    }
}

/// Each series appears once, is not empty, and names its app's platform and bundle id.
fn check_series(check: &str, history: &MetricHistory, apps: &[&App]) {
    let mut seen = BTreeSet::new();
    for series in &history.series {
        let key = &series.key;
        ensure!(
            check,
            seen.insert((key.app_id, key.metric.clone(), key.segment.clone())),
            "series {key} appears twice"
        );
        ensure!(
            check,
            !series.points.is_empty(),
            "series {key} has no point"
        );
        let days: BTreeSet<NaiveDate> = series.points.iter().map(|(d, _)| *d).collect();
        ensure_eq!(
            check,
            days.len(),
            series.points.len(),
            "distinct days in series {key}"
        );
        let app = apps
            .iter()
            .find(|a| a.id == key.app_id)
            .unwrap_or_else(|| panic!("{check}: series {key} of unknown app {}", key.app_id));
        ensure!(
            check,
            key.platform == app.platform && key.bundle_id == app.bundle_id,
            "series {key} does not carry app {}'s platform {} and bundle id {}",
            app.id,
            app.platform,
            app.bundle_id
        );
    }
}

/// `latest_dates` gives, for each asked app with points, its latest day over every
/// metric and segment; apps without points and apps not asked for are absent.
pub async fn latest_dates<S: Store + 'static>(store: S) {
    const CHECK: &str = "latest_dates";
    let a = ok(
        CHECK,
        "create_app",
        store.create_app(sample_app_spec(1)).await,
    );
    let b = ok(
        CHECK,
        "create_app",
        store.create_app(sample_app_spec(2)).await,
    );
    let c = ok(
        CHECK,
        "create_app",
        store.create_app(sample_app_spec(3)).await,
    );
    let mut points = sample_points(&a, 6);
    points.push(MetricPoint::total(a.id, Metric::CRASH_RATE, march(9), 0.01));
    points.push(
        MetricPoint::total(b.id, Metric::PROCEEDS, march(4), 9.5).with_segment("currency:EUR"),
    );
    points.push(MetricPoint::total(b.id, Metric::DOWNLOADS, march(2), 3.0));
    ok(CHECK, "upsert_points", store.upsert_points(&points).await);

    let all = ok(
        CHECK,
        "latest_dates",
        store.latest_dates(&[a.id, b.id, c.id]).await,
    );
    ensure_eq!(
        CHECK,
        all,
        BTreeMap::from([(a.id, march(9)), (b.id, march(4))]),
        "the latest days of three apps, one without points"
    );
    let only_b = ok(CHECK, "latest_dates", store.latest_dates(&[b.id]).await);
    ensure_eq!(
        CHECK,
        only_b,
        BTreeMap::from([(b.id, march(4))]),
        "the latest day of one app"
    );
}

/// Deleting an app deletes its points and alert states and frees its name and bundle
/// id; other apps keep theirs; points for the deleted app are refused.
pub async fn delete_app_cascades<S: Store + 'static>(store: S) {
    const CHECK: &str = "delete_app_cascades";
    let gone = ok(
        CHECK,
        "create_app",
        store.create_app(sample_app_spec(1)).await,
    );
    let kept = ok(
        CHECK,
        "create_app",
        store.create_app(sample_app_spec(2)).await,
    );
    let kept_points = sample_points(&kept, 3);
    ok(
        CHECK,
        "upsert_points",
        store.upsert_points(&sample_points(&gone, 3)).await,
    );
    ok(
        CHECK,
        "upsert_points",
        store.upsert_points(&kept_points).await,
    );

    let channel_id = ok(
        CHECK,
        "reserve_channel_id",
        store.reserve_channel_id().await,
    );
    let channel = ok(
        CHECK,
        "create_channel",
        store
            .create_channel(channel_id, sample_channel_spec(channel_id, 1))
            .await,
    );
    let rule = ok(
        CHECK,
        "create_rule",
        store.create_rule(sample_rule_spec(1, channel.id)).await,
    );
    let since = ok(CHECK, "now", store.now().await).trunc_subsecs(0);
    let state = |app: AppId| AlertState {
        fingerprint: Fingerprint {
            rule_id: rule.id,
            app_id: app,
            metric: Metric::DOWNLOADS,
            segment: String::new(),
        },
        status: AlertStatus::Firing,
        breach_days: 2,
        last_day: Some(march(3)),
        since,
        last_notified: Some(since),
        last_severity: Some(rule.severity),
    };
    ok(
        CHECK,
        "save_alert_states",
        store
            .save_alert_states(&[state(gone.id), state(kept.id)])
            .await,
    );

    ok(CHECK, "delete_app", store.delete_app(gone.id).await);
    fails(
        CHECK,
        "get_app after delete",
        store.get_app(gone.id).await,
        ErrorKind::NotFound,
    );
    fails(
        CHECK,
        "delete_app twice",
        store.delete_app(gone.id).await,
        ErrorKind::NotFound,
    );
    ensure_eq!(
        CHECK,
        everything(CHECK, &store).await,
        sorted(kept_points),
        "the points left after deleting an app"
    );
    let states = ok(CHECK, "alert_states", store.alert_states().await);
    let left: Vec<AppId> = states.keys().map(|fp| fp.app_id).collect();
    ensure_eq!(
        CHECK,
        left,
        vec![kept.id],
        "apps with alert states after deleting an app"
    );
    ensure!(
        CHECK,
        ok(CHECK, "latest_dates", store.latest_dates(&[gone.id]).await).is_empty(),
        "a deleted app still has a latest date"
    );
    fails(
        CHECK,
        "upsert_points for a deleted app",
        store
            .upsert_points(&[MetricPoint::total(
                gone.id,
                Metric::DOWNLOADS,
                march(5),
                1.0,
            )])
            .await,
        ErrorKind::InvalidInput,
    );
    ok(
        CHECK,
        "create_app with the deleted app's name and bundle id",
        store.create_app(sample_app_spec(1)).await,
    );
}
