//! `FakeGooglePlay` on the wire: the behaviours of the provider note's checklist that the
//! source does not exercise by itself (JWT checks, query validation, listing, metadata,
//! rewrites, reviews).

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns unwrap too

mod common;

use common::*;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use storewatch_google::fake::{Endpoint, FakeApp, FakeGooglePlay};

const ALL_SCOPES: [&str; 3] = [
    "https://www.googleapis.com/auth/playdeveloperreporting",
    "https://www.googleapis.com/auth/devstorage.read_only",
    "https://www.googleapis.com/auth/androidpublisher",
];

/// A token through yup-oauth2, the way the source gets one (padded base64url JWT).
async fn token(fake: &FakeGooglePlay) -> String {
    let key = yup_oauth2::parse_service_account_key(fake.service_account_json(EMAIL, PRIVATE_KEY))
        .unwrap();
    let auth = yup_oauth2::ServiceAccountAuthenticator::builder(key)
        .build()
        .await
        .unwrap();
    auth.token(&ALL_SCOPES)
        .await
        .unwrap()
        .token()
        .unwrap()
        .to_owned()
}

fn claims(fake: &FakeGooglePlay, scope: &str, lifetime: i64) -> Value {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    json!({"iss": EMAIL, "aud": fake.token_uri(), "iat": now, "exp": now + lifetime, "scope": scope})
}

/// Posts a JWT made by jsonwebtoken (unpadded base64url) to the token endpoint.
async fn grant(fake: &FakeGooglePlay, claims: &Value) -> (u16, Value) {
    let key = EncodingKey::from_rsa_pem(PRIVATE_KEY.as_bytes()).unwrap();
    let jwt = jsonwebtoken::encode(&Header::new(Algorithm::RS256), claims, &key).unwrap();
    let response = reqwest::Client::new()
        .post(fake.token_uri())
        .form(&[
            ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
            ("assertion", jwt.as_str()),
        ])
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

async fn get(fake: &FakeGooglePlay, token: &str, path: &str) -> (u16, Vec<u8>) {
    let response = reqwest::Client::new()
        .get(format!("{}{path}", fake.base_url()))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    (
        response.status().as_u16(),
        response.bytes().await.unwrap().to_vec(),
    )
}

async fn post(fake: &FakeGooglePlay, token: &str, path: &str, body: Value) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(format!("{}{path}", fake.base_url()))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    (
        response.status().as_u16(),
        response.json().await.unwrap_or(Value::Null),
    )
}

fn json_of(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).unwrap()
}

#[tokio::test]
async fn token_endpoint_verifies_the_jwt_like_google() {
    let fake = fake_with(&[], today()).await;
    // Unpadded segments work as well as yup-oauth2's padded ones.
    let (status, body) = grant(&fake, &claims(&fake, ALL_SCOPES[0], 3595)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["expires_in"], 3599);
    assert_eq!(body["token_type"], "Bearer");
    token(&fake).await;
    assert_eq!(fake.requests(Endpoint::Token), 2);

    let (status, body) = grant(&fake, &claims(&fake, ALL_SCOPES[0], 7200)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "{body}"
    );
    let (status, body) = grant(&fake, &claims(&fake, "", 600)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_scope")),
        "{body}"
    );
    let mut wrong_aud = claims(&fake, ALL_SCOPES[0], 600);
    wrong_aud["aud"] = "https://oauth2.googleapis.com/token".into();
    let (status, body) = grant(&fake, &wrong_aud).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant")),
        "{body}"
    );
}

#[tokio::test]
async fn reporting_auth_and_scope() {
    let fake = fake_with(&["com.example.app"], today()).await;
    let (status, body) = get(
        &fake,
        "ya29.unknown",
        "/v1beta1/apps/com.example.app/crashRateMetricSet",
    )
    .await;
    assert_eq!(status, 401);
    assert_eq!(json_of(&body)["error"]["status"], "UNAUTHENTICATED");
    fake.set_granted_scopes(Some(vec![ALL_SCOPES[1].to_owned()]));
    let t = token(&fake).await;
    let (status, body) = get(
        &fake,
        &t,
        "/v1beta1/apps/com.example.app/crashRateMetricSet",
    )
    .await;
    assert_eq!(status, 403);
    assert_eq!(
        json_of(&body)["error"]["details"][0]["reason"],
        "ACCESS_TOKEN_SCOPE_INSUFFICIENT"
    );
}

#[tokio::test]
async fn freshness_shapes_vary_per_set() {
    let fake = fake_with(&["com.example.app"], today()).await;
    let t = token(&fake).await;
    let get_set = |set: &'static str| {
        let (fake, t) = (&fake, &t);
        async move {
            json_of(
                &get(fake, t, &format!("/v1beta1/apps/com.example.app/{set}"))
                    .await
                    .1,
            )
        }
    };
    let crash = get_set("crashRateMetricSet").await;
    assert_eq!(
        crash["freshnessInfo"]["freshnesses"][0]["aggregationPeriod"],
        "HOURLY"
    );
    assert_eq!(
        crash["freshnessInfo"]["freshnesses"][1]["latestEndTime"]["day"],
        22
    );
    let anr = get_set("anrRateMetricSet").await;
    assert!(anr.get("name").is_none());
    assert_eq!(
        anr["freshnessInfo"]["freshnesses"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert!(
        anr["freshnessInfo"]["freshnesses"][0]["latestEndTime"]
            .get("timeZone")
            .is_none()
    );
    let errors = get_set("errorCountMetricSet").await;
    let daily = &errors["freshnessInfo"]["freshnesses"][0];
    assert_eq!(
        (
            daily["latestEndTime"]["day"].as_u64(),
            daily["latestEndTime"]["hours"].as_u64()
        ),
        (Some(23), Some(6))
    );
    assert_eq!(
        errors["freshnessInfo"]["freshnesses"][2]["aggregationPeriod"],
        "FULL_RANGE"
    );
}

fn spec(start: Value, end: Value) -> Value {
    json!({"aggregationPeriod": "DAILY", "startTime": start, "endTime": end})
}

fn la(day: u32) -> Value {
    json!({"year": 2026, "month": 9, "day": day, "timeZone": {"id": "America/Los_Angeles"}})
}

#[tokio::test]
async fn query_validation_answers_invalid_argument() {
    let fake = fake_with(&["com.example.app"], today()).await;
    fake.add_app_with("com.example.notgame", FakeApp::new());
    let t = token(&fake).await;
    let path = "/v1beta1/apps/com.example.app/crashRateMetricSet:query";
    let cases = [
        (
            json!({"timelineSpec": spec(la(20), la(23)), "metrics": ["crashRate"]}),
            "at most the current freshness 2026-09-22 00:00",
        ),
        (
            json!({"timelineSpec": spec(json!({"year":2026,"month":9,"day":20,"hours":3}), la(21)), "metrics": ["crashRate"]}),
            "hours",
        ),
        (
            json!({"timelineSpec": spec(la(20), json!({"year":2026,"month":9,"day":21,"timeZone":{"id":"UTC"}})), "metrics": ["crashRate"]}),
            "same time zone",
        ),
        (
            json!({"timelineSpec": spec(la(20), la(21)), "metrics": ["crashCount"]}),
            "do not match any possible combination",
        ),
    ];
    for (body, message) in cases {
        let (status, answer) = post(&fake, &t, path, body).await;
        assert_eq!(status, 400, "{answer}");
        assert_eq!(answer["error"]["status"], "INVALID_ARGUMENT");
        assert!(
            answer["error"]["message"]
                .as_str()
                .unwrap()
                .contains(message),
            "{answer}"
        );
    }
    let (status, answer) = post(
        &fake,
        &t,
        "/v1beta1/apps/com.example.app/errorCountMetricSet:query",
        json!({"timelineSpec": spec(la(20), la(21)), "metrics": ["errorReportCount"]}),
    )
    .await;
    assert_eq!(status, 400, "errorCount needs reportType: {answer}");
    let (status, _) = post(
        &fake,
        &t,
        "/v1beta1/apps/com.example.app/slowStartRateMetricSet:query",
        json!({"timelineSpec": spec(la(20), la(21)), "metrics": ["slowStartRate"]}),
    )
    .await;
    assert_eq!(status, 400, "slowStart needs startType");
    let (status, answer) = post(
        &fake,
        &t,
        "/v1beta1/apps/com.example.notgame/slowRenderingRateMetricSet:query",
        json!({"timelineSpec": spec(la(20), la(21)), "metrics": ["slowRenderingRate20Fps"]}),
    )
    .await;
    assert_eq!(status, 403);
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("only accessible to games")
    );
}

#[tokio::test]
async fn query_rows_decimals_intervals_dimensions_and_snake_case() {
    let fake = fake_with(&["com.example.app"], today()).await;
    let t = token(&fake).await;
    let (status, answer) = post(
        &fake,
        &t,
        "/v1beta1/apps/com.example.app/crashRateMetricSet:query",
        json!({"timeline_spec": {"aggregation_period": "DAILY", "start_time": la(20), "end_time": la(21)},
               "metrics": ["crashRate", "distinctUsers"], "dimensions": ["versionCode"]}),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    let row = &answer["rows"][0];
    assert_eq!(row["dimensions"][0]["int64Value"], "1603");
    assert!(row["metrics"][0]["decimalValue"]["value"].is_string());
    assert!(row["metrics"][0]["decimalValueConfidenceInterval"]["lowerBound"]["value"].is_string());
    assert!(
        row["metrics"][1]
            .get("decimalValueConfidenceInterval")
            .is_none()
    );
    assert!(
        answer.get("nextPageToken").is_none(),
        "empty fields are omitted"
    );
    let (_, errors) = post(
        &fake,
        &t,
        "/v1beta1/apps/com.example.app/errorCountMetricSet:query",
        json!({"timelineSpec": spec(la(20), la(21)), "metrics": ["errorReportCount", "distinctUsers"], "dimensions": ["reportType"]}),
    )
    .await;
    assert_eq!(errors["rows"].as_array().unwrap().len(), 2);
    assert_eq!(errors["rows"][0]["dimensions"][0]["stringValue"], "CRASH");
}

#[tokio::test]
async fn apps_search_and_reviews() {
    let fake = fake_with(&["com.example.a", "com.example.b"], today()).await;
    let t = token(&fake).await;
    let (_, body) = get(&fake, &t, "/v1beta1/apps:search?pageSize=1").await;
    let body = json_of(&body);
    assert_eq!(body["apps"][0]["packageName"], "com.example.a");
    assert!(body["nextPageToken"].is_string());
    let (status, body) = get(
        &fake,
        &t,
        "/androidpublisher/v3/applications/com.example.a/reviews?maxResults=5",
    )
    .await;
    assert_eq!(status, 200);
    let body = json_of(&body);
    assert_eq!(body["reviews"].as_array().unwrap().len(), 5);
    assert!(
        body["reviews"][0]["comments"][0]["userComment"]["text"]
            .as_str()
            .unwrap()
            .contains('\t')
    );
    assert_eq!(body["tokenPagination"]["nextPageToken"], "5");
    let (status, body) = get(
        &fake,
        &t,
        "/androidpublisher/v3/applications/com.example.zzz/reviews",
    )
    .await;
    assert_eq!(status, 403);
    assert_eq!(
        json_of(&body)["error"]["message"],
        "The caller does not have permission"
    );
}

#[tokio::test]
async fn storage_list_metadata_media_and_rewrites() {
    let fake = fake_with(&["com.example.app"], today()).await;
    let t = token(&fake).await;
    let bucket = fake.bucket();
    let prefix = "stats/installs/installs_com.example.app_2026";
    let (status, body) = get(
        &fake,
        &t,
        &format!("/storage/v1/b/{bucket}/o?prefix={prefix}&maxResults=5"),
    )
    .await;
    assert_eq!(status, 200);
    let page = json_of(&body);
    assert_eq!(page["kind"], "storage#objects");
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 5);
    assert!(
        items
            .iter()
            .all(|i| i["name"].as_str().unwrap().starts_with(prefix))
    );
    assert!(items[0]["generation"].is_string() && items[0]["size"].is_string());
    // The item carries the fields of a real Cloud Storage listing (shared real sample).
    let real: Value = serde_json::from_slice(
        &std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../shared/fixtures/real/google/gcs_objects_list_page_with_nextPageToken.json"
        ))
        .expect("real GCS listing sample missing: the workspace must sit next to ../shared"),
    )
    .unwrap();
    for key in real["items"][0].as_object().unwrap().keys() {
        assert!(items[0].get(key).is_some(), "fake listing lacks {key}");
    }
    let token_param = page["nextPageToken"].as_str().unwrap();
    let (_, next) = get(
        &fake,
        &t,
        &format!(
            "/storage/v1/b/{bucket}/o?prefix={prefix}&maxResults=5&pageToken={}",
            urlencode(token_param)
        ),
    )
    .await;
    let next = json_of(&next);
    assert_ne!(next["items"][0]["name"], items[0]["name"]);
    let (_, empty) = get(
        &fake,
        &t,
        &format!("/storage/v1/b/{bucket}/o?prefix=nothing/"),
    )
    .await;
    let empty = json_of(&empty);
    assert!(empty.get("items").is_none() && empty.get("nextPageToken").is_none());

    let object = FakeGooglePlay::object_name("installs", "com.example.app", "202609");
    let encoded = urlencode(&object);
    let (status, media) = get(
        &fake,
        &t,
        &format!("/storage/v1/b/{bucket}/o/{encoded}?alt=media"),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(&media[..2], &[0xFF, 0xFE]);
    let (_, meta) = get(&fake, &t, &format!("/storage/v1/b/{bucket}/o/{encoded}")).await;
    let meta = json_of(&meta);
    assert_eq!(meta["name"], object.as_str());
    assert_eq!(meta["size"], media.len().to_string());
    let (status, _) = get(
        &fake,
        &t,
        &format!("/storage/v1/b/{bucket}/o/{object}?alt=media"),
    )
    .await;
    assert_eq!(status, 404, "an unencoded / in the name is not found");
    let (status, _) = get(
        &fake,
        &t,
        &format!("/download/storage/v1/b/{bucket}/o/{encoded}?alt=media"),
    )
    .await;
    assert_eq!(status, 200);

    // A late correction rewrites the file in place.
    fake.put_object(&object, media[..media.len() - 2].to_vec());
    let (_, after) = get(&fake, &t, &format!("/storage/v1/b/{bucket}/o/{encoded}")).await;
    let after = json_of(&after);
    for field in ["generation", "md5Hash", "updated"] {
        assert_ne!(after[field], meta[field], "{field} must change on rewrite");
    }
    let (status, body) = get(
        &fake,
        &t,
        &format!(
            "/storage/v1/b/{bucket}/o/{}?alt=media",
            urlencode("stats/installs/installs_com.example.zzz_202609_overview.csv")
        ),
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(json_of(&body)["error"]["errors"][0]["reason"], "notFound");
    let (status, _) = get(&fake, &t, "/storage/v1/b/pubsite_prod_rev_999/o").await;
    assert_eq!(status, 404);
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
