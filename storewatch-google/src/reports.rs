//! Play Console bulk reports read through the Cloud Storage JSON API: the monthly
//! installs and ratings overview objects (G5 downloads, G4 listing for health checks).

use chrono::{Datelike, NaiveDate};
use storewatch_core::Result;
use storewatch_core::model::Metric;
use url::Url;

use crate::client::{Call, GoogleClient};
use crate::csv::{ReportKind, ReportRow, parse_overview};
use crate::error::Surface;

/// `YYYYMM` of a day, as object names spell the month.
pub(crate) fn yyyymm(day: NaiveDate) -> String {
    format!("{:04}{:02}", day.year(), day.month())
}

/// The first day of every month touched by `[from, to]`.
pub(crate) fn months(from: NaiveDate, to: NaiveDate) -> Vec<NaiveDate> {
    let mut out = Vec::new();
    let mut month = from.with_day(1).unwrap_or(from);
    while month <= to {
        out.push(month);
        month = month
            .checked_add_months(chrono::Months::new(1))
            .unwrap_or(NaiveDate::MAX);
    }
    out
}

fn objects_url(base: &Url, bucket: &str) -> Result<Url> {
    let mut url = base.clone();
    url.path_segments_mut()
        .map_err(|()| {
            storewatch_core::Error::invalid_field(
                "storage_base_url",
                base.as_str(),
                "an http(s) base URL",
            )
        })?
        .pop_if_empty()
        .extend(["storage", "v1", "b", bucket, "o"]);
    Ok(url)
}

/// Downloads one object (`alt=media`); its name is one `%2F`-encoded path segment.
pub(crate) async fn download(
    client: &GoogleClient,
    base: &Url,
    bucket: &str,
    object: &str,
) -> Result<Vec<u8>> {
    let mut url = objects_url(base, bucket)?;
    url.path_segments_mut()
        .map_err(|()| storewatch_core::Error::internal("storage URL lost its path"))?
        .push(object);
    url.query_pairs_mut().append_pair("alt", "media");
    client.bytes(Call::get(Surface::Storage, url)).await
}

/// Lists at most one object under `prefix`: a cheap probe of bucket access.
pub(crate) async fn probe(
    client: &GoogleClient,
    base: &Url,
    bucket: &str,
    prefix: &str,
) -> Result<()> {
    let mut url = objects_url(base, bucket)?;
    url.query_pairs_mut()
        .append_pair("prefix", prefix)
        .append_pair("maxResults", "1");
    let _: serde_json::Value = client.json(Call::get(Surface::Storage, url)).await?;
    Ok(())
}

/// Downloads and parses one app's overview of one month.
pub(crate) async fn fetch_month(
    client: &GoogleClient,
    base: &Url,
    bucket: &str,
    kind: ReportKind,
    package: &str,
    month: NaiveDate,
    metrics: &[Metric],
) -> Result<Vec<ReportRow>> {
    let object = kind.object_name(package, &yyyymm(month));
    let bytes = download(client, base, bucket, &object).await.map_err(|e| {
        if e.kind() == storewatch_core::ErrorKind::NotFound {
            storewatch_core::Error::new(
                storewatch_core::ErrorKind::NotFound,
                format!(
                    "no object {object} in bucket {bucket}: the month is not generated yet, or the package name or bucket is wrong"
                ),
            )
        } else {
            e.context(format!("object {object}"))
        }
    })?;
    let rows = parse_overview(&object, &bytes, kind, metrics)?;
    // Keep only this app's rows; the overview holds one package, but a mixed file must
    // not leak another app's numbers into this one.
    Ok(rows
        .into_iter()
        .filter(|r| r.package.as_deref().is_none_or(|p| p == package))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn month_arithmetic() {
        let d = |m, day| NaiveDate::from_ymd_opt(2026, m, day).unwrap();
        assert_eq!(months(d(8, 20), d(9, 18)), vec![d(8, 1), d(9, 1)]);
        assert_eq!(months(d(9, 1), d(9, 30)), vec![d(9, 1)]);
        assert_eq!(yyyymm(d(9, 3)), "202609");
    }

    #[test]
    fn object_names_are_one_segment() {
        let mut url = objects_url(
            &Url::parse("http://127.0.0.1:9/").unwrap(),
            "pubsite_prod_rev_1",
        )
        .unwrap();
        url.path_segments_mut()
            .unwrap()
            .push(&ReportKind::Installs.object_name("com.x", "202609"));
        assert_eq!(
            url.path(),
            "/storage/v1/b/pubsite_prod_rev_1/o/stats%2Finstalls%2Finstalls_com.x_202609_overview.csv"
        );
    }
}
