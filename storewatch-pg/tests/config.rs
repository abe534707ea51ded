//! ConfigStore on PostgreSQL: CRUD, unique indexes, optimistic concurrency, reserved
//! ids, cascades, and sealed values that do not open.

// Test helpers outside #[test] functions unwrap too.
#![allow(clippy::unwrap_used)]

mod common;

use common::{TestDb, apps, day};
use secrecy::{ExposeSecret, SecretString};
use storewatch_core::ErrorKind;
use storewatch_core::model::{
    AlertState, AlertStatus, AppId, AppSpec, ChannelId, CredentialSpec, Fingerprint, Frequency,
    Metric, MetricPoint, Platform, ReportSpec, RuleId, ScheduleSpec, Task,
};
use storewatch_core::secrets::{Keyring, SealedSecret, fingerprint};
use storewatch_core::store::{ConfigStore, HistoryQuery, MetricStore, RunStore};

#[tokio::test]
async fn apps_are_unique_per_platform_and_bundle_id_and_by_name() {
    let db = TestDb::new().await;
    let store = db.store().await;
    let a = store
        .create_app(AppSpec::new("Alpha", Platform::Ios, "com.example.alpha").unwrap())
        .await
        .unwrap();
    assert_eq!(a.version, 1);
    // Same bundle id on the other platform is another app.
    store
        .create_app(AppSpec::new("Alpha Android", Platform::Android, "com.example.alpha").unwrap())
        .await
        .unwrap();
    let err = store
        .create_app(AppSpec::new("Beta", Platform::Ios, "com.example.alpha").unwrap())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict, "{err}");
    assert!(err.message().contains("com.example.alpha"), "{err}");
    let err = store
        .create_app(AppSpec::new("Alpha", Platform::Ios, "com.example.other").unwrap())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict, "{err}");
    assert!(err.message().contains("Alpha"), "{err}");
    let all = store.list_apps().await.unwrap();
    assert_eq!(all.len(), 2);
    assert!(all[0].id < all[1].id, "lists are ordered by id");
    assert_eq!(store.get_app(a.id).await.unwrap(), a);
}

#[tokio::test]
async fn stale_version_is_a_conflict_and_nothing_changes() {
    let db = TestDb::new().await;
    let store = db.store().await;
    let app = &apps(&store, 1).await[0];
    let mut spec = app.spec.clone();
    spec.name = "renamed".into();
    let v2 = store.update_app(app.id, 1, spec.clone()).await.unwrap();
    assert_eq!(v2.version, 2);
    assert_eq!(v2.name, "renamed");
    assert!(v2.updated_at >= app.updated_at);
    assert_eq!(v2.created_at, app.created_at);

    let mut stale = spec.clone();
    stale.name = "lost update".into();
    let err = store.update_app(app.id, 1, stale).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict, "{err}");
    assert!(err.message().contains("version 1"), "{err}");
    assert_eq!(store.get_app(app.id).await.unwrap(), v2);

    let err = store.update_app(AppId(999), 1, spec).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
}

#[tokio::test]
async fn concurrent_updates_of_one_version_let_exactly_one_win() {
    let db = TestDb::new().await;
    let store = db.store_with(8).await;
    let app = apps(&store, 1).await.remove(0);
    let mut tasks = Vec::new();
    for i in 0..8 {
        let store = store.clone();
        let mut spec = app.spec.clone();
        spec.name = format!("writer{i}");
        tasks.push(tokio::spawn(async move {
            store.update_app(app.id, 1, spec).await
        }));
    }
    let mut wins = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => wins += 1,
            Err(e) => assert_eq!(e.kind(), ErrorKind::Conflict, "{e}"),
        }
    }
    assert_eq!(wins, 1);
    assert_eq!(store.get_app(app.id).await.unwrap().version, 2);
}

#[tokio::test]
async fn invalid_specs_are_refused_before_writing() {
    let db = TestDb::new().await;
    let store = db.store().await;
    let mut spec = ScheduleSpec::new(
        "nightly",
        Task::DataCollection,
        Frequency::Daily,
        6,
        0,
        "UTC",
    )
    .unwrap();
    spec.hour = 24;
    let err = store.create_schedule(spec).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(
        err.message().contains("hour") && err.message().contains("24"),
        "{err}"
    );
    assert!(store.list_schedules().await.unwrap().is_empty());
}

#[tokio::test]
async fn every_kind_round_trips_and_names_are_unique_per_kind() {
    let db = TestDb::new().await;
    let store = db.store().await;
    let schedule = ScheduleSpec::new(
        "weekly",
        Task::FullAnalysis,
        Frequency::weekly(3).unwrap(),
        6,
        30,
        "Europe/Berlin",
    )
    .unwrap();
    let s = store.create_schedule(schedule.clone()).await.unwrap();
    assert_eq!(store.get_schedule(s.id).await.unwrap().spec, schedule);
    let err = store.create_schedule(schedule).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict);

    let report = ReportSpec {
        name: "weekly".into(), // same name, other kind: fine
        app_id: None,
        metrics: vec![Metric::DOWNLOADS, Metric::PROCEEDS],
        channels: vec![ChannelId(3)],
        is_active: true,
    };
    let r = store.create_report(report.clone()).await.unwrap();
    assert_eq!(store.list_reports().await.unwrap()[0].spec, report);
    store.delete_report(r.id).await.unwrap();
    let err = store.get_report(r.id).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert!(err.message().contains("report"), "{err}");
    assert_eq!(
        store.delete_report(r.id).await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
}

#[tokio::test]
async fn deleting_an_app_deletes_its_points_and_alert_states() {
    let db = TestDb::new().await;
    let store = db.store().await;
    let apps = apps(&store, 2).await;
    let d = day(2026, 3, 1);
    let points: Vec<MetricPoint> = apps
        .iter()
        .map(|a| MetricPoint::total(a.id, Metric::DOWNLOADS, d, 5.0))
        .collect();
    store.upsert_points(&points).await.unwrap();
    let now = store.now().await.unwrap();
    let states: Vec<AlertState> = apps
        .iter()
        .map(|a| AlertState {
            fingerprint: Fingerprint {
                rule_id: RuleId(1),
                app_id: a.id,
                metric: Metric::DOWNLOADS,
                segment: String::new(),
            },
            status: AlertStatus::Firing,
            breach_days: 2,
            last_day: Some(d),
            since: now,
            last_notified: None,
            last_severity: None,
        })
        .collect();
    store.save_alert_states(&states).await.unwrap();

    store.delete_app(apps[0].id).await.unwrap();
    let left = store.history(&HistoryQuery::range(d, d)).await.unwrap();
    assert_eq!(left.to_points(), vec![points[1].clone()]);
    let left = store.alert_states().await.unwrap();
    assert_eq!(left.len(), 1);
    assert!(left.values().all(|s| s.fingerprint.app_id == apps[1].id));
}

fn keyring() -> Keyring {
    Keyring::from_raw(&[("k1", [7u8; 32])]).unwrap()
}

fn credential_spec(name: &str, sealed: SealedSecret, clear: &SecretString) -> CredentialSpec {
    CredentialSpec {
        name: name.into(),
        platform: Platform::Ios,
        kind: "app_store_connect".into(),
        sealed,
        fingerprint: fingerprint(clear),
    }
}

#[tokio::test]
async fn reserved_ids_only() {
    let db = TestDb::new().await;
    let store = db.store().await;
    let clear = SecretString::from("{\"key_id\":\"ABC\"}");
    let id = store.reserve_credential_id().await.unwrap();
    let sealed = keyring().seal("credential", id.0, &clear).unwrap();
    let made_up = storewatch_core::model::CredentialId(id.0 + 100);
    let err = store
        .create_credential(made_up, credential_spec("c", sealed.clone(), &clear))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    let c = store
        .create_credential(id, credential_spec("c", sealed.clone(), &clear))
        .await
        .unwrap();
    assert_eq!(c.id, id);
    let err = store
        .create_credential(id, credential_spec("c2", sealed, &clear))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict, "{err}");
    // The sequence keeps handing out fresh ids.
    assert!(store.reserve_credential_id().await.unwrap() > id);
}

#[tokio::test]
async fn a_sealed_value_that_does_not_open_names_the_record_and_nothing_is_overwritten() {
    let db = TestDb::new().await;
    let store = db.store().await;
    let keyring = keyring();
    let clear = SecretString::from("{\"private_key\":\"-----BEGIN PRIVATE KEY----- planted\"}");

    let x = store.reserve_credential_id().await.unwrap();
    let y = store.reserve_credential_id().await.unwrap();
    let sealed_x = keyring.seal("credential", x.0, &clear).unwrap();
    let cred_x = store
        .create_credential(x, credential_spec("x", sealed_x.clone(), &clear))
        .await
        .unwrap();
    // Y holds a copy of X's ciphertext: sealed for another record.
    let cred_y = store
        .create_credential(y, credential_spec("y", sealed_x.clone(), &clear))
        .await
        .unwrap();

    // Stored and read back intact, X opens as X.
    let read_x = store.get_credential(x).await.unwrap();
    assert_eq!(read_x.sealed, sealed_x);
    assert_eq!(
        keyring
            .open("credential", x.0, &read_x.sealed)
            .unwrap()
            .expose_secret(),
        clear.expose_secret()
    );

    // Opened as Y (where it is stored), it does not open: Crypto, naming credential Y.
    let read_y = store.get_credential(y).await.unwrap();
    let err = keyring.open("credential", y.0, &read_y.sealed).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Crypto);
    assert!(
        err.to_string().contains(&format!("credential {y}")),
        "{err}"
    );
    assert!(!err.to_string().contains("planted"), "{err}");

    // A re-seal flow (rotation) that opens first never reaches the update.
    let reseal = async {
        let c = store.get_credential(y).await?;
        let resealed = keyring.reseal("credential", y.0, &c.sealed)?;
        let mut spec = c.spec.clone();
        spec.sealed = resealed;
        store.update_credential(y, c.version, spec).await
    };
    assert_eq!(reseal.await.unwrap_err().kind(), ErrorKind::Crypto);
    assert_eq!(store.get_credential(y).await.unwrap(), cred_y);

    // A ciphertext tampered with in the database: Crypto naming X.
    let (key, nonce, ct) = {
        let parts: Vec<&str> = sealed_x.as_str().split('.').collect();
        (
            parts[1].to_owned(),
            parts[2].to_owned(),
            parts[3].to_owned(),
        )
    };
    let mut bytes = ct.into_bytes();
    bytes[0] = if bytes[0] == b'A' { b'B' } else { b'A' };
    let tampered = format!("v1.{key}.{nonce}.{}", String::from_utf8(bytes).unwrap());
    sqlx::query("UPDATE credentials SET spec = jsonb_set(spec, '{sealed}', to_jsonb($2::text)) WHERE id = $1")
        .bind(x.0)
        .bind(&tampered)
        .execute(store.pool())
        .await
        .unwrap();
    let stored = store.get_credential(x).await.unwrap();
    let err = keyring.open("credential", x.0, &stored.sealed).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Crypto);
    assert!(
        err.to_string().contains(&format!("credential {x}")),
        "{err}"
    );

    // A stored value that is not even of the sealed form: reading it is Crypto, naming X.
    sqlx::query(
        "UPDATE credentials SET spec = jsonb_set(spec, '{sealed}', '\"garbage\"') WHERE id = $1",
    )
    .bind(x.0)
    .execute(store.pool())
    .await
    .unwrap();
    let err = store.get_credential(x).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Crypto, "{err}");
    assert!(
        err.to_string().contains(&format!("credential {x}")),
        "{err}"
    );
    // …and the row is left as it was (nothing rewrote it).
    let raw: String = sqlx::query_scalar("SELECT spec->>'sealed' FROM credentials WHERE id = $1")
        .bind(x.0)
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(raw, "garbage");
    assert_eq!(cred_x.version, 1);
}

#[tokio::test]
async fn pending_migrations_lists_what_migrate_applies() {
    let db = TestDb::new().await;
    let store = storewatch_pg::PostgresStore::connect(&db.url, &storewatch_pg::PgConfig::default())
        .unwrap();
    let before = store.pending_migrations().await.unwrap();
    assert!(
        !before.is_empty(),
        "a fresh database has every migration pending"
    );
    store.migrate().await.unwrap();
    assert_eq!(store.pending_migrations().await.unwrap(), Vec::<i64>::new());
    store.close().await;
}
