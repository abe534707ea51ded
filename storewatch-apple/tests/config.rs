//! Bad input at build time, secrets kept out of Debug and errors, and registration.

#![allow(clippy::unwrap_used)] // test helpers panic on broken fixtures by design

use secrecy::SecretString;
use storewatch_apple::fake::{FakeAppStoreConnect, TestKey};
use storewatch_apple::{AppStoreConnectConfig, AppStoreConnectSource, KIND, register};
use storewatch_core::{ErrorKind, Registry};

fn valid_json(key: &TestKey) -> serde_json::Value {
    use secrecy::ExposeSecret;
    serde_json::json!({
        "issuer_id": key.issuer_id,
        "key_id": key.key_id,
        "private_key": key.private_pem.expose_secret(),
        "vendor_number": "80012345",
    })
}

fn build(json: &serde_json::Value) -> storewatch_core::Result<AppStoreConnectSource> {
    let config = AppStoreConnectConfig::from_json(&SecretString::from(json.to_string()))?;
    AppStoreConnectSource::new(config)
}

#[test]
fn a_valid_config_builds() {
    let key = TestKey::generate("config-test");
    build(&valid_json(&key)).unwrap();
}

#[test]
fn a_malformed_p8_key_is_invalid_input_naming_the_field_and_not_the_key() {
    let key = TestKey::generate("config-test");
    let body = "-----BEGIN PRIVATE KEY-----\nTUFMRk9STUVEU0VDUkVUS0VZTUFURVJJQUw=\n-----END PRIVATE KEY-----\n";
    for bad in ["not a key at all", body, ""] {
        let mut json = valid_json(&key);
        json["private_key"] = bad.into();
        let err = build(&json).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert!(err.to_string().contains("private_key"), "{err}");
        assert!(
            !err.to_string().contains("TUFMRk9S"),
            "the key never appears: {err}"
        );
        assert!(!format!("{err:?}").contains("TUFMRk9S"));
    }
}

#[test]
fn missing_or_malformed_fields_are_named() {
    let key = TestKey::generate("config-test");
    for field in ["issuer_id", "key_id", "private_key", "vendor_number"] {
        let mut json = valid_json(&key);
        json.as_object_mut().unwrap().remove(field);
        let err = build(&json).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{field}");
        assert!(err.to_string().contains(field), "{field}: {err}");
    }
    for (field, value) in [
        ("issuer_id", "not-a-uuid"),
        ("key_id", "short"),
        ("vendor_number", "80-12"),
        ("base_url", "ftp://example.com"),
        ("sales_report_version", "v1"),
    ] {
        let mut json = valid_json(&key);
        json[field] = value.into();
        let err = build(&json).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{field}");
        assert!(
            err.to_string().contains(field) && err.to_string().contains(value),
            "{field}: {err}"
        );
    }
    let mut json = valid_json(&key);
    json["vendor"] = "1".into();
    assert!(
        build(&json).unwrap_err().to_string().contains("vendor"),
        "unknown fields are refused"
    );
}

#[test]
fn debug_never_prints_the_key() {
    use secrecy::ExposeSecret;
    let key = TestKey::generate("config-test");
    let config =
        AppStoreConnectConfig::from_json(&SecretString::from(valid_json(&key).to_string()))
            .unwrap();
    let pem = key.private_pem.expose_secret().to_owned();
    let body_line = pem.lines().nth(1).unwrap();
    for text in [
        format!("{config:?}"),
        format!("{:?}", AppStoreConnectSource::new(config).unwrap()),
    ] {
        assert!(!text.contains(body_line), "{text}");
        assert!(!text.contains("BEGIN PRIVATE KEY"), "{text}");
    }
}

#[tokio::test]
async fn register_builds_the_source_from_its_credential_json() {
    let fake = FakeAppStoreConnect::builder()
        .apps(1)
        .days(2)
        .start()
        .await
        .unwrap();
    let mut registry = Registry::new();
    register(&mut registry);
    assert!(registry.source_kinds().any(|k| k == KIND));
    let source = registry
        .build_source(KIND, &SecretString::from(fake.config_json()))
        .unwrap();
    assert_eq!(source.kind(), "app_store_connect");
    assert_eq!(source.platform(), storewatch_core::model::Platform::Ios);
    let err = registry
        .build_source(KIND, &SecretString::from("{}".to_owned()))
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
}
