//! Checks of the bookkeeping half of [`RunStore`](crate::store::RunStore): alert
//! states, deliveries and scheduler instances.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};

use super::{fails, march, ok, whole_seconds};
use crate::ErrorKind;
use crate::model::{
    AlertState, AlertStates, AlertStatus, AppId, Channel, DeliveryId, DeliveryStatus, Execution,
    Fingerprint, InstanceId, InstanceInfo, Metric, NewExecution, RuleId, Severity, Task,
};
use crate::store::Store;
use crate::testkit::{sample_app_spec, sample_channel_spec, sample_rule_spec};

/// A channel, created under a reserved id.
pub(super) async fn channel<S: Store>(check: &str, store: &S, n: u32) -> Channel {
    let id = ok(
        check,
        "reserve_channel_id",
        store.reserve_channel_id().await,
    );
    ok(
        check,
        "create_channel",
        store.create_channel(id, sample_channel_spec(id, n)).await,
    )
}

/// A pending manual execution.
async fn execution<S: Store>(check: &str, store: &S, new: NewExecution) -> Execution {
    ok(check, "insert_execution", store.insert_execution(new).await)
        .unwrap_or_else(|| panic!("{check}: insert_execution of a manual execution gave None"))
}

/// An alert state of (rule, app, metric, segment), its times at whole seconds.
fn state(
    rule: RuleId,
    app: AppId,
    metric: Metric,
    segment: &str,
    status: AlertStatus,
    since: DateTime<Utc>,
) -> AlertState {
    let notified = status == AlertStatus::Firing;
    AlertState {
        fingerprint: Fingerprint {
            rule_id: rule,
            app_id: app,
            metric,
            segment: segment.to_owned(),
        },
        status,
        breach_days: if status == AlertStatus::Resolved {
            0
        } else {
            3
        },
        last_day: Some(march(4)),
        since,
        last_notified: notified.then_some(since),
        last_severity: notified.then_some(Severity::Critical),
    }
}

/// `states` keyed by fingerprint.
fn by_fingerprint(states: &[AlertState]) -> AlertStates {
    states
        .iter()
        .map(|s| (s.fingerprint.clone(), s.clone()))
        .collect()
}

/// Saved alert states come back field for field, keyed by fingerprint; saving a state
/// with a known fingerprint replaces it, others are kept.
pub async fn alert_states_round_trip<S: Store + 'static>(store: S) {
    const CHECK: &str = "alert_states_round_trip";
    let app = ok(
        CHECK,
        "create_app",
        store.create_app(sample_app_spec(1)).await,
    );
    let ch = channel(CHECK, &store, 1).await;
    let rule = ok(
        CHECK,
        "create_rule",
        store.create_rule(sample_rule_spec(1, ch.id)).await,
    );
    let since = whole_seconds(ok(CHECK, "now", store.now().await));
    let (r, a) = (rule.id, app.id);

    let pending = state(r, a, Metric::DOWNLOADS, "", AlertStatus::Pending, since);
    let firing = state(
        r,
        a,
        Metric::PROCEEDS,
        "currency:EUR",
        AlertStatus::Firing,
        since,
    );
    ok(
        CHECK,
        "save_alert_states",
        store
            .save_alert_states(&[pending.clone(), firing.clone()])
            .await,
    );
    ensure_eq!(
        CHECK,
        ok(CHECK, "alert_states", store.alert_states().await),
        by_fingerprint(&[pending.clone(), firing.clone()]),
        "the alert states saved"
    );

    let now_firing = state(r, a, Metric::DOWNLOADS, "", AlertStatus::Firing, since);
    let resolved = state(r, a, Metric::CRASH_RATE, "", AlertStatus::Resolved, since);
    ok(
        CHECK,
        "save_alert_states",
        store
            .save_alert_states(&[now_firing.clone(), resolved.clone()])
            .await,
    );
    ok(
        CHECK,
        "save_alert_states of nothing",
        store.save_alert_states(&[]).await,
    );
    ensure_eq!(
        CHECK,
        ok(CHECK, "alert_states", store.alert_states().await),
        by_fingerprint(&[now_firing, firing, resolved]),
        "the alert states after replacing one and adding one"
    );
}

/// Deleting a rule deletes its alert states and keeps the other rules'.
pub async fn delete_rule_cascades_alert_states<S: Store + 'static>(store: S) {
    const CHECK: &str = "delete_rule_cascades_alert_states";
    let app = ok(
        CHECK,
        "create_app",
        store.create_app(sample_app_spec(1)).await,
    );
    let ch = channel(CHECK, &store, 1).await;
    let gone = ok(
        CHECK,
        "create_rule",
        store.create_rule(sample_rule_spec(1, ch.id)).await,
    );
    let kept = ok(
        CHECK,
        "create_rule",
        store.create_rule(sample_rule_spec(2, ch.id)).await,
    );
    let since = whole_seconds(ok(CHECK, "now", store.now().await));
    let kept_state = state(
        kept.id,
        app.id,
        Metric::DOWNLOADS,
        "",
        AlertStatus::Firing,
        since,
    );
    ok(
        CHECK,
        "save_alert_states",
        store
            .save_alert_states(&[
                state(
                    gone.id,
                    app.id,
                    Metric::DOWNLOADS,
                    "",
                    AlertStatus::Firing,
                    since,
                ),
                kept_state.clone(),
            ])
            .await,
    );
    ok(CHECK, "delete_rule", store.delete_rule(gone.id).await);
    fails(
        CHECK,
        "get_rule after delete",
        store.get_rule(gone.id).await,
        ErrorKind::NotFound,
    );
    ensure_eq!(
        CHECK,
        ok(CHECK, "alert_states", store.alert_states().await),
        by_fingerprint(&[kept_state]),
        "the alert states left after deleting a rule"
    );
}

/// A delivery starts `Pending` with one attempt; a failed one goes back to `Pending`
/// with one more attempt when started again; once `Sent`, starting it again — from the
/// same execution or a retry of it — returns the sent record unchanged.
pub async fn delivery_sent_is_not_restarted<S: Store + 'static>(store: S) {
    const CHECK: &str = "delivery_sent_is_not_restarted";
    let ch = channel(CHECK, &store, 1).await;
    let now = ok(CHECK, "now", store.now().await);
    let first = execution(
        CHECK,
        &store,
        NewExecution::manual(Task::FullAnalysis, march(1), now),
    )
    .await;
    let key = "report:1:2026-03-01";

    let started = ok(
        CHECK,
        "start_delivery",
        store.start_delivery(first.id, ch.id, key).await,
    );
    ensure!(
        CHECK,
        started.status == DeliveryStatus::Pending
            && started.attempts == 1
            && started.execution_id == first.id
            && started.channel_id == ch.id
            && started.message_key == key
            && started.error.is_none(),
        "a new delivery should be pending, attempt 1, of execution {} channel {} key {key}: {started:?}",
        first.id,
        ch.id
    );
    let failed = ok(
        CHECK,
        "finish_delivery as failed",
        store
            .finish_delivery(
                started.id,
                DeliveryStatus::Failed,
                Some("HTTP 500 from provider".to_owned()),
            )
            .await,
    );
    ensure!(
        CHECK,
        failed.status == DeliveryStatus::Failed
            && failed.error.as_deref() == Some("HTTP 500 from provider")
            && failed.attempts == 1,
        "a failed delivery should keep its error: {failed:?}"
    );
    let again = ok(
        CHECK,
        "start_delivery after a failure",
        store.start_delivery(first.id, ch.id, key).await,
    );
    ensure!(
        CHECK,
        again.id == started.id && again.status == DeliveryStatus::Pending && again.attempts == 2,
        "restarting failed delivery {} should make it pending, attempt 2: {again:?}",
        started.id
    );
    let sent = ok(
        CHECK,
        "finish_delivery as sent",
        store
            .finish_delivery(started.id, DeliveryStatus::Sent, None)
            .await,
    );
    ensure!(
        CHECK,
        sent.status == DeliveryStatus::Sent && sent.attempts == 2 && sent.error.is_none(),
        "a sent delivery: {sent:?}"
    );
    let restarted = ok(
        CHECK,
        "start_delivery of a sent one",
        store.start_delivery(first.id, ch.id, key).await,
    );
    ensure_eq!(CHECK, restarted, sent, "starting a sent delivery again");

    let retry = execution(CHECK, &store, NewExecution::retry(&first, now)).await;
    let from_retry = ok(
        CHECK,
        "start_delivery from a retry",
        store.start_delivery(retry.id, ch.id, key).await,
    );
    ensure_eq!(
        CHECK,
        from_retry,
        sent,
        "starting a sent delivery from a retry of its execution"
    );
    fails(
        CHECK,
        "finish_delivery of a missing delivery",
        store
            .finish_delivery(DeliveryId(987_654_321), DeliveryStatus::Sent, None)
            .await,
        ErrorKind::NotFound,
    );
}

/// Deliveries are keyed by (execution chain, channel, message key): another channel,
/// another key or another chain is another record; a retry's deliveries are recorded
/// under the chain's first execution, and listing by any execution of the chain gives
/// them all.
pub async fn deliveries_keyed_by_chain<S: Store + 'static>(store: S) {
    const CHECK: &str = "deliveries_keyed_by_chain";
    let (ch1, ch2) = (
        channel(CHECK, &store, 1).await,
        channel(CHECK, &store, 2).await,
    );
    let now = ok(CHECK, "now", store.now().await);
    let new = || NewExecution::manual(Task::AlertCheck, march(1), now);
    let first = execution(CHECK, &store, new()).await;
    let unrelated = execution(CHECK, &store, new()).await;
    let retry = execution(CHECK, &store, NewExecution::retry(&first, now)).await;

    let start = |e: &Execution, ch: &Channel, key: &'static str| {
        let (e, ch) = (e.id, ch.id);
        let store = &store;
        async move {
            ok(
                CHECK,
                "start_delivery",
                store.start_delivery(e, ch, key).await,
            )
        }
    };
    let a = start(&first, &ch1, "alert:k1:firing").await;
    let b = start(&first, &ch2, "alert:k1:firing").await;
    let c = start(&first, &ch1, "alert:k2:firing").await;
    let d = start(&unrelated, &ch1, "alert:k1:firing").await;
    let r = start(&retry, &ch1, "alert:k3:resolved").await;
    let ids: BTreeSet<DeliveryId> = [a.id, b.id, c.id, d.id, r.id].into();
    ensure_eq!(
        CHECK,
        ids.len(),
        5,
        "distinct records for five distinct keys"
    );
    ensure_eq!(
        CHECK,
        d.execution_id,
        unrelated.id,
        "execution of a delivery of another chain"
    );
    ensure_eq!(
        CHECK,
        r.execution_id,
        first.id,
        "execution a retry's delivery is recorded under (the chain's first)"
    );

    let listed = |e: &Execution| {
        let (e, store) = (e.id, &store);
        async move {
            let list = ok(CHECK, "list_deliveries", store.list_deliveries(e).await);
            list.into_iter().map(|d| d.id).collect::<BTreeSet<_>>()
        }
    };
    let chain: BTreeSet<DeliveryId> = [a.id, b.id, c.id, r.id].into();
    ensure_eq!(
        CHECK,
        listed(&first).await,
        chain,
        "deliveries listed by the chain's first execution"
    );
    ensure_eq!(
        CHECK,
        listed(&retry).await,
        chain,
        "deliveries listed by a retry of the chain"
    );
    ensure_eq!(
        CHECK,
        listed(&unrelated).await,
        BTreeSet::from([d.id]),
        "deliveries of another chain"
    );
}

/// Instances register (again, replacing their record), heartbeat (`last_seen` moves to
/// the store's time; `NotFound` when not registered), list and deregister.
pub async fn instances_register_heartbeat_deregister<S: Store + 'static>(store: S) {
    const CHECK: &str = "instances_register_heartbeat_deregister";
    let now = whole_seconds(ok(CHECK, "now", store.now().await));
    let an_hour_ago = now - chrono::Duration::hours(1);
    let info = |id: &str, host: &str, pid: u32| InstanceInfo {
        id: InstanceId::from(id),
        host: host.to_owned(),
        pid,
        version: "0.1.0".to_owned(),
        started_at: an_hour_ago,
        last_seen: an_hour_ago,
    };
    let (a, b) = (
        info("instance-a", "host-a", 101),
        info("instance-b", "host-b", 202),
    );
    ok(
        CHECK,
        "register_instance",
        store.register_instance(a.clone()).await,
    );
    ok(
        CHECK,
        "register_instance",
        store.register_instance(b.clone()).await,
    );
    let sorted = |mut list: Vec<InstanceInfo>| {
        list.sort_by(|x, y| x.id.cmp(&y.id));
        list
    };
    ensure_eq!(
        CHECK,
        sorted(ok(CHECK, "list_instances", store.list_instances().await)),
        vec![a.clone(), b.clone()],
        "the registered instances"
    );

    ok(
        CHECK,
        "heartbeat_instance",
        store.heartbeat_instance(&a.id).await,
    );
    let listed = sorted(ok(CHECK, "list_instances", store.list_instances().await));
    ensure!(
        CHECK,
        listed[0].last_seen > an_hour_ago && listed[0].started_at == an_hour_ago,
        "a heartbeat should move last_seen to the store's time and keep started_at: {:?}",
        listed[0]
    );
    ensure_eq!(CHECK, listed[1], b, "an instance without a heartbeat");
    fails(
        CHECK,
        "heartbeat_instance of an unregistered instance",
        store
            .heartbeat_instance(&InstanceId::from("never-registered"))
            .await,
        ErrorKind::NotFound,
    );

    let moved = info("instance-a", "host-c", 303);
    ok(
        CHECK,
        "register_instance again",
        store.register_instance(moved.clone()).await,
    );
    let listed = sorted(ok(CHECK, "list_instances", store.list_instances().await));
    ensure_eq!(
        CHECK,
        listed.len(),
        2,
        "instances after one registered again"
    );
    ensure!(
        CHECK,
        listed[0].host == "host-c" && listed[0].pid == 303,
        "registering again should replace the record: {:?}",
        listed[0]
    );

    ok(
        CHECK,
        "deregister_instance",
        store.deregister_instance(&a.id).await,
    );
    ensure_eq!(
        CHECK,
        ok(CHECK, "list_instances", store.list_instances().await),
        vec![b],
        "the instances left after one deregistered"
    );
}

/// Instances whose last heartbeat is older than the cut-off are forgotten (and only
/// those); their ids are returned.
pub async fn lost_instances_are_forgotten<S: Store + 'static>(store: S) {
    const CHECK: &str = "lost_instances_are_forgotten";
    let now = whole_seconds(ok(CHECK, "now", store.now().await));
    let seen = |id: &str, ago: i64| InstanceInfo {
        id: InstanceId::from(id),
        host: "host".to_owned(),
        pid: 1,
        version: "0.1.0".to_owned(),
        started_at: now - chrono::Duration::hours(48),
        last_seen: now - chrono::Duration::hours(ago),
    };
    for info in [seen("lost", 25), seen("quiet", 23), seen("alive", 48)] {
        ok(
            CHECK,
            "register_instance",
            store.register_instance(info).await,
        );
    }
    ok(
        CHECK,
        "heartbeat_instance",
        store.heartbeat_instance(&InstanceId::from("alive")).await,
    );
    let forgotten = ok(
        CHECK,
        "forget_instances",
        store
            .forget_instances(now - chrono::Duration::hours(24))
            .await,
    );
    ensure_eq!(
        CHECK,
        forgotten,
        vec![InstanceId::from("lost")],
        "instances unseen for more than 24 hours"
    );
    let mut left: Vec<InstanceId> = ok(CHECK, "list_instances", store.list_instances().await)
        .into_iter()
        .map(|i| i.id)
        .collect();
    left.sort();
    ensure_eq!(
        CHECK,
        left,
        vec![InstanceId::from("alive"), InstanceId::from("quiet")],
        "the instances left"
    );
    ensure_eq!(
        CHECK,
        ok(
            CHECK,
            "forget_instances again",
            store
                .forget_instances(now - chrono::Duration::hours(24))
                .await
        ),
        Vec::<InstanceId>::new(),
        "a second pass"
    );
}
