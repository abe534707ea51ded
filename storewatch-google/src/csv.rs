//! Parsing of Play Console bulk-report CSVs (installs and ratings overviews).
//!
//! The files are UTF-16LE with a BOM (some arrive as UTF-8, so the encoding is sniffed),
//! comma-separated with a header line, and their columns change over the years, so every
//! value is found by its header name. Header names are compared case-, space- and
//! underscore-insensitively, which also reads the snake_case names warehouse loaders use.
//! `NA` (a day without ratings) is a missing value, never 0.

use chrono::NaiveDate;
use encoding_rs::{UTF_16BE, UTF_16LE};
use storewatch_core::model::Metric;
use storewatch_core::{Error, ErrorKind, Result};

/// Which monthly overview file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReportKind {
    /// `stats/installs/installs_<package>_<YYYYMM>_overview.csv`.
    Installs,
    /// `stats/ratings/ratings_<package>_<YYYYMM>_overview.csv`.
    Ratings,
}

impl ReportKind {
    /// Both kinds.
    pub const ALL: [ReportKind; 2] = [ReportKind::Installs, ReportKind::Ratings];

    /// The family name used in object paths (`installs`, `ratings`).
    pub fn family(self) -> &'static str {
        match self {
            ReportKind::Installs => "installs",
            ReportKind::Ratings => "ratings",
        }
    }

    /// The object holding `package`'s overview for a month (`yyyymm` like `202609`).
    pub fn object_name(self, package: &str, yyyymm: &str) -> String {
        let family = self.family();
        format!("stats/{family}/{family}_{package}_{yyyymm}_overview.csv")
    }

    /// The metrics this file gives, with the header of the column each comes from.
    pub fn columns(self) -> &'static [(Metric, &'static str)] {
        static INSTALLS: [(Metric, &str); 4] = [
            (Metric::DOWNLOADS, "Daily User Installs"),
            (Metric::UPDATES, "Update events"),
            (Metric::UNINSTALLS, "Daily User Uninstalls"),
            (Metric::ACTIVE_DEVICES, "Active Device Installs"),
        ];
        static RATINGS: [(Metric, &str); 1] = [(Metric::RATING_AVG, "Daily Average Rating")];
        match self {
            ReportKind::Installs => &INSTALLS,
            ReportKind::Ratings => &RATINGS,
        }
    }
}

/// One day's row of an overview file.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportRow {
    /// The day (`Date` column).
    pub date: NaiveDate,
    /// The `Package Name` column, when the file has one.
    pub package: Option<String>,
    /// The asked-for metrics in the asked order; `None` where the file says `NA` or nothing.
    pub values: Vec<(Metric, Option<f64>)>,
}

/// Decodes a report's bytes: UTF-16LE/BE by BOM (or by NUL pattern when the BOM is
/// missing), else UTF-8 with or without BOM. `object` names the file in errors.
pub fn decode(object: &str, bytes: &[u8]) -> Result<String> {
    let bad = |what: String| {
        Error::new(
            ErrorKind::InvalidInput,
            format!("{what}: expected UTF-16LE text with a BOM (or UTF-8)"),
        )
        .context(format!("bulk report {object}"))
    };
    let utf16 = |body: &[u8], big_endian: bool| -> Result<String> {
        if !body.len().is_multiple_of(2) {
            return Err(bad(format!(
                "odd number of bytes ({}) in a UTF-16 file",
                body.len()
            )));
        }
        let encoding = if big_endian { UTF_16BE } else { UTF_16LE };
        encoding
            .decode_without_bom_handling_and_without_replacement(body)
            .map(|text| text.into_owned())
            .ok_or_else(|| bad("invalid UTF-16 (unpaired surrogate)".to_owned()))
    };
    match bytes {
        [0xFF, 0xFE, rest @ ..] => utf16(rest, false),
        [0xFE, 0xFF, rest @ ..] => utf16(rest, true),
        [0xEF, 0xBB, 0xBF, rest @ ..] => std::str::from_utf8(rest)
            .map(str::to_owned)
            .map_err(|e| bad(format!("invalid UTF-8 at byte {}", e.valid_up_to() + 3))),
        // ASCII text in UTF-16LE without a BOM: every second byte is NUL.
        [a, 0, ..] if *a != 0 => utf16(bytes, false),
        _ => std::str::from_utf8(bytes)
            .map(str::to_owned)
            .map_err(|e| bad(format!("invalid UTF-8 at byte {}", e.valid_up_to()))),
    }
}

/// Lower-case, without spaces, underscores or a stray BOM: `Daily User Installs` and
/// `daily_user_installs` compare equal.
fn normalize(header: &str) -> String {
    header
        .trim_start_matches('\u{feff}')
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '_')
        .flat_map(char::to_lowercase)
        .collect()
}

/// Parses an overview file into rows of the asked `metrics` (those of `kind` only).
///
/// A header without the `Date` column or without a column an asked metric needs is an
/// error naming the object and the column, and nothing of the file is returned; so is a
/// row with a wrong number of fields, a bad date or a value that is neither a number
/// nor `NA`.
///
/// ```
/// use storewatch_core::model::Metric;
/// use storewatch_google::csv::{ReportKind, parse_overview};
///
/// let text = "Date,Package Name,Daily Average Rating,Total Average Rating\n2026-09-20,com.x,NA,4.31\n";
/// let mut bytes = vec![0xFF, 0xFE];
/// bytes.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
/// let rows = parse_overview("ratings_com.x_202609_overview.csv", &bytes, ReportKind::Ratings, &[Metric::RATING_AVG]).unwrap();
/// assert_eq!(rows[0].values, vec![(Metric::RATING_AVG, None)]);
/// ```
pub fn parse_overview(
    object: &str,
    bytes: &[u8],
    kind: ReportKind,
    metrics: &[Metric],
) -> Result<Vec<ReportRow>> {
    let in_object = || format!("bulk report {object}");
    let text = decode(object, bytes)?;
    let first_line = text.lines().next().unwrap_or("");
    // A file re-saved by a spreadsheet program is tab-separated.
    let delimiter = if !first_line.contains(',') && first_line.contains('\t') {
        b'\t'
    } else {
        b','
    };
    let mut reader = ::csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(true)
        .flexible(false)
        .trim(::csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| csv_error(&e).context(in_object()))?
        .iter()
        .map(normalize)
        .collect();
    let find = |name: &str| -> Result<usize> {
        let wanted = normalize(name);
        headers.iter().position(|h| *h == wanted).ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidInput,
                format!(
                    "{object} has no {name:?} column (header: {}): expected Play Console's {} overview columns",
                    first_line.trim_start_matches('\u{feff}').trim(),
                    kind.family()
                ),
            )
        })
    };
    let date_col = find("Date")?;
    let package_col = find("Package Name").ok();
    let mut columns = Vec::new();
    for (metric, header) in kind.columns() {
        if metrics.contains(metric) {
            columns.push((metric.clone(), *header, find(header)?));
        }
    }
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| csv_error(&e).context(in_object()))?;
        let line = record.position().map_or(0, |p| p.line());
        if record.iter().all(str::is_empty) {
            continue;
        }
        let field = |i: usize| record.get(i).unwrap_or("");
        let date = parse_date(field(date_col)).ok_or_else(|| {
            Error::invalid_field("Date", field(date_col), "a day like 2026-09-20")
                .context(format!("line {line}"))
                .context(in_object())
        })?;
        let mut values = Vec::with_capacity(columns.len());
        for (metric, header, col) in &columns {
            let raw = field(*col);
            let value = if raw.is_empty() || raw.eq_ignore_ascii_case("NA") {
                None
            } else {
                let v = raw
                    .parse::<f64>()
                    .ok()
                    .filter(|v| v.is_finite())
                    .ok_or_else(|| {
                        Error::invalid_field(header, raw, "a number or NA")
                            .context(format!("line {line}"))
                            .context(in_object())
                    })?;
                Some(v)
            };
            values.push((metric.clone(), value));
        }
        rows.push(ReportRow {
            date,
            package: package_col.map(|c| field(c).to_owned()),
            values,
        });
    }
    Ok(rows)
}

fn parse_date(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(s, "%m/%d/%Y"))
        .ok()
}

fn csv_error(e: &::csv::Error) -> Error {
    let text = match e.kind() {
        ::csv::ErrorKind::UnequalLengths {
            pos,
            expected_len,
            len,
        } => format!(
            "line {} has {len} fields where the header has {expected_len}",
            pos.as_ref().map_or(0, |p| p.line())
        ),
        _ => e.to_string(),
    };
    Error::new(ErrorKind::InvalidInput, format!("malformed CSV: {text}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utf16(text: &str) -> Vec<u8> {
        let mut bytes = vec![0xFF, 0xFE];
        bytes.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
        bytes
    }

    const INSTALLS: &str = "Date,Package Name,Daily Device Installs,Daily Device Uninstalls,Daily Device Upgrades,Total User Installs,Daily User Installs,Daily User Uninstalls,Active Device Installs,Install events,Update events,Uninstall events\n2026-09-19,com.example.app,142,17,310,0,120,15,15400,160,330,21\n2026-09-20,com.example.app,131,19,295,0,112,16,15420,149,301,22\n";

    #[test]
    fn installs_by_column_name() {
        let metrics = [
            Metric::DOWNLOADS,
            Metric::UPDATES,
            Metric::UNINSTALLS,
            Metric::ACTIVE_DEVICES,
        ];
        let rows = parse_overview("o", &utf16(INSTALLS), ReportKind::Installs, &metrics).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[1].date, NaiveDate::from_ymd_opt(2026, 9, 20).unwrap());
        assert_eq!(rows[1].package.as_deref(), Some("com.example.app"));
        let values: Vec<Option<f64>> = rows[1].values.iter().map(|(_, v)| *v).collect();
        assert_eq!(
            values,
            vec![Some(112.0), Some(301.0), Some(16.0), Some(15420.0)]
        );
    }

    #[test]
    fn utf8_crlf_and_tabs() {
        let crlf = INSTALLS.replace('\n', "\r\n");
        let rows = parse_overview(
            "o",
            crlf.as_bytes(),
            ReportKind::Installs,
            &[Metric::DOWNLOADS],
        )
        .unwrap();
        assert_eq!(rows[0].values[0].1, Some(120.0));
        let tabs = "Date\tPackage Name\tDaily Average Rating\n9/20/2026\tcom.x\t4.5\n";
        let rows = parse_overview(
            "o",
            tabs.as_bytes(),
            ReportKind::Ratings,
            &[Metric::RATING_AVG],
        )
        .unwrap();
        assert_eq!(rows[0].date, NaiveDate::from_ymd_opt(2026, 9, 20).unwrap());
    }

    #[test]
    fn utf16_without_bom_is_sniffed() {
        let bytes: Vec<u8> = INSTALLS.encode_utf16().flat_map(u16::to_le_bytes).collect();
        let rows = parse_overview("o", &bytes, ReportKind::Installs, &[Metric::DOWNLOADS]).unwrap();
        assert_eq!(rows.len(), 2);
    }

    #[test]
    fn malformed_files_name_object_and_place() {
        let mut odd = utf16(INSTALLS);
        odd.push(b'x');
        let err = parse_overview(
            "installs_x_202609_overview.csv",
            &odd,
            ReportKind::Installs,
            &[],
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("odd number of bytes")
                && err.to_string().contains("installs_x_202609"),
            "{err}"
        );
        let short = "Date,Package Name,Daily Average Rating\n2026-09-20,com.x\n";
        let err = parse_overview(
            "r.csv",
            short.as_bytes(),
            ReportKind::Ratings,
            &[Metric::RATING_AVG],
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("line 2") && err.to_string().contains("r.csv"),
            "{err}"
        );
        let nan = "Date,Package Name,Daily Average Rating\n2026-09-20,com.x,four\n";
        let err = parse_overview(
            "r.csv",
            nan.as_bytes(),
            ReportKind::Ratings,
            &[Metric::RATING_AVG],
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("\"four\"")
                && err.to_string().contains("Daily Average Rating"),
            "{err}"
        );
        let quote = "Date,Package Name,Daily Average Rating\n2026-09-20,\"com.x,4.0\n";
        assert!(
            parse_overview(
                "r.csv",
                quote.as_bytes(),
                ReportKind::Ratings,
                &[Metric::RATING_AVG]
            )
            .is_err()
        );
    }
}
