//! `storewatch metrics export`: streamed to stdout one app at a time, so memory holds
//! one app's history, never the whole database.

use std::io::Write;

use chrono::NaiveDate;
use storewatch_core::model::App;
use storewatch_core::store::{DaySelection, HistoryQuery, Store};
use storewatch_core::{Error, Result};

use super::{COLUMNS, ExportArgs};
use crate::commands::lookup;
use crate::context::Context;
use crate::settings::Settings;

/// Writes the CSV of `apps` (in the order given) to `out`.
async fn write_csv(
    store: &dyn Store,
    apps: &[App],
    days: DaySelection,
    metrics: Option<Vec<storewatch_core::model::Metric>>,
    out: impl Write,
) -> Result<u64> {
    let failed = |e: csv::Error| Error::internal("writing CSV failed").with_source(e);
    let mut writer = csv::Writer::from_writer(out);
    writer.write_record(COLUMNS).map_err(failed)?;
    let mut rows = 0;
    for app in apps {
        let mut query = HistoryQuery::new(days.clone()).with_apps(vec![app.id]);
        if let Some(metrics) = &metrics {
            query = query.with_metrics(metrics.clone());
        }
        let mut points = store.history(&query).await?.to_points();
        points.sort_by(|a, b| {
            (a.metric.as_str(), a.date, a.segment.as_str()).cmp(&(
                b.metric.as_str(),
                b.date,
                b.segment.as_str(),
            ))
        });
        let platform = app.platform.as_str();
        let bundle = app.bundle_id.as_str();
        for p in &points {
            // `{}` of an f64 is the shortest text that parses back to the same value.
            writer
                .write_record([
                    platform,
                    bundle,
                    p.metric.as_str(),
                    &p.date.to_string(),
                    &p.segment,
                    &p.value.to_string(),
                ])
                .map_err(failed)?;
            rows += 1;
        }
        writer
            .flush()
            .map_err(|e| Error::internal("writing CSV failed").with_source(e))?;
    }
    Ok(rows)
}

/// Runs `storewatch metrics export`.
pub(super) async fn run(args: ExportArgs, settings: Settings) -> Result<()> {
    let from = args
        .from
        .or_else(|| NaiveDate::from_ymd_opt(1, 1, 1))
        .unwrap_or(NaiveDate::MIN);
    let to = args
        .to
        .or_else(|| NaiveDate::from_ymd_opt(9999, 12, 31))
        .unwrap_or(NaiveDate::MAX);
    if from > to {
        return Err(Error::invalid_field(
            "--from",
            from.to_string(),
            format_args!("a day no later than --to {to}"),
        ));
    }
    let ctx = Context::open(settings).await?;
    let store = ctx.store.as_ref();
    let mut apps = if args.apps.is_empty() {
        store.list_apps().await?
    } else {
        let mut apps = Vec::with_capacity(args.apps.len());
        for key in &args.apps {
            let app = lookup::app(store, key)
                .await
                .map_err(|e| e.context("--app"))?;
            if !apps.iter().any(|a: &App| a.id == app.id) {
                apps.push(app);
            }
        }
        apps
    };
    apps.sort_by(|a, b| (a.platform, &a.bundle_id).cmp(&(b.platform, &b.bundle_id)));
    let metrics = (!args.metrics.is_empty()).then_some(args.metrics);
    match write_csv(
        store,
        &apps,
        DaySelection::Range { from, to },
        metrics,
        std::io::BufWriter::new(std::io::stdout()),
    )
    .await
    {
        Ok(_) => Ok(()),
        // `storewatch metrics export | head` closes the pipe early: not a failure.
        Err(e) if is_broken_pipe(&e) => Ok(()),
        Err(e) => Err(e),
    }
}

fn is_broken_pipe(e: &Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>()
            && io.kind() == std::io::ErrorKind::BrokenPipe
        {
            return true;
        }
        if let Some(c) = s.downcast_ref::<csv::Error>()
            && let csv::ErrorKind::Io(io) = c.kind()
            && io.kind() == std::io::ErrorKind::BrokenPipe
        {
            return true;
        }
        source = s.source();
    }
    false
}
