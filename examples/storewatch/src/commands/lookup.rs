//! Finding a record from what a person types: its id or its name (apps also by bundle
//! id, optionally prefixed with the platform: `ios:com.example.app`).

use storewatch_core::model::{
    AlertRule, App, Channel, Credential, Platform, Record, ReportConfig, Schedule, Spec,
};
use storewatch_core::store::Store;
use storewatch_core::{Error, ErrorKind, Result};

/// The one record whose id is `key`, or whose name is `key`.
fn find<S: Spec>(records: Vec<Record<S>>, key: &str, name: fn(&S) -> &str) -> Result<Record<S>> {
    let key = key.trim();
    let mut found = records
        .into_iter()
        .filter(|r| r.id.to_string() == key || name(&r.spec) == key);
    match (found.next(), found.next()) {
        (Some(one), None) => Ok(one),
        (Some(_), Some(_)) => Err(Error::invalid_field(
            S::KIND,
            key,
            "an id or a name that names one record (several match: use the id)",
        )),
        (None, _) => Err(Error::new(
            ErrorKind::NotFound,
            format!("no {} has the id or name {key:?}", S::KIND),
        )),
    }
}

/// An app by id, name, bundle id or `platform:bundle id`.
pub(crate) async fn app(store: &dyn Store, key: &str) -> Result<App> {
    let apps = store.list_apps().await?;
    let (platform, bundle) = match key.split_once(':') {
        Some((p, b)) => match p.parse::<Platform>() {
            Ok(p) => (Some(p), b),
            Err(_) => (None, key),
        },
        None => (None, key),
    };
    let by_bundle: Vec<&App> = apps
        .iter()
        .filter(|a| a.bundle_id.as_str() == bundle && platform.is_none_or(|p| a.platform == p))
        .collect();
    match by_bundle.as_slice() {
        [one] => return Ok((*one).clone()),
        [] => {}
        _ => {
            return Err(Error::invalid_field(
                "app",
                key,
                "one app: this bundle id exists on both platforms, write ios:<bundle id> or android:<bundle id>",
            ));
        }
    }
    find(apps, key, |s| &s.name)
}

/// A credential by id or name.
pub(crate) async fn credential(store: &dyn Store, key: &str) -> Result<Credential> {
    find(store.list_credentials().await?, key, |s| &s.name)
}

/// A channel by id or name.
pub(crate) async fn channel(store: &dyn Store, key: &str) -> Result<Channel> {
    find(store.list_channels().await?, key, |s| &s.name)
}

/// A rule by id or name.
pub(crate) async fn rule(store: &dyn Store, key: &str) -> Result<AlertRule> {
    find(store.list_rules().await?, key, |s| &s.name)
}

/// A report by id or name.
pub(crate) async fn report(store: &dyn Store, key: &str) -> Result<ReportConfig> {
    find(store.list_reports().await?, key, |s| &s.name)
}

/// A schedule by id or name.
pub(crate) async fn schedule(store: &dyn Store, key: &str) -> Result<Schedule> {
    find(store.list_schedules().await?, key, |s| &s.name)
}

#[cfg(test)]
mod tests {
    use storewatch_core::model::{AppSpec, Platform};
    use storewatch_core::store::{ConfigStore, MemoryStore};

    use super::*;

    #[tokio::test]
    async fn apps_are_found_by_id_name_bundle_and_platform() {
        let store = MemoryStore::new();
        let ios = store
            .create_app(AppSpec::new("Trails", Platform::Ios, "com.example.trails").unwrap())
            .await
            .unwrap();
        let android = store
            .create_app(
                AppSpec::new(
                    "Trails for Android",
                    Platform::Android,
                    "com.example.trails",
                )
                .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(app(&store, &ios.id.to_string()).await.unwrap().id, ios.id);
        assert_eq!(
            app(&store, "Trails for Android").await.unwrap().id,
            android.id
        );
        assert_eq!(
            app(&store, "android:com.example.trails").await.unwrap().id,
            android.id
        );
        let both = app(&store, "com.example.trails")
            .await
            .unwrap_err()
            .to_string();
        assert!(both.contains("ios:<bundle id>"), "{both}");
        let none = app(&store, "com.example.none").await.unwrap_err();
        assert_eq!(none.kind(), ErrorKind::NotFound);
    }
}
