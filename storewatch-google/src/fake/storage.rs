//! The fake Cloud Storage JSON API over the bulk-report bucket: listing, metadata and
//! media download of generated UTF-16LE overview files and of objects tests put.

use std::collections::{BTreeSet, HashMap};

use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{Datelike, Days, Months, NaiveDate};
use md5::{Digest, Md5};
use serde_json::{Value, json};

use super::data::{INSTALLS_HEADER, RATINGS_HEADER, installs_line, ratings_line, utf16le_with_bom};
use super::routes::{Caller, authorize};
use super::{FakeState, Shared, json_response, storage_error};

const SCOPES: &[&str] = &[
    "https://www.googleapis.com/auth/devstorage.read_only",
    "https://www.googleapis.com/auth/devstorage.read_write",
    "https://www.googleapis.com/auth/devstorage.full_control",
    "https://www.googleapis.com/auth/cloud-platform",
];

/// A stable generation number per object name.
pub(super) fn base_generation(name: &str) -> u64 {
    let digest = Md5::digest(name.as_bytes());
    let mut n = [0u8; 8];
    n.copy_from_slice(&digest[..8]);
    1_700_000_000_000_000 + u64::from_le_bytes(n) % 100_000_000_000_000
}

/// `updated` of an object: the morning of `today`, a minute later per rewrite.
pub(super) fn updated_at(today: NaiveDate, rewrites: u64) -> String {
    format!("{today}T09:{:02}:11.000Z", rewrites % 60)
}

fn month_start(day: NaiveDate) -> NaiveDate {
    day.with_day(1).unwrap_or(day)
}

/// (family, package, month) of a generated overview name.
fn parse_name(name: &str) -> Option<(&str, &str, NaiveDate)> {
    let rest = name.strip_prefix("stats/")?;
    let (family, file) = rest.split_once('/')?;
    if family != "installs" && family != "ratings" {
        return None;
    }
    let file = file
        .strip_prefix(family)?
        .strip_prefix('_')?
        .strip_suffix("_overview.csv")?;
    let (package, yyyymm) = file.rsplit_once('_')?;
    if yyyymm.len() != 6 {
        return None;
    }
    let month = NaiveDate::parse_from_str(&format!("{yyyymm}01"), "%Y%m%d").ok()?;
    Some((family, package, month))
}

fn since(state: &FakeState, package: &str) -> Option<NaiveDate> {
    let app = state.apps.get(package)?;
    Some(app.since.unwrap_or_else(|| {
        let today = state.today();
        today.checked_sub_days(Days::new(400)).unwrap_or(today)
    }))
}

/// The text of a generated overview, if that month exists for the app.
fn generated(state: &FakeState, family: &str, package: &str, month: NaiveDate) -> Option<String> {
    let since = since(state, package)?;
    let last = state.bulk_last_day();
    if month < month_start(since) || month > month_start(last) {
        return None;
    }
    let month_end = month
        .checked_add_months(Months::new(1))
        .and_then(|m| m.pred_opt())
        .unwrap_or(month);
    let unfinished_end = last
        .checked_add_days(Days::new(u64::from(state.unfinished_days)))
        .unwrap_or(last)
        .min(state.today().pred_opt().unwrap_or(state.today()));
    let mut text = String::from(if family == "installs" {
        INSTALLS_HEADER
    } else {
        RATINGS_HEADER
    });
    text.push('\n');
    for day in month
        .max(since)
        .iter_days()
        .take_while(|d| *d <= month_end && *d <= unfinished_end.max(last))
    {
        let line = if family == "installs" {
            installs_line(
                package,
                day,
                (day <= last).then(|| state.installs(package, day)),
            )
        } else if day > last {
            // Ratings do not print an unfinished day.
            continue;
        } else {
            ratings_line(state.seed, package, day)
        };
        text.push_str(&line);
        text.push('\n');
    }
    Some(text)
}

/// The bytes, generation and `updated` of an object.
fn lookup(state: &FakeState, name: &str) -> Option<(Vec<u8>, u64, String)> {
    if let Some(o) = state.objects.get(name) {
        return Some((o.bytes.clone(), o.generation, o.updated.clone()));
    }
    let (family, package, month) = parse_name(name)?;
    let text = generated(state, family, package, month)?;
    let bytes = if state.utf8 {
        text.into_bytes()
    } else {
        utf16le_with_bom(&text)
    };
    Some((bytes, base_generation(name), updated_at(state.today(), 0)))
}

fn all_names(state: &FakeState) -> BTreeSet<String> {
    let mut names: BTreeSet<String> = state.objects.keys().cloned().collect();
    let last = month_start(state.bulk_last_day());
    for package in state.apps.keys() {
        let Some(since) = since(state, package) else {
            continue;
        };
        let mut month = month_start(since);
        while month <= last {
            for family in ["installs", "ratings"] {
                names.insert(format!(
                    "stats/{family}/{family}_{package}_{:04}{:02}_overview.csv",
                    month.year(),
                    month.month()
                ));
            }
            month = match month.checked_add_months(Months::new(1)) {
                Some(m) => m,
                None => break,
            };
        }
    }
    names
}

fn metadata(
    bucket: &str,
    name: &str,
    bytes: &[u8],
    generation: u64,
    updated: &str,
    base: &str,
) -> Value {
    let encoded =
        percent_encoding::utf8_percent_encode(name, percent_encoding::NON_ALPHANUMERIC).to_string();
    json!({
        "kind": "storage#object",
        "id": format!("{bucket}/{name}/{generation}"),
        "selfLink": format!("{base}/storage/v1/b/{bucket}/o/{encoded}"),
        "mediaLink": format!("{base}/download/storage/v1/b/{bucket}/o/{encoded}?generation={generation}&alt=media"),
        "name": name,
        "bucket": bucket,
        "generation": generation.to_string(),
        "metageneration": "1",
        "contentType": "text/csv; charset=utf-16le",
        "storageClass": "STANDARD",
        "size": bytes.len().to_string(),
        "md5Hash": STANDARD.encode(Md5::digest(bytes)),
        "crc32c": STANDARD.encode(crc32c(bytes).to_be_bytes()),
        "etag": STANDARD.encode(generation.to_le_bytes()),
        "timeCreated": updated,
        "updated": updated,
        "timeStorageClassUpdated": updated,
    })
}

/// CRC-32C (Castagnoli), as Cloud Storage reports it (big-endian, base64).
fn crc32c(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for byte in bytes {
        crc ^= u32::from(*byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0x82F6_3B78
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// Auth, the bucket's existence and the Play grant, in that order.
#[allow(clippy::result_large_err)] // the Err is the answer to send; it is built once per request
fn admit(shared: &Shared, headers: &HeaderMap, bucket: &str, what: &str) -> Result<(), Response> {
    let email = match authorize(shared, headers, SCOPES, true) {
        Caller::Ok { email } => email,
        Caller::Refused(r) => return Err(r),
    };
    let state = shared.lock();
    if bucket != state.bucket {
        return Err(storage_error(
            StatusCode::NOT_FOUND,
            "The specified bucket does not exist.",
            "notFound",
        ));
    }
    if state.bucket_forbidden {
        return Err(storage_error(
            StatusCode::FORBIDDEN,
            &format!(
                "{email} does not have {what} access to the Google Cloud Storage bucket. Permission '{what}' denied on resource (or it may not exist)."
            ),
            "forbidden",
        ));
    }
    Ok(())
}

pub(super) fn list(
    shared: &Shared,
    headers: &HeaderMap,
    bucket: &str,
    params: &HashMap<String, String>,
) -> Response {
    if let Err(r) = admit(shared, headers, bucket, "storage.objects.list") {
        return r;
    }
    let state = shared.lock();
    let prefix = params.get("prefix").map(String::as_str).unwrap_or("");
    let max = params
        .get("maxResults")
        .and_then(|m| m.parse::<usize>().ok())
        .filter(|m| *m > 0)
        .unwrap_or(1000)
        .min(1000);
    let after = params
        .get("pageToken")
        .and_then(|t| STANDARD.decode(t).ok())
        .and_then(|b| String::from_utf8(b).ok());
    let matching: Vec<String> = all_names(&state)
        .into_iter()
        .filter(|n| n.starts_with(prefix))
        .filter(|n| after.as_ref().is_none_or(|a| n > a))
        .collect();
    let page: Vec<Value> = matching
        .iter()
        .take(max)
        .filter_map(|name| {
            let (bytes, generation, updated) = lookup(&state, name)?;
            Some(metadata(
                bucket,
                name,
                &bytes,
                generation,
                &updated,
                &shared.base,
            ))
        })
        .collect();
    let mut body = json!({"kind": "storage#objects"});
    if matching.len() > max
        && let Some(last) = matching.get(max - 1)
    {
        body["nextPageToken"] = STANDARD.encode(last).into();
    }
    if !page.is_empty() {
        body["items"] = Value::Array(page);
    }
    json_response(StatusCode::OK, &body)
}

pub(super) fn object(
    shared: &Shared,
    headers: &HeaderMap,
    bucket: &str,
    raw_name: &str,
    media: bool,
) -> Response {
    if let Err(r) = admit(shared, headers, bucket, "storage.objects.get") {
        return r;
    }
    let state = shared.lock();
    // An unencoded `/` splits the name into path segments: Google finds no such object.
    let name = percent_encoding::percent_decode_str(raw_name)
        .decode_utf8_lossy()
        .into_owned();
    let found = if raw_name.contains('/') {
        None
    } else {
        lookup(&state, &name)
    };
    let Some((bytes, generation, updated)) = found else {
        return storage_error(
            StatusCode::NOT_FOUND,
            &format!("No such object: {bucket}/{name}"),
            "notFound",
        );
    };
    if media {
        return (
            StatusCode::OK,
            [
                (
                    header::CONTENT_TYPE,
                    "text/csv; charset=utf-16le".to_owned(),
                ),
                (
                    header::HeaderName::from_static("x-goog-generation"),
                    generation.to_string(),
                ),
            ],
            bytes,
        )
            .into_response();
    }
    json_response(
        StatusCode::OK,
        &metadata(bucket, &name, &bytes, generation, &updated, &shared.base),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        let (family, package, month) =
            parse_name("stats/installs/installs_com.a_b.c_202609_overview.csv").unwrap();
        assert_eq!((family, package), ("installs", "com.a_b.c"));
        assert_eq!(month, NaiveDate::from_ymd_opt(2026, 9, 1).unwrap());
        assert_eq!(crc32c(b"123456789"), 0xE306_9283);
        assert!(parse_name("stats/crashes/crashes_x_202609_overview.csv").is_none());
    }
}
