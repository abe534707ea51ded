//! `storewatch analyze`: the DESIGN §5 analysis of one day, as the pipeline computes
//! it (the same days loaded, the same `PolarsAnalyzer`), one row per series.

use std::sync::Arc;

use chrono::NaiveDate;
use serde_json::Value;
use storewatch_core::analysis::{Analysis, Analyzer, PolarsAnalyzer};
use storewatch_core::model::AppId;
use storewatch_core::store::{DaySelection, HistoryQuery};
use storewatch_core::{Error, Result};

use crate::commands::lookup;
use crate::context::Context;
use crate::output::{Format, Listing, opt};
use crate::settings::Settings;

/// The columns, in order; an empty cell (JSON null) is a value §5 leaves undefined.
pub(crate) const COLUMNS: [&str; 16] = [
    "platform",
    "bundle_id",
    "metric",
    "segment",
    "value",
    "prev_day",
    "dod_pct",
    "prev_week",
    "wow_pct",
    "prev_year",
    "yoy_pct",
    "avg_7d",
    "avg_28d",
    "seasonal_median",
    "seasonal_mad",
    "seasonal_z",
];

/// Options of `storewatch analyze`.
#[derive(Debug, clap::Args)]
pub(crate) struct AnalyzeArgs {
    /// The day analysed, YYYY-MM-DD (compared with D−1, D−7, D−364 and the 8 previous
    /// same weekdays).
    #[arg(long, value_name = "DAY")]
    date: NaiveDate,
    /// Only this app (id, name, bundle id or platform:bundle id); repeat for several.
    #[arg(long = "app", value_name = "APP")]
    apps: Vec<String>,
    /// How to print the rows.
    #[arg(long, value_enum, default_value_t = Format::Csv)]
    format: Format,
}

/// The analysis as rows of [`COLUMNS`].
pub(crate) fn listing(analysis: &Analysis) -> Listing {
    let mut listing = Listing::new(&COLUMNS);
    for s in &analysis.summaries {
        listing.push(vec![
            Value::from(s.key.platform.as_str()),
            Value::from(s.key.bundle_id.as_str()),
            Value::from(s.key.metric.as_str()),
            Value::from(s.key.segment.as_str()),
            Value::from(s.value),
            opt(s.prev_day),
            opt(s.dod_pct),
            opt(s.prev_week),
            opt(s.wow_pct),
            opt(s.prev_year),
            opt(s.yoy_pct),
            Value::from(s.avg_7d),
            Value::from(s.avg_28d),
            opt(s.seasonal_median),
            opt(s.seasonal_mad),
            opt(s.seasonal_z),
        ]);
    }
    listing
}

/// Runs `storewatch analyze`.
pub(crate) async fn run(args: AnalyzeArgs, settings: Settings) -> Result<()> {
    let ctx = Context::open(settings).await?;
    let store = ctx.store.as_ref();
    let analyzer = Arc::new(PolarsAnalyzer::new());
    // Only the days §5 reads, as the pipeline's alert check loads them.
    let mut query = HistoryQuery::new(DaySelection::Days(analyzer.required_days(args.date)));
    if !args.apps.is_empty() {
        let mut ids: Vec<AppId> = Vec::with_capacity(args.apps.len());
        for key in &args.apps {
            let app = lookup::app(store, key)
                .await
                .map_err(|e| e.context("--app"))?;
            ids.push(app.id);
        }
        query = query.with_apps(ids);
    }
    let history = store.history(&query).await?;
    let day = args.date;
    let analysis = tokio::task::spawn_blocking(move || analyzer.analyze(&history, day))
        .await
        .map_err(|e| Error::internal(format!("the analysis task failed: {e}")))??;
    if analysis.summaries.is_empty() {
        tracing::warn!(%day, "no series has a value on this day");
    }
    listing(&analysis).print(args.format)
}
