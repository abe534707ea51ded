//! `storewatch metrics import`: every row checked first, then bulk upserts.

#![allow(clippy::print_stdout)] // the import's summary is its output

use std::collections::HashMap;
use std::io::Read;

use chrono::NaiveDate;
use storewatch_core::model::{
    App, AppId, AppSpec, BundleId, Metric, MetricPoint, Platform, validate_segment,
};
use storewatch_core::store::Store;
use storewatch_core::{Error, ErrorKind, Result};

use super::{COLUMNS, ImportArgs};
use crate::context::Context;
use crate::settings::Settings;

/// Points per `upsert_points` call: big enough to amortise a round trip, small enough
/// to keep one statement's parameters and one transaction's work bounded.
const CHUNK: usize = 10_000;

/// The app a row belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Target {
    /// Stored already.
    Existing(AppId),
    /// To be created (`--create-apps`).
    New(Platform, BundleId),
}

/// One checked row.
#[derive(Debug, Clone, PartialEq)]
struct Row {
    line: u64,
    /// Index into [`Parsed::targets`].
    app: usize,
    metric: Metric,
    date: NaiveDate,
    segment: String,
    value: f64,
}

/// A whole checked file.
#[derive(Debug, Default)]
struct Parsed {
    targets: Vec<Target>,
    rows: Vec<Row>,
}

/// `file, line N, column C: …`.
fn cell_error(file: &str, line: u64, column: &str, what: impl std::fmt::Display) -> Error {
    Error::new(
        ErrorKind::InvalidInput,
        format!("{file}, line {line}, column {column}: {what}"),
    )
}

fn csv_error(file: &str, e: &csv::Error) -> Error {
    let line = e.position().map(csv::Position::line);
    let what = match e.kind() {
        csv::ErrorKind::UnequalLengths { len, .. } => format!(
            "{len} fields: expected {} ({})",
            COLUMNS.len(),
            COLUMNS.join(",")
        ),
        csv::ErrorKind::Utf8 { .. } => "the text is not UTF-8".to_owned(),
        _ => e.to_string(),
    };
    let location = match line {
        Some(line) => format!("{file}, line {line}"),
        None => file.to_owned(),
    };
    Error::new(ErrorKind::InvalidInput, format!("{location}: {what}"))
}

/// A metric name, sharing the well-known constants (no allocation per row).
fn metric(name: &str) -> Result<Metric> {
    match Metric::WELL_KNOWN.iter().find(|m| m.as_str() == name) {
        Some(m) => Ok(m.clone()),
        None => Metric::new(name),
    }
}

/// Parses a day strictly as `YYYY-MM-DD`.
pub(crate) fn parse_day(text: &str) -> Option<NaiveDate> {
    if text.len() != 10 {
        return None;
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()
}

/// Reads and checks every row; nothing is written here.
fn parse(input: impl Read, file: &str, apps: &[App], create_apps: bool) -> Result<Parsed> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(input);
    let header = reader.headers().map_err(|e| csv_error(file, &e))?.clone();
    let mut index = [0usize; 6];
    for (slot, column) in index.iter_mut().zip(COLUMNS) {
        *slot = header.iter().position(|h| h == column).ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidInput,
                format!(
                    "{file}, line 1: no column {column:?}: expected the header {}",
                    COLUMNS.join(",")
                ),
            )
        })?;
    }
    if let Some(extra) = header.iter().find(|h| !COLUMNS.contains(h)) {
        return Err(Error::new(
            ErrorKind::InvalidInput,
            format!(
                "{file}, line 1: unknown column {extra:?}: expected the header {}",
                COLUMNS.join(",")
            ),
        ));
    }

    // (platform → bundle id → index into `targets`), looked up with the cell's &str.
    let mut known: HashMap<Platform, HashMap<String, usize>> = HashMap::new();
    let mut parsed = Parsed::default();
    let mut record = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => return Err(csv_error(file, &e)),
        }
        let line = record.position().map_or(0, csv::Position::line);
        let cell = |i: usize| record.get(index[i]).unwrap_or_default();
        let bad = |i: usize, what: &dyn std::fmt::Display| cell_error(file, line, COLUMNS[i], what);

        let platform: Platform = cell(0).parse().map_err(|e: Error| bad(0, &e.message()))?;
        let bundle = cell(1);
        let app = match known.get(&platform).and_then(|m| m.get(bundle)) {
            Some(&slot) => slot,
            None => {
                let target = match apps
                    .iter()
                    .find(|a| a.platform == platform && a.bundle_id.as_str() == bundle)
                {
                    Some(app) => Target::Existing(app.id),
                    None if create_apps => Target::New(
                        platform,
                        BundleId::parse(platform, bundle).map_err(|e| bad(1, &e.message()))?,
                    ),
                    None => {
                        return Err(bad(
                            1,
                            &format_args!(
                                "no {platform} app has the bundle id {bundle:?}: expected a watched app \
                                 (add it with `storewatch apps add`, or import with --create-apps)"
                            ),
                        ));
                    }
                };
                let slot = parsed.targets.len();
                parsed.targets.push(target);
                known
                    .entry(platform)
                    .or_default()
                    .insert(bundle.to_owned(), slot);
                slot
            }
        };
        let metric = metric(cell(2)).map_err(|e| bad(2, &e.message()))?;
        let date = parse_day(cell(3)).ok_or_else(|| {
            bad(
                3,
                &format_args!("invalid date {:?}: expected a day as YYYY-MM-DD", cell(3)),
            )
        })?;
        let segment = cell(4);
        validate_segment(segment).map_err(|e| bad(4, &e.message()))?;
        let value = cell(5)
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite())
            .ok_or_else(|| {
                bad(
                    5,
                    &format_args!("invalid value {:?}: expected a finite number", cell(5)),
                )
            })?;
        parsed.rows.push(Row {
            line,
            app,
            metric,
            date,
            segment: segment.to_owned(),
            value,
        });
    }

    // One value per (app, metric, date, segment): a second one would silently win.
    parsed.rows.sort_by(|a, b| {
        (a.app, &a.metric, a.date, &a.segment).cmp(&(b.app, &b.metric, b.date, &b.segment))
    });
    if let Some(pair) = parsed.rows.windows(2).find(|w| {
        (w[0].app, &w[0].metric, w[0].date, &w[0].segment)
            == (w[1].app, &w[1].metric, w[1].date, &w[1].segment)
    }) {
        let (first, second) = if pair[0].line < pair[1].line {
            (&pair[0], &pair[1])
        } else {
            (&pair[1], &pair[0])
        };
        return Err(Error::new(
            ErrorKind::InvalidInput,
            format!(
                "{file}, line {}: the same app, metric, date and segment as line {} ({} {} {}{}): expected one value per point",
                second.line,
                first.line,
                first.metric,
                first.date,
                if first.segment.is_empty() {
                    "total"
                } else {
                    "segment "
                },
                first.segment
            ),
        ));
    }
    Ok(parsed)
}

/// A free app name derived from the bundle id.
fn derived_name(platform: Platform, bundle: &BundleId, taken: &[String]) -> String {
    let base = bundle.to_string();
    let mut candidates = vec![base.clone(), format!("{base} ({platform})")];
    candidates.extend((2..).take(1000).map(|n| format!("{base} ({platform}) {n}")));
    candidates
        .into_iter()
        .find(|c| !taken.contains(c))
        .unwrap_or(base)
}

/// Creates the new apps and writes the points in chunks.
async fn write(parsed: Parsed, store: &dyn Store) -> Result<(u64, usize)> {
    let mut taken: Vec<String> = store
        .list_apps()
        .await?
        .into_iter()
        .map(|a| a.spec.name)
        .collect();
    let mut ids: Vec<AppId> = parsed
        .targets
        .iter()
        .map(|t| match t {
            Target::Existing(id) => *id,
            Target::New(..) => AppId(0),
        })
        .collect();
    // New apps are created in (platform, bundle id) order, not file order, so the
    // names they get do not depend on how the file is sorted.
    let mut new: Vec<(usize, Platform, &BundleId)> = parsed
        .targets
        .iter()
        .enumerate()
        .filter_map(|(i, t)| match t {
            Target::New(platform, bundle) => Some((i, *platform, bundle)),
            Target::Existing(_) => None,
        })
        .collect();
    new.sort_by(|a, b| (a.1, a.2).cmp(&(b.1, b.2)));
    for &(slot, platform, bundle) in &new {
        let name = derived_name(platform, bundle, &taken);
        let app = store
            .create_app(AppSpec::new(name.clone(), platform, bundle.as_str())?)
            .await?;
        println!("created app {name:?} ({platform}:{bundle}, id {})", app.id);
        taken.push(name);
        ids[slot] = app.id;
    }
    let created = new.len();
    let mut written = 0;
    for chunk in parsed.rows.chunks(CHUNK) {
        let points: Vec<MetricPoint> = chunk
            .iter()
            .map(|r| MetricPoint {
                app_id: ids[r.app],
                metric: r.metric.clone(),
                date: r.date,
                segment: r.segment.clone(),
                value: r.value,
            })
            .collect();
        written += store.upsert_points(&points).await?;
    }
    Ok((written, created))
}

/// Runs `storewatch metrics import`.
pub(super) async fn run(args: ImportArgs, settings: Settings) -> Result<()> {
    let file = args.file.display().to_string();
    let input = std::fs::File::open(&args.file).map_err(|e| {
        Error::new(ErrorKind::InvalidInput, format!("cannot read {file}")).with_source(e)
    })?;
    let ctx = Context::open(settings).await?;
    let apps = ctx.store.list_apps().await?;
    let parsed = parse(
        std::io::BufReader::new(input),
        &file,
        &apps,
        args.create_apps,
    )?;
    let app_count = parsed.targets.len();
    let (written, created) = write(parsed, ctx.store.as_ref()).await?;
    println!(
        "imported {written} points of {app_count} apps from {file}{}",
        if created > 0 {
            format!(" ({created} apps created)")
        } else {
            String::new()
        }
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};
    use storewatch_core::model::Record;

    use super::*;

    fn apps() -> Vec<App> {
        let at = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        vec![Record {
            id: AppId(7),
            version: 1,
            created_at: at,
            updated_at: at,
            spec: AppSpec::new("Trails", Platform::Ios, "com.example.trails").unwrap(),
        }]
    }

    fn parse_text(text: &str, create: bool) -> Result<Parsed> {
        parse(text.as_bytes(), "p.csv", &apps(), create)
    }

    #[test]
    fn rows_are_checked_and_sorted() {
        let parsed = parse_text(
            "value,segment,date,metric,bundle_id,platform\n\
             2.5,,2026-01-02,downloads,com.example.trails,ios\n\
             1,currency:EUR,2026-01-01,proceeds,com.example.trails,ios\n\
             3,,2026-01-01,downloads,com.example.new,android\n",
            true,
        )
        .unwrap();
        assert_eq!(
            parsed.targets,
            vec![
                Target::Existing(AppId(7)),
                Target::New(
                    Platform::Android,
                    BundleId::parse(Platform::Android, "com.example.new").unwrap()
                )
            ]
        );
        let keys: Vec<(usize, &str, u64)> = parsed
            .rows
            .iter()
            .map(|r| (r.app, r.metric.as_str(), r.line))
            .collect();
        assert_eq!(
            keys,
            vec![(0, "downloads", 2), (0, "proceeds", 3), (1, "downloads", 4)]
        );
        assert_eq!(parsed.rows[1].segment, "currency:EUR");
        assert_eq!(parsed.rows[0].value, 2.5);
    }

    #[test]
    fn bad_cells_name_line_column_value_and_expectation() {
        let header = "platform,bundle_id,metric,date,segment,value\n";
        let good = "ios,com.example.trails,downloads,2026-01-01,,1\n";
        for (row, needles) in [
            (
                "ios,com.example.trails,downloads,2026-02-30,,1",
                &["p.csv, line 3, column date", "\"2026-02-30\"", "YYYY-MM-DD"][..],
            ),
            (
                "ios,com.example.trails,downloads,2026-01-02,,lots",
                &["line 3, column value", "\"lots\"", "a finite number"],
            ),
            (
                "ios,com.example.trails,downloads,2026-01-02,,NaN",
                &["line 3, column value", "\"NaN\""],
            ),
            (
                "windows,com.example.trails,downloads,2026-01-02,,1",
                &[
                    "line 3, column platform",
                    "\"windows\"",
                    "\"ios\" or \"android\"",
                ],
            ),
            (
                "ios,com.example.other,downloads,2026-01-02,,1",
                &[
                    "line 3, column bundle_id",
                    "\"com.example.other\"",
                    "--create-apps",
                ],
            ),
            (
                "ios,com.example.trails,Downloads,2026-01-02,,1",
                &["line 3, column metric", "\"Downloads\""],
            ),
            (
                "ios,com.example.trails,downloads,2026-01-02,EUR,1",
                &["line 3, column segment", "\"EUR\"", "currency:EUR"],
            ),
            (
                "ios,com.example.trails,downloads,2026-01-02,1",
                &["p.csv, line 3", "5 fields: expected 6"],
            ),
            (
                "ios,com.example.trails,downloads,2026-01-01,,2",
                &["p.csv, line 3", "as line 2", "one value per point"],
            ),
        ] {
            let err = parse_text(&format!("{header}{good}{row}\n"), false)
                .unwrap_err()
                .to_string();
            for needle in needles {
                assert!(err.contains(needle), "{needle:?} missing in {err}");
            }
        }
        let err = parse_text("platform,bundle_id,metric,date,value\n", false)
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 1: no column \"segment\""), "{err}");
        let err = parse_text("platform,bundle_id,metric,date,segment,value,note\n", false)
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown column \"note\""), "{err}");
        let err = parse_text(
            &format!("{header}ios,bad id,downloads,2026-01-01,,1\n"),
            true,
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("line 2, column bundle_id") && err.contains("\"bad id\""),
            "{err}"
        );
    }

    #[test]
    fn derived_names_avoid_taken_ones() {
        let b = BundleId::parse(Platform::Android, "com.example.trails").unwrap();
        assert_eq!(
            derived_name(Platform::Android, &b, &[]),
            "com.example.trails"
        );
        assert_eq!(
            derived_name(Platform::Android, &b, &["com.example.trails".into()]),
            "com.example.trails (android)"
        );
    }
}
