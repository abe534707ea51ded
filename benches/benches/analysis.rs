//! Analysis bench: `PolarsAnalyzer` on synthetic histories of N apps × 8 metrics ×
//! 400 days, printing points/s, peak memory against the input's size, and ratios
//! against two references measured in the same run on the same input:
//!
//! - the floor: one pass summing every value of the history (memory bandwidth — no
//!   analyzer can read its input faster);
//! - `NaiveAnalyzer`: the plain-loop reference implementation of DESIGN §5.
//!
//! Sizes: `cargo bench -p storewatch-benches --bench analysis` runs 1,000 and 10,000
//! apps (3.2 M and 32 M points); pass app counts to choose, e.g. `-- 1000`, or set
//! `ANALYSIS_BENCH_APPS=1000,10000`. `ANALYSIS_BENCH_RUNS` (default 5) sets how many
//! timed runs the best is taken of.

#![allow(
    clippy::print_stdout,
    reason = "a bench binary reports its figures on stdout"
)]

use std::hint::black_box;
use std::process::ExitCode;

use chrono::NaiveDate;
use storewatch_benches::memory::{self, mib};
use storewatch_benches::synthetic::{self, Shape};
use storewatch_benches::timing::{best_of, per_second};
use storewatch_core::Result;
use storewatch_core::analysis::{Analyzer, NaiveAnalyzer, PolarsAnalyzer};

/// Bytes of one point in the columnar measure of the input: series index (4) + day (4)
/// + value (8). `MetricHistory` holds a point in the same 16 bytes, `(NaiveDate, f64)`.
const BYTES_PER_POINT: usize = 16;
/// The targets for the 3.2 M-point case.
const TARGET_POINTS_PER_S: f64 = 30.0e6;
const TARGET_PEAK_OVER_INPUT: f64 = 3.0;

fn main() -> ExitCode {
    let apps = apps_to_run();
    let runs = std::env::var("ANALYSIS_BENCH_RUNS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(5);
    println!("machine: {}", machine());
    for apps in apps {
        if let Err(e) = bench(apps, runs) {
            println!("analysis bench failed for {apps} apps: {e}");
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}

/// App counts from the arguments (numbers; cargo's `--bench` flag is skipped), else
/// from `ANALYSIS_BENCH_APPS`, else 1,000 and 10,000.
fn apps_to_run() -> Vec<usize> {
    let from_args: Vec<usize> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .filter_map(|a| a.replace('_', "").parse().ok())
        .collect();
    if !from_args.is_empty() {
        return from_args;
    }
    std::env::var("ANALYSIS_BENCH_APPS")
        .ok()
        .map(|v| {
            v.split(',')
                .filter_map(|a| a.trim().replace('_', "").parse().ok())
                .collect::<Vec<usize>>()
        })
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| vec![1_000, 10_000])
}

fn machine() -> String {
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned());
    format!("{cpus} CPUs available, {model}")
}

fn bench(apps: usize, runs: usize) -> Result<()> {
    let shape = Shape {
        apps,
        metrics: 8,
        days: 400,
    };
    let day = NaiveDate::from_ymd_opt(2026, 3, 1).unwrap_or_default();
    let history = synthetic::history(shape, day)?;
    let points = history.len();
    let input = points * BYTES_PER_POINT;
    println!(
        "\nanalysis of {} apps × {} metrics × {} days = {points} points; input {:.1} MiB ({BYTES_PER_POINT} B/point)",
        shape.apps,
        shape.metrics,
        shape.days,
        mib(input as u64)
    );

    let before = memory::resident();
    let reset = memory::reset_peak();
    let analyzer = PolarsAnalyzer::new();
    let (polars_time, analysis) = best_of(runs, || analyzer.analyze(black_box(&history), day));
    let analysis = analysis?;
    let after = memory::resident();
    let polars_rate = per_second(points, polars_time);
    println!(
        "  PolarsAnalyzer (best of {runs}): {:>9.1} ms  {:>7.1} M points/s  ({} summaries)",
        polars_time.as_secs_f64() * 1e3,
        polars_rate / 1e6,
        analysis.summaries.len()
    );

    let (floor_time, sum) = best_of(runs, || {
        black_box(&history)
            .series
            .iter()
            .flat_map(|s| &s.points)
            .map(|p| p.1)
            .sum::<f64>()
    });
    black_box(sum);
    println!(
        "  floor, one pass summing every value (best of {runs}): {:>9.1} ms  {:>7.1} M points/s  → PolarsAnalyzer takes {:.1}× the floor",
        floor_time.as_secs_f64() * 1e3,
        per_second(points, floor_time) / 1e6,
        polars_time.as_secs_f64() / floor_time.as_secs_f64()
    );

    let (naive_time, reference) = best_of(1, || NaiveAnalyzer::new().analyze(&history, day));
    let reference = reference?;
    let agree = reference
        .summaries
        .iter()
        .map(|s| &s.key)
        .eq(analysis.summaries.iter().map(|s| &s.key));
    println!(
        "  NaiveAnalyzer (1 run):       {:>9.1} ms  {:>7.1} M points/s  → PolarsAnalyzer is {:.1}× faster (same series: {agree})",
        naive_time.as_secs_f64() * 1e3,
        per_second(points, naive_time) / 1e6,
        naive_time.as_secs_f64() / polars_time.as_secs_f64()
    );

    if let (Some(before), Some(after)) = (before, after) {
        let peak_ratio = after.peak as f64 / input as f64;
        println!(
            "  memory: RSS before {:.1} MiB (input, keys, code); peak while analyzing {:.1} MiB = {peak_ratio:.2}× input{}; analysis working set ≤ {:.1} MiB = {:.2}× input",
            mib(before.current),
            mib(after.peak),
            if reset {
                ""
            } else {
                " (lifetime peak: VmHWM reset refused)"
            },
            mib(after.peak.saturating_sub(before.current)),
            after.peak.saturating_sub(before.current) as f64 / input as f64
        );
        println!(
            "  targets: ≥ {:.0} M points/s: {}; peak ≤ {TARGET_PEAK_OVER_INPUT}× input: {}",
            TARGET_POINTS_PER_S / 1e6,
            verdict(polars_rate >= TARGET_POINTS_PER_S),
            verdict(peak_ratio <= TARGET_PEAK_OVER_INPUT)
        );
    }
    Ok(())
}

fn verdict(ok: bool) -> &'static str {
    if ok { "met" } else { "MISSED" }
}
