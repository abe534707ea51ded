//! The Analytics Reports flow: one ONGOING report request per app, its reports, the daily
//! instances, their segments (pre-signed downloads, checksum-verified) and the files inside.
//!
//! A newer instance replaces older rows for the same `Date`, so values are upserted by
//! date in processing order and never summed across instances. A missing row is not a
//! zero (Apple omits groups under five users), so a day an instance covers without a row
//! for the app simply has no point.

use std::collections::{BTreeMap, HashMap};
use std::io::Read;

use chrono::{Duration, NaiveDate};
use flate2::read::MultiGzDecoder;
use md5::{Digest, Md5};
use serde::Deserialize;
use storewatch_core::{Error, ErrorKind, Result};
use url::Url;

use crate::client::{CallError, Client};

/// The report that gives sessions and active devices.
pub const SESSIONS_REPORT: &str = "App Sessions Standard";
/// The report that gives crashes.
pub const CRASHES_REPORT: &str = "App Crashes";

/// A JSON:API collection page.
#[derive(Debug, Deserialize)]
pub(crate) struct Page<T> {
    pub(crate) data: Vec<Resource<T>>,
    #[serde(default)]
    pub(crate) links: Links,
}

/// A JSON:API single-resource document.
#[derive(Debug, Deserialize)]
pub(crate) struct Single<T> {
    pub(crate) data: Resource<T>,
}

/// A JSON:API resource.
#[derive(Debug, Deserialize)]
pub(crate) struct Resource<T> {
    pub(crate) id: String,
    pub(crate) attributes: T,
}

/// JSON:API links.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct Links {
    #[serde(default)]
    pub(crate) next: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RequestAttributes {
    access_type: String,
    #[serde(default)]
    stopped_due_to_inactivity: bool,
}

#[derive(Debug, Deserialize)]
struct ReportAttributes {
    name: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct InstanceAttributes {
    #[serde(default)]
    granularity: String,
    processing_date: NaiveDate,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SegmentAttributes {
    checksum: String,
    size_in_bytes: u64,
    url: String,
}

/// Fetches every page of a collection, following `links.next` only on the API's own host
/// (anything else would receive the bearer token).
pub(crate) async fn get_all<T: serde::de::DeserializeOwned>(
    client: &Client,
    first: Url,
) -> Result<Vec<Resource<T>>, CallError> {
    let mut items = Vec::new();
    let mut url = first;
    loop {
        let page: Page<T> = client.get_json(&url).await?;
        items.extend(page.data);
        let Some(next) = page.links.next else {
            return Ok(items);
        };
        let next = Url::parse(&next).map_err(|_| {
            CallError::Other(Error::new(
                ErrorKind::Unavailable,
                "App Store Connect sent a links.next that is not a URL",
            ))
        })?;
        if !client.is_api_url(&next) {
            tracing::warn!(host = ?next.host_str(), "not following links.next to another host");
            return Ok(items);
        }
        url = next;
    }
}

/// What an app's analytics gave for the days asked.
#[derive(Debug, Default, Clone)]
pub(crate) struct AppAnalytics {
    /// Sessions per `Date`.
    pub(crate) sessions: BTreeMap<NaiveDate, f64>,
    /// Σ `Unique Devices` of the sessions report per `Date` (an approximation).
    pub(crate) active_devices: BTreeMap<NaiveDate, f64>,
    /// Crashes per `Date`.
    pub(crate) crashes: BTreeMap<NaiveDate, f64>,
    /// The latest `Date` any downloaded instance covered, per report.
    pub(crate) covered_through: Option<NaiveDate>,
}

/// Where an app's report request and reports are, cached across collections.
#[derive(Debug, Clone, Default)]
pub(crate) struct AnalyticsIds {
    pub(crate) request_id: Option<String>,
    pub(crate) reports: HashMap<String, String>,
}

/// Finds the app's usable ONGOING request, creating one when allowed and none exists.
/// `Ok(None)`: there is none and none may be created.
pub(crate) async fn ensure_request(
    client: &Client,
    apple_id: &str,
    create: bool,
) -> Result<Option<String>, CallError> {
    let url = client.url(
        &format!("/v1/apps/{apple_id}/analyticsReportRequests"),
        &[("filter[accessType]", "ONGOING"), ("limit", "200")],
    )?;
    let requests: Vec<Resource<RequestAttributes>> = get_all(client, url).await?;
    if let Some(found) = requests
        .into_iter()
        .find(|r| r.attributes.access_type == "ONGOING" && !r.attributes.stopped_due_to_inactivity)
    {
        return Ok(Some(found.id));
    }
    if !create {
        tracing::warn!(
            apple_id,
            "no ONGOING analytics report request and creating one is off"
        );
        return Ok(None);
    }
    let body = serde_json::json!({"data": {"type": "analyticsReportRequests",
        "attributes": {"accessType": "ONGOING"},
        "relationships": {"app": {"data": {"type": "apps", "id": apple_id}}}}});
    let url = client.url("/v1/analyticsReportRequests", &[])?;
    let created = client.post(&url, &body).await?;
    let created: Single<RequestAttributes> = serde_json::from_slice(&created).map_err(|e| {
        CallError::Other(
            Error::new(ErrorKind::Unavailable, "unexpected analytics request reply").with_source(e),
        )
    })?;
    tracing::info!(
        apple_id,
        request = created.data.id,
        "created an ONGOING analytics report request; data arrive in 24-48 h"
    );
    Ok(Some(created.data.id))
}

/// The ids of the reports storewatch reads, by name. All reports are listed (one page of
/// at most 200) rather than one category, because the category of `App Crashes` is not
/// documented with certainty.
pub(crate) async fn find_reports(
    client: &Client,
    request_id: &str,
) -> Result<HashMap<String, String>, CallError> {
    let url = client.url(
        &format!("/v1/analyticsReportRequests/{request_id}/reports"),
        &[("limit", "200")],
    )?;
    let reports: Vec<Resource<ReportAttributes>> = get_all(client, url).await?;
    Ok(reports
        .into_iter()
        .filter(|r| [SESSIONS_REPORT, CRASHES_REPORT].contains(&r.attributes.name.as_str()))
        .map(|r| (r.attributes.name, r.id))
        .collect())
}

/// Collects one report's values for an app over the instances processed in `[from, to]`.
pub(crate) async fn read_report(
    client: &Client,
    report_id: &str,
    apple_id: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<(BTreeMap<NaiveDate, Row>, Option<NaiveDate>), CallError> {
    let url = client.url(
        &format!("/v1/analyticsReports/{report_id}/instances"),
        &[("filter[granularity]", "DAILY"), ("limit", "200")],
    )?;
    let mut instances: Vec<Resource<InstanceAttributes>> = get_all(client, url).await?;
    instances.retain(|i| {
        i.attributes.granularity.eq_ignore_ascii_case("DAILY")
            && i.attributes.processing_date >= from
            && i.attributes.processing_date <= to
    });
    // Older instances first, so a newer one overwrites the dates it corrects.
    instances.sort_by_key(|i| i.attributes.processing_date);
    let mut values: BTreeMap<NaiveDate, Row> = BTreeMap::new();
    let mut covered: Option<NaiveDate> = None;
    for instance in instances {
        let rows = read_instance(client, &instance.id, apple_id).await?;
        for (date, row) in rows.by_date {
            values.insert(date, row);
        }
        covered = covered.max(rows.max_date);
        // An instance with no rows for the app still covers the day before processing.
        covered = covered.max(instance.attributes.processing_date.pred_opt());
    }
    Ok((values, covered))
}

/// One date's summed values of one file.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub(crate) struct Row {
    pub(crate) sessions: f64,
    pub(crate) unique_devices: f64,
    pub(crate) crashes: f64,
}

#[derive(Debug, Default)]
pub(crate) struct InstanceRows {
    pub(crate) by_date: BTreeMap<NaiveDate, Row>,
    pub(crate) max_date: Option<NaiveDate>,
}

async fn read_instance(
    client: &Client,
    instance_id: &str,
    apple_id: &str,
) -> Result<InstanceRows, CallError> {
    let url = client.url(
        &format!("/v1/analyticsReportInstances/{instance_id}/segments"),
        &[],
    )?;
    // Segment URLs live five minutes; an expired one or a bad checksum is worth one more
    // listing for fresh URLs.
    let mut last_error = None;
    for _ in 0..2 {
        let segments: Vec<Resource<SegmentAttributes>> = get_all(client, url.clone()).await?;
        match download_segments(client, &segments, apple_id).await {
            Ok(rows) => return Ok(rows),
            Err(e) => {
                tracing::warn!(instance_id, error = %e, "analytics segment download failed; listing segments again");
                last_error = Some(e);
            }
        }
    }
    Err(CallError::Other(last_error.unwrap_or_else(|| {
        Error::internal("segment retry loop ended without an error")
    })))
}

async fn download_segments(
    client: &Client,
    segments: &[Resource<SegmentAttributes>],
    apple_id: &str,
) -> Result<InstanceRows> {
    let mut rows = InstanceRows::default();
    for segment in segments {
        let url = Url::parse(&segment.attributes.url).map_err(|_| {
            Error::new(ErrorKind::Unavailable, "analytics segment URL is not a URL")
        })?;
        let bytes = client.download(&url).await.map_err(Error::from)?;
        verify_segment(
            &bytes,
            segment.attributes.size_in_bytes,
            &segment.attributes.checksum,
        )
        .map_err(|e| e.context(format!("analytics segment {}", segment.id)))?;
        parse_segment(&bytes, apple_id, &mut rows)
            .map_err(|e| e.context(format!("analytics segment {}", segment.id)))?;
    }
    Ok(rows)
}

/// Checks a segment's size and MD5 checksum (over the compressed bytes).
pub(crate) fn verify_segment(bytes: &[u8], size: u64, checksum: &str) -> Result<()> {
    if bytes.len() as u64 != size {
        return Err(Error::new(
            ErrorKind::Unavailable,
            format!(
                "analytics segment has {} bytes, sizeInBytes says {size}",
                bytes.len()
            ),
        ));
    }
    let digest = hex::encode(Md5::digest(bytes));
    if !digest.eq_ignore_ascii_case(checksum.trim()) {
        return Err(Error::new(
            ErrorKind::Unavailable,
            format!("analytics segment checksum is {digest}, expected {checksum}"),
        ));
    }
    Ok(())
}

/// Parses one gzip analytics file (tab- or comma-separated, names in any case) and adds
/// the app's rows to `rows`, summing within the file.
pub(crate) fn parse_segment(gz: &[u8], apple_id: &str, rows: &mut InstanceRows) -> Result<()> {
    let mut text = Vec::new();
    let decoded = if gz.starts_with(&[0x1f, 0x8b]) {
        MultiGzDecoder::new(gz).read_to_end(&mut text)
    } else {
        // Some segments may be served uncompressed; the checksum already vouched for them.
        text.extend_from_slice(gz);
        Ok(gz.len())
    };
    decoded.map_err(|e| {
        Error::new(
            ErrorKind::InvalidInput,
            format!("analytics file is not valid gzip: {e}"),
        )
    })?;
    let header_end = text.iter().position(|b| *b == b'\n').unwrap_or(text.len());
    let header = &text[..header_end];
    let tabs = header.iter().filter(|b| **b == b'\t').count();
    let commas = header.iter().filter(|b| **b == b',').count();
    let delimiter = if tabs >= commas { b'\t' } else { b',' };
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .quoting(delimiter == b',')
        .flexible(true)
        .from_reader(text.as_slice());
    let names: Vec<String> = reader
        .byte_headers()
        .map_err(|e| {
            Error::new(
                ErrorKind::InvalidInput,
                format!("analytics file header: {e}"),
            )
        })?
        .iter()
        .map(|h| {
            String::from_utf8_lossy(h)
                .trim_start_matches('\u{feff}')
                .trim()
                .to_ascii_lowercase()
        })
        .collect();
    let col = |name: &str| names.iter().position(|n| n == name);
    let date_col = col("date")
        .ok_or_else(|| Error::new(ErrorKind::InvalidInput, "analytics file has no Date column"))?;
    let app_col = col("app apple identifier");
    let sessions_col = col("sessions");
    let devices_col = col("unique devices");
    let crashes_col = col("crashes");
    let mut record = csv::ByteRecord::new();
    let mut file_rows: BTreeMap<NaiveDate, Row> = BTreeMap::new();
    let mut line = 1;
    while reader.read_byte_record(&mut record).map_err(|e| {
        Error::new(
            ErrorKind::InvalidInput,
            format!("analytics file line {line}: {e}"),
        )
    })? {
        line += 1;
        let field = |i: Option<usize>| i.and_then(|i| record.get(i)).map(<[u8]>::trim_ascii);
        if let (Some(app), Some(_)) = (field(app_col), app_col)
            && !app.is_empty()
            && app != apple_id.as_bytes()
        {
            continue;
        }
        let Some(date) = field(Some(date_col)) else {
            continue;
        };
        let date = std::str::from_utf8(date)
            .ok()
            .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
            .ok_or_else(|| {
                Error::invalid_field(
                    "Date",
                    String::from_utf8_lossy(date),
                    format!("a YYYY-MM-DD date (analytics file line {line})"),
                )
            })?;
        let number = |i: Option<usize>, name: &str| -> Result<f64> {
            match field(i) {
                None => Ok(0.0),
                Some([]) => Ok(0.0),
                Some(v) => std::str::from_utf8(v)
                    .ok()
                    .and_then(|s| s.parse::<f64>().ok())
                    .filter(|f| f.is_finite())
                    .ok_or_else(|| {
                        Error::invalid_field(
                            name,
                            String::from_utf8_lossy(v),
                            format!("a number (analytics file line {line})"),
                        )
                    }),
            }
        };
        let row = file_rows.entry(date).or_default();
        row.sessions += number(sessions_col, "Sessions")?;
        row.unique_devices += number(devices_col, "Unique Devices")?;
        row.crashes += number(crashes_col, "Crashes")?;
        rows.max_date = rows.max_date.max(Some(date));
    }
    // Segments of one instance are parts of one data set: add them up per date.
    for (date, row) in file_rows {
        let total = rows.by_date.entry(date).or_default();
        total.sessions += row.sessions;
        total.unique_devices += row.unique_devices;
        total.crashes += row.crashes;
    }
    Ok(())
}

/// Instances processed in this window can carry rows for `[from, to]`: the day after a
/// date up to the last day of corrections (sessions and crashes settle after 5 days).
pub(crate) fn processing_window(from: NaiveDate, to: NaiveDate) -> (NaiveDate, NaiveDate) {
    (from + Duration::days(1), to + Duration::days(6))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gz(text: &str) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(text.as_bytes()).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn tab_and_comma_files_with_any_case() {
        let mut rows = InstanceRows::default();
        parse_segment(
            &gz("Date\tApp Name\tApp Apple Identifier\tSessions\tUnique devices\n2026-03-01\tA\t11\t5\t3\n2026-03-01\tA\t11\t7\t4\n2026-03-01\tB\t22\t100\t50\n"),
            "11",
            &mut rows,
        )
        .unwrap();
        assert_eq!(
            rows.by_date[&NaiveDate::from_ymd_opt(2026, 3, 1).unwrap()].sessions,
            12.0
        );
        assert_eq!(
            rows.by_date[&NaiveDate::from_ymd_opt(2026, 3, 1).unwrap()].unique_devices,
            7.0
        );
        let mut rows = InstanceRows::default();
        parse_segment(
            &gz("date,app name,app apple identifier,app version,crashes,unique devices\n2026-03-02,\"App, Inc\",11,1.0,3,2\n"),
            "11",
            &mut rows,
        )
        .unwrap();
        assert_eq!(
            rows.by_date[&NaiveDate::from_ymd_opt(2026, 3, 2).unwrap()].crashes,
            3.0
        );
    }

    #[test]
    fn checksum_and_size_are_verified() {
        let body = gz("Date\tSessions\n");
        let md5 = hex::encode(Md5::digest(&body));
        verify_segment(&body, body.len() as u64, &md5).unwrap();
        assert!(verify_segment(&body, body.len() as u64 + 1, &md5).is_err());
        assert!(
            verify_segment(&body, body.len() as u64, "00000000000000000000000000000000").is_err()
        );
    }
}
