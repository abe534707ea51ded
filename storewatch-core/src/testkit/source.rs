//! The source conformance suite: what every [`MetricSource`] must do, checked on a
//! request the implementation's test chooses (usually against its fake server).
//!
//! Each check panics with a message starting `source contract <name>` when it breaks.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use crate::model::{AppId, validate_segment};
use crate::source::{AppTarget, CollectRequest, DayOutcome, MetricSource};

/// A source under test and what to ask it.
#[derive(Debug, Clone)]
pub struct SourceCheck {
    /// The source.
    pub source: Arc<dyn MetricSource>,
    /// A request whose apps the provider knows and whose days it has published.
    pub request: CollectRequest,
    /// An app the provider does not know, if the source can be asked about one.
    pub unknown_app: Option<AppTarget>,
}

/// Runs every source check, printing each name as it passes.
pub async fn check_all(check: &SourceCheck) {
    macro_rules! run {
        ($($name:ident),* $(,)?) => {$(
            $name(check).await;
            println!("source conformance: {} ... ok", stringify!($name));
        )*};
    }
    run!(
        declares_kind_and_metrics,
        healthcheck_passes,
        one_outcome_per_app_and_day,
        points_stay_inside_the_request,
        totals_accompany_segments,
        outcomes_match_points,
        collect_is_repeatable,
        unknown_app_fails_alone,
    );
}

/// `kind()` is a registry kind name and `metrics()` is not empty.
pub async fn declares_kind_and_metrics(c: &SourceCheck) {
    let kind = c.source.kind();
    assert!(
        !kind.is_empty()
            && kind
                .chars()
                .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '_'),
        "source contract declares_kind_and_metrics: kind {kind:?} is not a kind name"
    );
    assert!(
        !c.source.metrics().is_empty(),
        "source contract declares_kind_and_metrics: metrics() is empty"
    );
}

/// `healthcheck()` succeeds against a working provider.
pub async fn healthcheck_passes(c: &SourceCheck) {
    c.source
        .healthcheck()
        .await
        .unwrap_or_else(|e| panic!("source contract healthcheck_passes: {e}"));
}

async fn collect(
    c: &SourceCheck,
    req: &CollectRequest,
    contract: &str,
) -> crate::source::CollectBatch {
    c.source
        .collect(req)
        .await
        .unwrap_or_else(|e| panic!("source contract {contract}: collect failed: {e}"))
}

/// Exactly one outcome per (app, day) of the request.
pub async fn one_outcome_per_app_and_day(c: &SourceCheck) {
    let batch = collect(c, &c.request, "one_outcome_per_app_and_day").await;
    let mut seen = BTreeMap::new();
    for o in &batch.outcomes {
        *seen.entry((o.app_id, o.day)).or_insert(0) += 1;
    }
    for app in &c.request.apps {
        for day in c.request.days() {
            let n = seen.remove(&(app.app_id, day)).unwrap_or(0);
            assert_eq!(
                n, 1,
                "source contract one_outcome_per_app_and_day: app {} day {day} has {n} outcomes",
                app.app_id
            );
        }
    }
    assert!(
        seen.is_empty(),
        "source contract one_outcome_per_app_and_day: outcomes outside the request: {seen:?}"
    );
}

/// Every point is of a requested app and day, a declared and wanted metric, finite, with a valid segment.
pub async fn points_stay_inside_the_request(c: &SourceCheck) {
    let batch = collect(c, &c.request, "points_stay_inside_the_request").await;
    assert!(
        !batch.points.is_empty(),
        "source contract points_stay_inside_the_request: no point collected for a published request"
    );
    let apps: BTreeSet<AppId> = c.request.apps.iter().map(|a| a.app_id).collect();
    for p in &batch.points {
        let ok = apps.contains(&p.app_id)
            && p.date >= c.request.from
            && p.date <= c.request.to
            && c.source.metrics().contains(&p.metric)
            && c.request.wants(&p.metric)
            && p.value.is_finite()
            && validate_segment(&p.segment).is_ok();
        assert!(
            ok,
            "source contract points_stay_inside_the_request: point outside the request: {p:?}"
        );
    }
}

/// Whenever a segment of a metric is emitted for an app and day, its total is too.
pub async fn totals_accompany_segments(c: &SourceCheck) {
    let batch = collect(c, &c.request, "totals_accompany_segments").await;
    let totals: BTreeSet<_> = batch
        .points
        .iter()
        .filter(|p| p.segment.is_empty())
        .map(|p| (p.app_id, p.metric.clone(), p.date))
        .collect();
    for p in batch.points.iter().filter(|p| !p.segment.is_empty()) {
        assert!(
            totals.contains(&(p.app_id, p.metric.clone(), p.date)),
            "source contract totals_accompany_segments: segment {} of {} for app {} on {} has no total",
            p.segment,
            p.metric,
            p.app_id,
            p.date
        );
    }
}

/// `Collected` days have points; not-yet-available and failed days have none.
pub async fn outcomes_match_points(c: &SourceCheck) {
    let batch = collect(c, &c.request, "outcomes_match_points").await;
    let with_points: BTreeSet<_> = batch.points.iter().map(|p| (p.app_id, p.date)).collect();
    for o in &batch.outcomes {
        let has = with_points.contains(&(o.app_id, o.day));
        match &o.outcome {
            DayOutcome::Collected => assert!(
                has,
                "source contract outcomes_match_points: app {} day {} is Collected without points",
                o.app_id, o.day
            ),
            DayOutcome::NotYetAvailable { .. } | DayOutcome::Failed(_) => assert!(
                !has,
                "source contract outcomes_match_points: app {} day {} has points but outcome {:?}",
                o.app_id, o.day, o.outcome
            ),
            DayOutcome::NoData => {}
        }
    }
}

/// Collecting the same request twice gives the same points.
pub async fn collect_is_repeatable(c: &SourceCheck) {
    let key = |b: crate::source::CollectBatch| {
        let mut v: Vec<_> = b
            .points
            .into_iter()
            .map(|p| (p.app_id, p.metric, p.date, p.segment, p.value.to_bits()))
            .collect();
        v.sort();
        v
    };
    let a = key(collect(c, &c.request, "collect_is_repeatable").await);
    let b = key(collect(c, &c.request, "collect_is_repeatable").await);
    assert_eq!(
        a, b,
        "source contract collect_is_repeatable: two collections of the same request differ"
    );
}

/// An app the provider does not know fails alone: the other apps are still collected.
pub async fn unknown_app_fails_alone(c: &SourceCheck) {
    let Some(unknown) = &c.unknown_app else {
        return;
    };
    let mut req = c.request.clone();
    req.apps.push(unknown.clone());
    let batch = c.source.collect(&req).await.unwrap_or_else(|e| {
        panic!(
            "source contract unknown_app_fails_alone: one unknown app failed the whole batch: {e}"
        )
    });
    for o in batch.outcomes.iter().filter(|o| o.app_id == unknown.app_id) {
        assert!(
            matches!(o.outcome, DayOutcome::Failed(_) | DayOutcome::NoData),
            "source contract unknown_app_fails_alone: unknown app got {:?}",
            o.outcome
        );
    }
    assert!(
        batch.points.iter().any(|p| p.app_id != unknown.app_id),
        "source contract unknown_app_fails_alone: the known apps lost their points"
    );
    assert!(
        batch.points.iter().all(|p| p.app_id != unknown.app_id),
        "source contract unknown_app_fails_alone: points for the unknown app"
    );
}
