//! The SALES/SUMMARY/DAILY report: gzip TSV parsed by column name into per-app totals.
//!
//! Columns are found by header name, never by position; unknown and duplicated columns
//! are tolerated (the first of a duplicated name is read). Product types map to
//! storewatch metrics as in DESIGN §2; refunds (negative `Units`) are summed as they come;
//! in-app purchase and subscription rows are attributed to the parent app through
//! `Parent Identifier` (the parent's SKU); proceeds are `Units × Developer Proceeds`, kept
//! per `Currency of Proceeds` as exact decimals.

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader, Read};

use chrono::NaiveDate;
use flate2::read::MultiGzDecoder;
use rust_decimal::Decimal;
use storewatch_core::{Error, ErrorKind, Result};

mod totals;

pub use totals::{AppSales, ProductKind};

/// Decompressed size past which a report is refused (a gzip bomb, not a sales report).
pub const MAX_DECOMPRESSED_BYTES: u64 = 4 << 30;

/// A parsed daily sales report: totals by Apple id (app rows) and by parent SKU (in-app rows).
#[derive(Debug, Clone, Default)]
pub struct SalesSummary {
    /// The report date.
    pub date: NaiveDate,
    /// Data rows read.
    pub rows: u64,
    by_apple_id: HashMap<Box<[u8]>, AppSales>,
    by_parent_sku: HashMap<Box<[u8]>, AppSales>,
    /// Rows of unknown product types, by identifier.
    pub unknown_product_types: BTreeMap<String, u64>,
}

impl SalesSummary {
    /// The totals of the app with Apple id `apple_id` and SKU `sku` (its own rows plus the
    /// in-app rows whose parent is `sku`). An app absent from the report gets zeros.
    pub fn for_app(&self, apple_id: &str, sku: Option<&str>) -> AppSales {
        let mut sales = self
            .by_apple_id
            .get(apple_id.as_bytes())
            .cloned()
            .unwrap_or_default();
        if let Some(in_app) = sku.and_then(|s| self.by_parent_sku.get(s.as_bytes())) {
            sales.merge(in_app);
        }
        sales
    }

    /// The Apple ids that have app rows.
    pub fn apple_ids(&self) -> impl Iterator<Item = String> + '_ {
        self.by_apple_id
            .keys()
            .map(|k| String::from_utf8_lossy(k).into_owned())
    }

    /// The parent SKUs that have in-app rows.
    pub fn parent_skus(&self) -> impl Iterator<Item = String> + '_ {
        self.by_parent_sku
            .keys()
            .map(|k| String::from_utf8_lossy(k).into_owned())
    }

    /// The sum over every app of the report.
    pub fn grand_total(&self) -> AppSales {
        let mut total = AppSales::default();
        for sales in self.by_apple_id.values().chain(self.by_parent_sku.values()) {
            total.merge(sales);
        }
        total
    }
}

const PRODUCT_TYPE: &str = "Product Type Identifier";
const UNITS: &str = "Units";
const PROCEEDS: &str = "Developer Proceeds";
const PROCEEDS_CURRENCY: &str = "Currency of Proceeds";
const APPLE_ID: &str = "Apple Identifier";
const PARENT_ID: &str = "Parent Identifier";
const SUBSCRIPTION: &str = "Subscription";

struct Columns {
    product_type: usize,
    units: usize,
    proceeds: usize,
    currency: usize,
    apple_id: usize,
    parent_id: usize,
    subscription: Option<usize>,
}

impl Columns {
    fn find(header: &[&[u8]], date: NaiveDate) -> Result<Columns> {
        let names: Vec<String> = header
            .iter()
            .enumerate()
            .map(|(i, f)| {
                let name = String::from_utf8_lossy(f);
                let name = if i == 0 {
                    name.trim_start_matches('\u{feff}').to_owned()
                } else {
                    name.into_owned()
                };
                name.trim().to_owned()
            })
            .collect();
        // The first of a duplicated column wins: Apple's duplicates seen so far repeat
        // a column we do not read, and the first is the documented position.
        let position = |name: &str| names.iter().position(|n| n.eq_ignore_ascii_case(name));
        let required = [
            PRODUCT_TYPE,
            UNITS,
            PROCEEDS,
            PROCEEDS_CURRENCY,
            APPLE_ID,
            PARENT_ID,
        ];
        let missing: Vec<&str> = required
            .iter()
            .copied()
            .filter(|n| position(n).is_none())
            .collect();
        if !missing.is_empty() {
            return Err(report_error(
                date,
                format!(
                    "line 1: the header lacks the column(s) {}; expected a SALES SUMMARY header (Provider, …, Product Type Identifier, Units, Developer Proceeds, …)",
                    missing.join(", ")
                ),
            ));
        }
        let get = |n: &str| position(n).unwrap_or(0);
        Ok(Columns {
            product_type: get(PRODUCT_TYPE),
            units: get(UNITS),
            proceeds: get(PROCEEDS),
            currency: get(PROCEEDS_CURRENCY),
            apple_id: get(APPLE_ID),
            parent_id: get(PARENT_ID),
            subscription: position(SUBSCRIPTION),
        })
    }

    fn min_len(&self) -> usize {
        [
            self.product_type,
            self.units,
            self.proceeds,
            self.currency,
            self.apple_id,
            self.parent_id,
        ]
        .into_iter()
        .max()
        .unwrap_or(0)
            + 1
    }
}

fn report_error(date: NaiveDate, what: String) -> Error {
    Error::new(
        ErrorKind::InvalidInput,
        format!("sales report for {date}: {what}"),
    )
}

fn column_error(date: NaiveDate, line: u64, column: &str, value: &[u8], expected: &str) -> Error {
    report_error(
        date,
        format!(
            "line {line}, column {column:?}: {:?} is not {expected}",
            String::from_utf8_lossy(value)
        ),
    )
}

/// Trims the single spaces Apple writes for empty fields.
fn trim(field: &[u8]) -> &[u8] {
    field.trim_ascii()
}

/// Parses a plain decimal with an optional sign: `-12`, `0.70` and `.70` (no exponents, no
/// thousands separators).
pub fn parse_decimal(field: &[u8]) -> Option<Decimal> {
    let (negative, digits) = match field.first()? {
        b'-' => (true, &field[1..]),
        b'+' => (false, &field[1..]),
        _ => (false, field),
    };
    let mut mantissa: i128 = 0;
    let mut scale: u32 = 0;
    let mut seen_dot = false;
    let mut seen_digit = false;
    for &b in digits {
        match b {
            b'0'..=b'9' => {
                mantissa = mantissa
                    .checked_mul(10)?
                    .checked_add(i128::from(b - b'0'))?;
                seen_digit = true;
                if seen_dot {
                    scale += 1;
                }
            }
            b'.' if !seen_dot => seen_dot = true,
            _ => return None,
        }
    }
    if !seen_digit || scale > 20 {
        return None;
    }
    let value = Decimal::try_from_i128_with_scale(mantissa, scale).ok()?;
    Some(if negative { -value } else { value })
}

/// A reader that counts bytes and refuses to go past a limit.
struct Limited<R> {
    inner: R,
    read: u64,
    limit: u64,
}

impl<R: Read> Read for Limited<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        if self.read > self.limit {
            return Err(std::io::Error::other(
                "decompressed report exceeds the size limit",
            ));
        }
        Ok(n)
    }
}

/// Parses a gzip-compressed SALES SUMMARY report of `date`.
///
/// Errors name the report date, and for a bad row its line and column; a day whose report
/// fails to parse yields nothing, so no partial day is ever stored.
pub fn parse_sales_report(gz: &[u8], date: NaiveDate) -> Result<SalesSummary> {
    if gz.len() < 2 || gz[..2] != [0x1f, 0x8b] {
        return Err(report_error(
            date,
            format!(
                "the body is not gzip (it starts with {:?}); expected an application/a-gzip report",
                String::from_utf8_lossy(&gz[..gz.len().min(16)])
            ),
        ));
    }
    let reader = Limited {
        inner: MultiGzDecoder::new(gz),
        read: 0,
        limit: MAX_DECOMPRESSED_BYTES,
    };
    parse_tsv(reader, date)
}

/// Splits a line (without its terminator) at tabs into the byte ranges of its first
/// `max` fields and returns how many it found (at most `max`): the columns past the
/// last one read are never scanned. Fields are short, so a plain loop beats `memchr`.
fn split_fields(line: &[u8], max: usize, fields: &mut Vec<(usize, usize)>) -> usize {
    fields.clear();
    let mut start = 0;
    for (i, b) in line.iter().enumerate() {
        if *b == b'\t' {
            fields.push((start, i));
            if fields.len() == max {
                return max;
            }
            start = i + 1;
        }
    }
    fields.push((start, line.len()));
    fields.len()
}

/// Parses an uncompressed SALES SUMMARY report (a TSV stream) of `date`.
///
/// Apple's TSV has no quoting, so fields are split at tabs directly (a title containing a
/// quote is data, not a delimiter); LF and CRLF endings and a missing final newline are
/// accepted. Lines are parsed inside the read buffer; only a line that straddles two
/// buffers is copied.
pub fn parse_tsv(reader: impl Read, date: NaiveDate) -> Result<SalesSummary> {
    let mut reader = BufReader::with_capacity(256 * 1024, reader);
    let mut parser = LineParser {
        date,
        line: 0,
        columns: None,
        min_len: 0,
        read_upto: 0,
        ranges: Vec::with_capacity(32),
        summary: SalesSummary {
            date,
            ..SalesSummary::default()
        },
    };
    let mut carry: Vec<u8> = Vec::new();
    loop {
        let buf = reader.fill_buf().map_err(|e| {
            report_error(
                date,
                format!(
                    "the body is truncated or corrupt after line {}: {e}",
                    parser.line
                ),
            )
        })?;
        if buf.is_empty() {
            if !carry.is_empty() {
                parser.line(&carry)?;
            }
            break;
        }
        let len = buf.len();
        let mut pos = 0;
        if !carry.is_empty() {
            match memchr::memchr(b'\n', buf) {
                Some(nl) => {
                    carry.extend_from_slice(&buf[..nl]);
                    parser.line(&carry)?;
                    carry.clear();
                    pos = nl + 1;
                }
                None => {
                    carry.extend_from_slice(buf);
                    reader.consume(len);
                    continue;
                }
            }
        }
        while let Some(nl) = memchr::memchr(b'\n', &buf[pos..]) {
            parser.line(&buf[pos..pos + nl])?;
            pos += nl + 1;
        }
        carry.extend_from_slice(&buf[pos..]);
        reader.consume(len);
    }
    if parser.columns.is_none() {
        return Err(report_error(
            date,
            "the report is empty (no header line)".to_owned(),
        ));
    }
    let summary = parser.summary;
    if !summary.unknown_product_types.is_empty() {
        tracing::warn!(
            %date,
            types = ?summary.unknown_product_types,
            "sales report has unknown product types; counted as other"
        );
    }
    Ok(summary)
}

/// The state of a parse: the header's columns once read, and the totals so far.
struct LineParser {
    date: NaiveDate,
    line: u64,
    columns: Option<Columns>,
    min_len: usize,
    read_upto: usize,
    ranges: Vec<(usize, usize)>,
    summary: SalesSummary,
}

impl LineParser {
    fn line(&mut self, row: &[u8]) -> Result<()> {
        self.line += 1;
        let row = row.strip_suffix(b"\r").unwrap_or(row);
        if self.columns.is_none() {
            let mut ranges = Vec::new();
            split_fields(row, usize::MAX, &mut ranges);
            let header: Vec<&[u8]> = ranges.iter().map(|(a, b)| &row[*a..*b]).collect();
            let columns = Columns::find(&header, self.date)?;
            self.min_len = columns.min_len();
            self.read_upto = self.min_len.max(columns.subscription.map_or(0, |i| i + 1));
            self.columns = Some(columns);
            return Ok(());
        }
        if row.trim_ascii().is_empty() {
            return Ok(()); // blank line
        }
        let Some(columns) = self.columns.take() else {
            return Err(Error::internal("sales parser lost its columns"));
        };
        let result = self.row(row, &columns);
        self.columns = Some(columns);
        result
    }

    fn row(&mut self, row: &[u8], columns: &Columns) -> Result<()> {
        let count = split_fields(row, self.read_upto, &mut self.ranges);
        let fields = |i: usize| &row[self.ranges[i].0..self.ranges[i].1];
        if count < self.min_len {
            return Err(report_error(
                self.date,
                format!(
                    "line {}: the row has {count} fields, the header names at least {}",
                    self.line, self.min_len
                ),
            ));
        }
        let product = trim(fields(columns.product_type));
        let kind = ProductKind::of(std::str::from_utf8(product).unwrap_or(""));
        if kind == ProductKind::Other {
            *self
                .summary
                .unknown_product_types
                .entry(String::from_utf8_lossy(product).into_owned())
                .or_default() += 1;
        }
        let units_field = trim(fields(columns.units));
        let units = parse_decimal(units_field).ok_or_else(|| {
            column_error(self.date, self.line, UNITS, units_field, "a decimal number")
        })?;
        let proceeds_field = trim(fields(columns.proceeds));
        let per_unit = if proceeds_field.is_empty() {
            Decimal::ZERO
        } else {
            parse_decimal(proceeds_field).ok_or_else(|| {
                column_error(
                    self.date,
                    self.line,
                    PROCEEDS,
                    proceeds_field,
                    "a decimal number",
                )
            })?
        };
        let subscription = columns
            .subscription
            .filter(|i| *i < self.ranges.len())
            .map(|i| trim(fields(i)))
            .unwrap_or_default();
        let (key, map) = if kind.is_in_app() {
            (
                trim(fields(columns.parent_id)),
                &mut self.summary.by_parent_sku,
            )
        } else {
            (
                trim(fields(columns.apple_id)),
                &mut self.summary.by_apple_id,
            )
        };
        let sales = match map.get_mut(key) {
            Some(sales) => sales,
            None => map.entry(key.into()).or_default(),
        };
        sales.add(kind, units, subscription);
        if !per_unit.is_zero() && !units.is_zero() {
            let amount = units * per_unit;
            let currency = trim(fields(columns.currency));
            if currency.is_empty() || !currency.iter().all(u8::is_ascii_alphabetic) {
                return Err(column_error(
                    self.date,
                    self.line,
                    PROCEEDS_CURRENCY,
                    currency,
                    "an ISO currency code",
                ));
            }
            let currency = std::str::from_utf8(currency).unwrap_or_default();
            match sales.proceeds.get_mut(currency) {
                Some(total) => *total += amount,
                None => {
                    sales.proceeds.insert(currency.to_owned(), amount);
                }
            }
        }
        self.summary.rows += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    #[test]
    fn decimals() {
        for (s, v) in [
            ("0.70", "0.70"),
            (".70", "0.70"),
            ("-1", "-1"),
            ("12", "12"),
            ("209.30", "209.30"),
        ] {
            assert_eq!(
                parse_decimal(s.as_bytes()),
                Some(Decimal::from_str(v).unwrap()),
                "{s}"
            );
        }
        for bad in ["", "-", ".", "1.2.3", "abc", "1,000", "1e3"] {
            assert_eq!(parse_decimal(bad.as_bytes()), None, "{bad}");
        }
    }
}
