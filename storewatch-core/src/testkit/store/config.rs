//! Checks of [`ConfigStore`](crate::store::ConfigStore): ids, versions, uniqueness,
//! validation and not-found.

use std::sync::Arc;
use std::time::Duration;

use super::{fails, ok};
use crate::ErrorKind;
use crate::model::{
    AbsOp, AppId, AppSpec, ChannelId, Condition, CredentialId, Frequency, Metric, Platform,
    ReportId, RuleId, ScheduleId, Severity,
};
use crate::store::Store;
use crate::testkit::{
    sample_android_app_spec, sample_app_spec, sample_channel_spec, sample_credential_spec,
    sample_report_spec, sample_rule_spec, sample_schedule_spec, test_keyring,
};

/// Creates two records of one kind, then checks get, list, update and delete; yields
/// the second record, which survives.
macro_rules! round_trip {
    ($check:expr, $kind:literal, $store:ident, [$first:expr, $second:expr], $changed:expr,
     $update:ident, $get:ident, $list:ident, $delete:ident) => {{
        let first = ok($check, concat!("create ", $kind), $first.await);
        let second = ok($check, concat!("create ", $kind), $second.await);
        ensure!(
            $check,
            first.version == 1 && second.version == 1,
            "a new {} has version {}, expected 1",
            $kind,
            first.version.max(second.version)
        );
        ensure!(
            $check,
            first.id != second.id,
            "two new {}s share id {}",
            $kind,
            first.id
        );
        ensure!(
            $check,
            first.updated_at >= first.created_at,
            "a new {} was updated before it was created",
            $kind
        );
        ensure_eq!(
            $check,
            ok($check, concat!("get ", $kind), $store.$get(first.id).await),
            first,
            "get of a {} returns what create returned",
            $kind
        );
        let mut both = vec![first.clone(), second.clone()];
        both.sort_by_key(|r| r.id);
        ensure_eq!(
            $check,
            ok($check, concat!("list ", $kind, "s"), $store.$list().await),
            both,
            "the {}s, listed by id",
            $kind
        );
        let changed = $changed;
        let updated = ok(
            $check,
            concat!("update ", $kind, " at version 1"),
            $store.$update(first.id, 1, changed.clone()).await,
        );
        ensure_eq!(
            $check,
            updated.version,
            2,
            "the version of an updated {}",
            $kind
        );
        ensure_eq!(
            $check,
            updated.spec,
            changed,
            "the spec of an updated {}",
            $kind
        );
        ensure_eq!(
            $check,
            updated.created_at,
            first.created_at,
            "created_at of an updated {}",
            $kind
        );
        ensure!(
            $check,
            updated.updated_at >= first.updated_at,
            "updated_at of an updated {} went back",
            $kind
        );
        ensure_eq!(
            $check,
            ok($check, concat!("get ", $kind), $store.$get(first.id).await),
            updated,
            "get of a {} returns what update returned",
            $kind
        );
        ok(
            $check,
            concat!("delete ", $kind),
            $store.$delete(first.id).await,
        );
        fails(
            $check,
            concat!("get a deleted ", $kind),
            $store.$get(first.id).await,
            ErrorKind::NotFound,
        );
        ensure_eq!(
            $check,
            ok($check, concat!("list ", $kind, "s"), $store.$list().await),
            vec![second.clone()],
            "the {}s left after a delete",
            $kind
        );
        second
    }};
}

/// An id no check ever creates.
const MISSING: i64 = 987_654_321;

/// `reserve_credential_id` and `reserve_channel_id` hand out distinct ids; a record is
/// created under its reserved id, its sealed config still opens for that id, and a
/// second record under the same id is a `Conflict`.
pub async fn reserved_ids_are_distinct_and_used<S: Store + 'static>(store: S) {
    const CHECK: &str = "reserved_ids_are_distinct_and_used";
    let c1 = ok(
        CHECK,
        "reserve_credential_id",
        store.reserve_credential_id().await,
    );
    let c2 = ok(
        CHECK,
        "reserve_credential_id",
        store.reserve_credential_id().await,
    );
    ensure!(
        CHECK,
        c1 != c2,
        "two reservations both gave credential id {c1}"
    );
    let spec = sample_credential_spec(c2, 1);
    let created = ok(
        CHECK,
        "create_credential under a reserved id",
        store.create_credential(c2, spec.clone()).await,
    );
    ensure_eq!(
        CHECK,
        created.id,
        c2,
        "the credential's id is the reserved id"
    );
    ensure_eq!(
        CHECK,
        created.spec,
        spec,
        "the credential's spec is stored as given"
    );
    ensure!(
        CHECK,
        test_keyring()
            .open("credential", created.id.0, &created.sealed)
            .is_ok(),
        "the stored sealed config no longer opens for credential {c2}"
    );
    fails(
        CHECK,
        "create_credential twice under the same id",
        store
            .create_credential(c2, sample_credential_spec(c2, 2))
            .await,
        ErrorKind::Conflict,
    );
    let c3 = ok(
        CHECK,
        "reserve_credential_id",
        store.reserve_credential_id().await,
    );
    ensure!(
        CHECK,
        c3 != c1 && c3 != c2,
        "reservation gave credential id {c3} again"
    );

    let h1 = ok(
        CHECK,
        "reserve_channel_id",
        store.reserve_channel_id().await,
    );
    let h2 = ok(
        CHECK,
        "reserve_channel_id",
        store.reserve_channel_id().await,
    );
    ensure!(
        CHECK,
        h1 != h2,
        "two reservations both gave channel id {h1}"
    );
    let channel = ok(
        CHECK,
        "create_channel under a reserved id",
        store.create_channel(h1, sample_channel_spec(h1, 1)).await,
    );
    ensure_eq!(CHECK, channel.id, h1, "the channel's id is the reserved id");
    ensure!(
        CHECK,
        test_keyring()
            .open("channel", channel.id.0, &channel.sealed)
            .is_ok(),
        "the stored sealed config no longer opens for channel {h1}"
    );
    fails(
        CHECK,
        "create_channel twice under the same id",
        store.create_channel(h1, sample_channel_spec(h1, 2)).await,
        ErrorKind::Conflict,
    );
}

/// Create, get, list (by id), update and delete of every record kind: a new record
/// has version 1, an update bumps it by one, keeps `created_at` and stores the new
/// spec; get and list return what create and update returned.
pub async fn config_records_round_trip<S: Store + 'static>(store: S) {
    const CHECK: &str = "config_records_round_trip";

    // Credentials and channels first: later records refer to the survivors.
    let (c1, c2) = (
        ok(
            CHECK,
            "reserve_credential_id",
            store.reserve_credential_id().await,
        ),
        ok(
            CHECK,
            "reserve_credential_id",
            store.reserve_credential_id().await,
        ),
    );
    let credential = round_trip!(
        CHECK,
        "credential",
        store,
        [
            store.create_credential(c1, sample_credential_spec(c1, 1)),
            store.create_credential(c2, sample_credential_spec(c2, 2))
        ],
        sample_credential_spec(c1, 3),
        update_credential,
        get_credential,
        list_credentials,
        delete_credential
    );

    let (h1, h2) = (
        ok(
            CHECK,
            "reserve_channel_id",
            store.reserve_channel_id().await,
        ),
        ok(
            CHECK,
            "reserve_channel_id",
            store.reserve_channel_id().await,
        ),
    );
    let mut changed_channel = sample_channel_spec(h1, 3);
    changed_channel.is_active = false;
    let channel = round_trip!(
        CHECK,
        "channel",
        store,
        [
            store.create_channel(h1, sample_channel_spec(h1, 1)),
            store.create_channel(h2, sample_channel_spec(h2, 2))
        ],
        changed_channel,
        update_channel,
        get_channel,
        list_channels,
        delete_channel
    );

    let mut changed_app = sample_app_spec(3);
    changed_app.is_active = false;
    changed_app.store_id = None;
    changed_app.credential_id = Some(credential.id);
    let app = round_trip!(
        CHECK,
        "app",
        store,
        [
            store.create_app(sample_app_spec(1)),
            store.create_app(sample_android_app_spec(2))
        ],
        changed_app,
        update_app,
        get_app,
        list_apps,
        delete_app
    );

    let mut changed_rule = sample_rule_spec(3, channel.id);
    changed_rule.app_id = Some(app.id);
    changed_rule.metric = Metric::CRASH_RATE;
    changed_rule.segment = Some("country:US".to_owned());
    changed_rule.condition = Condition::Absolute {
        op: AbsOp::Above,
        value: 0.02,
    };
    changed_rule.severity = Severity::Critical;
    changed_rule.is_active = false;
    round_trip!(
        CHECK,
        "rule",
        store,
        [
            store.create_rule(sample_rule_spec(1, channel.id)),
            store.create_rule(sample_rule_spec(2, channel.id))
        ],
        changed_rule,
        update_rule,
        get_rule,
        list_rules,
        delete_rule
    );

    let mut changed_report = sample_report_spec(3, channel.id);
    changed_report.app_id = Some(app.id);
    changed_report.metrics = vec![Metric::CRASH_RATE];
    changed_report.is_active = false;
    round_trip!(
        CHECK,
        "report",
        store,
        [
            store.create_report(sample_report_spec(1, channel.id)),
            store.create_report(sample_report_spec(2, channel.id))
        ],
        changed_report,
        update_report,
        get_report,
        list_reports,
        delete_report
    );

    let mut changed_schedule = sample_schedule_spec(3);
    changed_schedule.app_id = Some(app.id);
    changed_schedule.frequency = Frequency::Monthly { day: 31 };
    changed_schedule.timezone = chrono_tz::America::Los_Angeles;
    changed_schedule.skip_notifications = true;
    changed_schedule.max_retries = 0;
    changed_schedule.timeout = Duration::from_secs(600);
    changed_schedule.misfire_grace = Duration::from_secs(120);
    changed_schedule.target_offset_days = 2;
    changed_schedule.is_active = false;
    round_trip!(
        CHECK,
        "schedule",
        store,
        [
            store.create_schedule(sample_schedule_spec(1)),
            store.create_schedule(sample_schedule_spec(2))
        ],
        changed_schedule,
        update_schedule,
        get_schedule,
        list_schedules,
        delete_schedule
    );
}

/// Get, update and delete of an id that does not exist are `NotFound`, for every kind.
pub async fn missing_records_not_found<S: Store + 'static>(store: S) {
    const CHECK: &str = "missing_records_not_found";
    let nf = ErrorKind::NotFound;

    let (app, cred, chan) = (AppId(MISSING), CredentialId(MISSING), ChannelId(MISSING));
    let (rule, report, schedule) = (RuleId(MISSING), ReportId(MISSING), ScheduleId(MISSING));
    fails(CHECK, "get_app", store.get_app(app).await, nf);
    fails(
        CHECK,
        "update_app",
        store.update_app(app, 1, sample_app_spec(1)).await,
        nf,
    );
    fails(CHECK, "delete_app", store.delete_app(app).await, nf);
    fails(
        CHECK,
        "get_credential",
        store.get_credential(cred).await,
        nf,
    );
    fails(
        CHECK,
        "update_credential",
        store
            .update_credential(cred, 1, sample_credential_spec(cred, 1))
            .await,
        nf,
    );
    fails(
        CHECK,
        "delete_credential",
        store.delete_credential(cred).await,
        nf,
    );
    fails(CHECK, "get_channel", store.get_channel(chan).await, nf);
    fails(
        CHECK,
        "update_channel",
        store
            .update_channel(chan, 1, sample_channel_spec(chan, 1))
            .await,
        nf,
    );
    fails(
        CHECK,
        "delete_channel",
        store.delete_channel(chan).await,
        nf,
    );
    fails(CHECK, "get_rule", store.get_rule(rule).await, nf);
    fails(
        CHECK,
        "update_rule",
        store.update_rule(rule, 1, sample_rule_spec(1, chan)).await,
        nf,
    );
    fails(CHECK, "delete_rule", store.delete_rule(rule).await, nf);
    fails(CHECK, "get_report", store.get_report(report).await, nf);
    fails(
        CHECK,
        "update_report",
        store
            .update_report(report, 1, sample_report_spec(1, chan))
            .await,
        nf,
    );
    fails(
        CHECK,
        "delete_report",
        store.delete_report(report).await,
        nf,
    );
    fails(
        CHECK,
        "get_schedule",
        store.get_schedule(schedule).await,
        nf,
    );
    fails(
        CHECK,
        "update_schedule",
        store
            .update_schedule(schedule, 1, sample_schedule_spec(1))
            .await,
        nf,
    );
    fails(
        CHECK,
        "delete_schedule",
        store.delete_schedule(schedule).await,
        nf,
    );
    ensure!(
        CHECK,
        ok(CHECK, "list_apps", store.list_apps().await).is_empty(),
        "a failed update created an app"
    );
}

/// An update naming a stale (or future) version is a `Conflict` and changes nothing;
/// of several concurrent updates from the same version exactly one wins.
pub async fn stale_version_conflicts<S: Store + 'static>(store: S) {
    const CHECK: &str = "stale_version_conflicts";
    let app = ok(
        CHECK,
        "create_app",
        store.create_app(sample_app_spec(1)).await,
    );
    let mut renamed = sample_app_spec(1);
    renamed.name = "Renamed app".to_owned();
    let v2 = ok(
        CHECK,
        "update_app at version 1",
        store.update_app(app.id, 1, renamed.clone()).await,
    );
    ensure_eq!(CHECK, v2.version, 2, "an update bumps the version by one");
    let mut stale = sample_app_spec(1);
    stale.name = "Stale edit".to_owned();
    fails(
        CHECK,
        "update_app at stale version 1",
        store.update_app(app.id, 1, stale.clone()).await,
        ErrorKind::Conflict,
    );
    fails(
        CHECK,
        "update_app at future version 7",
        store.update_app(app.id, 7, stale).await,
        ErrorKind::Conflict,
    );
    let current = ok(CHECK, "get_app", store.get_app(app.id).await);
    ensure_eq!(
        CHECK,
        current,
        v2,
        "a refused update left the app as the last good update made it"
    );

    let schedule = ok(
        CHECK,
        "create_schedule",
        store.create_schedule(sample_schedule_spec(1)).await,
    );
    ok(
        CHECK,
        "update_schedule at version 1",
        store
            .update_schedule(schedule.id, 1, sample_schedule_spec(2))
            .await,
    );
    fails(
        CHECK,
        "update_schedule at stale version 1",
        store
            .update_schedule(schedule.id, 1, sample_schedule_spec(3))
            .await,
        ErrorKind::Conflict,
    );

    // Four editors load version 2 and save at once: one wins, three are told to reload.
    let store = Arc::new(store);
    let editors: Vec<_> = (0..4u32)
        .map(|i| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                let mut spec = sample_app_spec(1);
                spec.name = format!("Concurrent edit {i}");
                store.update_app(app.id, 2, spec).await
            })
        })
        .collect();
    let mut wins = 0;
    for editor in editors {
        match editor.await {
            Ok(Ok(updated)) => {
                wins += 1;
                ensure_eq!(CHECK, updated.version, 3, "the winning update's version");
            }
            Ok(Err(e)) if e.kind() == ErrorKind::Conflict => {}
            Ok(Err(e)) => panic!("{CHECK}: a concurrent update failed with {e}, not conflict"),
            Err(e) => panic!("{CHECK}: a concurrent update panicked: {e}"),
        }
    }
    ensure_eq!(
        CHECK,
        wins,
        1,
        "concurrent updates from version 2 that succeeded"
    );
}

/// Names are unique per record kind, apps also per (platform, bundle id): a clash on
/// create or update is a `Conflict`; the same bundle id on the other platform, an
/// update keeping a record's own name, and the name of a deleted record are fine.
pub async fn unique_names_conflict<S: Store + 'static>(store: S) {
    const CHECK: &str = "unique_names_conflict";
    let conflict = ErrorKind::Conflict;

    let app = ok(
        CHECK,
        "create_app",
        store.create_app(sample_app_spec(1)).await,
    );
    let mut same_name = sample_app_spec(2);
    same_name.name = app.name.clone();
    fails(
        CHECK,
        "create_app with a taken name",
        store.create_app(same_name).await,
        conflict,
    );
    let mut same_bundle = sample_app_spec(1);
    same_bundle.name = "Another name".to_owned();
    fails(
        CHECK,
        "create_app with a taken ios bundle id",
        store.create_app(same_bundle).await,
        conflict,
    );
    let android = ok(
        CHECK,
        "create_app with the same bundle id on android",
        store
            .create_app(
                AppSpec::new("Android twin", Platform::Android, app.bundle_id.as_str())
                    .unwrap_or_else(|e| panic!("{CHECK}: sample spec: {e}")),
            )
            .await,
    );
    let mut taken = android.spec.clone();
    taken.name = app.name.clone();
    fails(
        CHECK,
        "update_app to a taken name",
        store.update_app(android.id, 1, taken).await,
        conflict,
    );
    let mut own = android.spec.clone();
    own.is_active = false;
    ok(
        CHECK,
        "update_app keeping its own name and bundle id",
        store.update_app(android.id, 1, own).await,
    );
    ensure_eq!(
        CHECK,
        ok(CHECK, "list_apps", store.list_apps().await).len(),
        2,
        "apps stored after the refused creates"
    );
    ok(CHECK, "delete_app", store.delete_app(app.id).await);
    ok(
        CHECK,
        "create_app with a deleted app's name and bundle id",
        store.create_app(sample_app_spec(1)).await,
    );

    let c1 = ok(
        CHECK,
        "reserve_credential_id",
        store.reserve_credential_id().await,
    );
    let c2 = ok(
        CHECK,
        "reserve_credential_id",
        store.reserve_credential_id().await,
    );
    ok(
        CHECK,
        "create_credential",
        store
            .create_credential(c1, sample_credential_spec(c1, 1))
            .await,
    );
    let mut twin = sample_credential_spec(c2, 2);
    twin.name = sample_credential_spec(c1, 1).name;
    fails(
        CHECK,
        "create_credential with a taken name",
        store.create_credential(c2, twin).await,
        conflict,
    );

    let h1 = ok(
        CHECK,
        "reserve_channel_id",
        store.reserve_channel_id().await,
    );
    let h2 = ok(
        CHECK,
        "reserve_channel_id",
        store.reserve_channel_id().await,
    );
    ok(
        CHECK,
        "create_channel",
        store.create_channel(h1, sample_channel_spec(h1, 1)).await,
    );
    let mut twin = sample_channel_spec(h2, 2);
    twin.name = sample_channel_spec(h1, 1).name;
    fails(
        CHECK,
        "create_channel with a taken name",
        store.create_channel(h2, twin).await,
        conflict,
    );

    ok(
        CHECK,
        "create_rule",
        store.create_rule(sample_rule_spec(1, h1)).await,
    );
    let mut twin = sample_rule_spec(2, h1);
    twin.name = sample_rule_spec(1, h1).name;
    fails(
        CHECK,
        "create_rule with a taken name",
        store.create_rule(twin).await,
        conflict,
    );

    ok(
        CHECK,
        "create_report",
        store.create_report(sample_report_spec(1, h1)).await,
    );
    let mut twin = sample_report_spec(2, h1);
    twin.name = sample_report_spec(1, h1).name;
    fails(
        CHECK,
        "create_report with a taken name",
        store.create_report(twin).await,
        conflict,
    );

    ok(
        CHECK,
        "create_schedule",
        store.create_schedule(sample_schedule_spec(1)).await,
    );
    let second = ok(
        CHECK,
        "create_schedule",
        store.create_schedule(sample_schedule_spec(2)).await,
    );
    fails(
        CHECK,
        "create_schedule with a taken name",
        store.create_schedule(sample_schedule_spec(1)).await,
        conflict,
    );
    fails(
        CHECK,
        "update_schedule to a taken name",
        store
            .update_schedule(second.id, 1, sample_schedule_spec(1))
            .await,
        conflict,
    );
}

/// A spec failing [`Spec::validate`](crate::model::Spec::validate) is refused with
/// `InvalidInput` naming the field, on create (nothing is stored) and on update (the
/// record is unchanged), for every kind.
pub async fn invalid_spec_refused<S: Store + 'static>(store: S) {
    const CHECK: &str = "invalid_spec_refused";
    let invalid = ErrorKind::InvalidInput;
    let names = |field: &str, e: crate::Error| {
        ensure!(
            CHECK,
            e.to_string().contains(field),
            "the error does not name the field {field:?}: {e}"
        );
    };

    let mut blank = sample_app_spec(1);
    blank.name = "  ".to_owned();
    names(
        "name",
        fails(
            CHECK,
            "create_app with a blank name",
            store.create_app(blank.clone()).await,
            invalid,
        ),
    );
    // Valid on iOS, not as an Android package (a segment starts with a digit).
    let mut wrong_platform = AppSpec::new("Digits", Platform::Ios, "com.example.1app")
        .unwrap_or_else(|e| panic!("{CHECK}: sample spec: {e}"));
    wrong_platform.platform = Platform::Android;
    names(
        "bundle_id",
        fails(
            CHECK,
            "create_app with a bundle id invalid on its platform",
            store.create_app(wrong_platform).await,
            invalid,
        ),
    );
    ensure!(
        CHECK,
        ok(CHECK, "list_apps", store.list_apps().await).is_empty(),
        "a refused app was stored"
    );
    let app = ok(
        CHECK,
        "create_app",
        store.create_app(sample_app_spec(1)).await,
    );
    names(
        "name",
        fails(
            CHECK,
            "update_app with a blank name",
            store.update_app(app.id, 1, blank).await,
            invalid,
        ),
    );
    ensure_eq!(
        CHECK,
        ok(CHECK, "get_app", store.get_app(app.id).await),
        app,
        "a refused update changed the app"
    );

    let cred = ok(
        CHECK,
        "reserve_credential_id",
        store.reserve_credential_id().await,
    );
    let mut bad_kind = sample_credential_spec(cred, 1);
    bad_kind.kind = "App Store".to_owned();
    names(
        "kind",
        fails(
            CHECK,
            "create_credential with a bad kind",
            store.create_credential(cred, bad_kind).await,
            invalid,
        ),
    );

    let chan = ok(
        CHECK,
        "reserve_channel_id",
        store.reserve_channel_id().await,
    );
    let mut nameless = sample_channel_spec(chan, 1);
    nameless.name = String::new();
    names(
        "name",
        fails(
            CHECK,
            "create_channel without a name",
            store.create_channel(chan, nameless).await,
            invalid,
        ),
    );
    let channel = ok(
        CHECK,
        "create_channel",
        store
            .create_channel(chan, sample_channel_spec(chan, 1))
            .await,
    );

    let mut zero_days = sample_rule_spec(1, channel.id);
    zero_days.for_days = 0;
    names(
        "for_days",
        fails(
            CHECK,
            "create_rule with for_days 0",
            store.create_rule(zero_days).await,
            invalid,
        ),
    );
    let mut nan = sample_rule_spec(1, channel.id);
    nan.condition = Condition::Absolute {
        op: AbsOp::Below,
        value: f64::NAN,
    };
    names(
        "value",
        fails(
            CHECK,
            "create_rule with a NaN limit",
            store.create_rule(nan).await,
            invalid,
        ),
    );

    let mut no_metrics = sample_report_spec(1, channel.id);
    no_metrics.metrics.clear();
    names(
        "metrics",
        fails(
            CHECK,
            "create_report without metrics",
            store.create_report(no_metrics).await,
            invalid,
        ),
    );

    let mut hour_24 = sample_schedule_spec(1);
    hour_24.hour = 24;
    names(
        "hour",
        fails(
            CHECK,
            "create_schedule at hour 24",
            store.create_schedule(hour_24).await,
            invalid,
        ),
    );
    let schedule = ok(
        CHECK,
        "create_schedule",
        store.create_schedule(sample_schedule_spec(1)).await,
    );
    let mut minute_60 = sample_schedule_spec(1);
    minute_60.minute = 60;
    names(
        "minute",
        fails(
            CHECK,
            "update_schedule to minute 60",
            store.update_schedule(schedule.id, 1, minute_60).await,
            invalid,
        ),
    );
    ensure!(
        CHECK,
        ok(CHECK, "list_rules", store.list_rules().await).is_empty()
            && ok(CHECK, "list_reports", store.list_reports().await).is_empty()
            && ok(CHECK, "list_credentials", store.list_credentials().await).is_empty(),
        "a refused record was stored"
    );
    ensure_eq!(
        CHECK,
        ok(CHECK, "get_schedule", store.get_schedule(schedule.id).await).version,
        1,
        "the version after a refused update"
    );
}
