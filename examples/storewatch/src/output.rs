//! Printing lists and records as an aligned table, JSON or CSV (`--format`).

#![allow(clippy::print_stdout)] // printing is what this module is for

use serde_json::{Map, Value};
use storewatch_core::{Error, Result};

/// How a command prints what it lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub(crate) enum Format {
    /// Aligned columns for people.
    #[default]
    Table,
    /// A JSON array of objects (one object for a single record).
    Json,
    /// CSV with a header row; empty fields for missing values.
    Csv,
}

/// Rows under fixed column names, printed in any [`Format`].
///
/// Cells are JSON values so `--format json` keeps numbers and nulls typed; tables and
/// CSV print `null` as an empty field.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Listing {
    columns: Vec<&'static str>,
    rows: Vec<Vec<Value>>,
}

impl Listing {
    /// An empty listing with these columns.
    pub(crate) fn new(columns: &[&'static str]) -> Listing {
        Listing {
            columns: columns.to_vec(),
            rows: Vec::new(),
        }
    }

    /// Adds a row; it must have one cell per column.
    pub(crate) fn push(&mut self, row: Vec<Value>) {
        debug_assert_eq!(row.len(), self.columns.len(), "one cell per column");
        self.rows.push(row);
    }

    /// The number of rows.
    pub(crate) fn len(&self) -> usize {
        self.rows.len()
    }

    /// Renders the listing.
    pub(crate) fn render(&self, format: Format) -> Result<String> {
        match format {
            Format::Table => Ok(self.table()),
            Format::Json => serde_json::to_string_pretty(&self.to_json())
                .map(|s| s + "\n")
                .map_err(|e| Error::internal("rendering JSON failed").with_source(e)),
            Format::Csv => self.csv(),
        }
    }

    /// The rows as a JSON array of objects keyed by column.
    pub(crate) fn to_json(&self) -> Value {
        Value::Array(self.rows.iter().map(|r| self.object(r)).collect())
    }

    /// Renders the one row as a record: `key: value` lines, a JSON object, or CSV.
    pub(crate) fn render_record(&self, format: Format) -> Result<String> {
        match (format, self.rows.first()) {
            (Format::Table, Some(row)) => {
                let width = self.columns.iter().map(|c| c.len()).max().unwrap_or(0);
                Ok(self
                    .columns
                    .iter()
                    .zip(row)
                    .map(|(c, v)| format!("{c:<width$}  {}\n", text(v)))
                    .collect())
            }
            (Format::Json, Some(row)) => serde_json::to_string_pretty(&self.object(row))
                .map(|s| s + "\n")
                .map_err(|e| Error::internal("rendering JSON failed").with_source(e)),
            _ => self.render(format),
        }
    }

    /// Prints the listing to stdout.
    pub(crate) fn print(&self, format: Format) -> Result<()> {
        print!("{}", self.render(format)?);
        Ok(())
    }

    /// Prints the one row as a record.
    pub(crate) fn print_record(&self, format: Format) -> Result<()> {
        print!("{}", self.render_record(format)?);
        Ok(())
    }

    fn object(&self, row: &[Value]) -> Value {
        let map: Map<String, Value> = self
            .columns
            .iter()
            .zip(row)
            .map(|(c, v)| ((*c).to_owned(), v.clone()))
            .collect();
        Value::Object(map)
    }

    fn table(&self) -> String {
        let cells: Vec<Vec<String>> = self
            .rows
            .iter()
            .map(|r| r.iter().map(text).collect())
            .collect();
        let widths: Vec<usize> = (0..self.columns.len())
            .map(|i| {
                cells
                    .iter()
                    .map(|r| r[i].chars().count())
                    .chain([self.columns[i].len()])
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let line = |values: Vec<&str>| -> String {
            let mut out = values
                .iter()
                .zip(&widths)
                .map(|(v, w)| format!("{v:<w$}"))
                .collect::<Vec<_>>()
                .join("  ");
            out.truncate(out.trim_end().len());
            out + "\n"
        };
        let mut out = line(self.columns.clone());
        for row in &cells {
            out += &line(row.iter().map(String::as_str).collect());
        }
        out
    }

    fn csv(&self) -> Result<String> {
        let mut writer = csv::Writer::from_writer(Vec::new());
        let failed = |e: csv::Error| Error::internal("rendering CSV failed").with_source(e);
        writer.write_record(&self.columns).map_err(failed)?;
        for row in &self.rows {
            writer.write_record(row.iter().map(text)).map_err(failed)?;
        }
        let bytes = writer
            .into_inner()
            .map_err(|e| Error::internal("rendering CSV failed").with_source(e.into_error()))?;
        String::from_utf8(bytes).map_err(|e| Error::internal("CSV is not UTF-8").with_source(e))
    }
}

/// A cell as text: strings bare, `null` empty, everything else as JSON.
pub(crate) fn text(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A cell from an optional value.
pub(crate) fn opt<T: Into<Value>>(value: Option<T>) -> Value {
    value.map_or(Value::Null, Into::into)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn sample() -> Listing {
        let mut l = Listing::new(&["id", "name", "value"]);
        l.push(vec![json!(1), json!("Pocket, Planner"), json!(2.5)]);
        l.push(vec![json!(12), json!("Trails"), Value::Null]);
        l
    }

    #[test]
    fn table_aligns_columns_and_leaves_nulls_empty() {
        assert_eq!(
            sample().render(Format::Table).unwrap(),
            "id  name             value\n1   Pocket, Planner  2.5\n12  Trails\n"
        );
    }

    #[test]
    fn csv_quotes_and_leaves_nulls_empty() {
        assert_eq!(
            sample().render(Format::Csv).unwrap(),
            "id,name,value\n1,\"Pocket, Planner\",2.5\n12,Trails,\n"
        );
    }

    #[test]
    fn json_keeps_types() {
        let v: Value = serde_json::from_str(&sample().render(Format::Json).unwrap()).unwrap();
        assert_eq!(v[0]["id"], json!(1));
        assert_eq!(v[1]["value"], Value::Null);
    }

    #[test]
    fn a_record_prints_as_key_value_lines() {
        let mut l = Listing::new(&["id", "name"]);
        l.push(vec![json!(3), json!("Trails")]);
        assert_eq!(
            l.render_record(Format::Table).unwrap(),
            "id    3\nname  Trails\n"
        );
        assert_eq!(
            serde_json::from_str::<Value>(&l.render_record(Format::Json).unwrap()).unwrap(),
            json!({"id": 3, "name": "Trails"})
        );
    }
}
