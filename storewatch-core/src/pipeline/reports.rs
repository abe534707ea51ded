//! The daily reports of FullAnalysis: per app each configured metric with its value,
//! DoD/WoW/YoY changes and a 28-day sparkline, plus portfolio totals per platform.

use std::collections::{BTreeMap, HashMap};

use chrono::{Days, NaiveDate};

use super::deliver::Message;
use super::{AlertCheckOutput, Pipeline, RunState};
use crate::Result;
use crate::analysis::MetricHistory;
use crate::model::{App, AppId, Execution, Metric, Platform, ReportConfig};
use crate::notify::{AppReport, DailyReport, MetricLine, PlatformTotal};

impl Pipeline {
    pub(crate) async fn send_reports(
        &self,
        execution: &Execution,
        apps: &[App],
        output: &AlertCheckOutput,
        st: &mut RunState,
    ) -> Result<()> {
        let reports: Vec<ReportConfig> = self
            .inner
            .store
            .list_reports()
            .await?
            .into_iter()
            .filter(|r| r.is_active && r.app_id.is_none_or(|id| apps.iter().any(|a| a.id == id)))
            .collect();
        if execution.skip_notifications {
            if !reports.is_empty() {
                st.out
                    .line(format!("{} reports, notifications skipped", reports.len()));
            }
            return Ok(());
        }
        let mut notifiers = super::deliver::Notifiers::new();
        for report in &reports {
            let report_apps: Vec<&App> = apps
                .iter()
                .filter(|a| report.app_id.is_none_or(|id| id == a.id))
                .collect();
            let daily = build_daily_report(
                &report.name,
                output.analysis.day,
                &report_apps,
                &report.metrics,
                &output.history,
            );
            let key = format!("report:{}:{}", report.id, output.analysis.day);
            for channel in &report.channels {
                self.deliver(
                    execution,
                    *channel,
                    &key,
                    Message::Report(&daily),
                    &mut notifiers,
                    st,
                )
                .await;
            }
        }
        Ok(())
    }
}

/// `(cur − prev) / prev × 100`, null when either is missing or `prev` is 0 (DESIGN §5).
pub fn pct_change(cur: Option<f64>, prev: Option<f64>) -> Option<f64> {
    match (cur, prev) {
        (Some(c), Some(p)) if p != 0.0 => Some((c - p) / p * 100.0),
        _ => None,
    }
}

/// Builds a daily report for `day` from the totals (segment `""`) in `history`, which
/// must hold at least D−364 and D−27…D.
pub fn build_daily_report(
    title: &str,
    day: NaiveDate,
    apps: &[&App],
    metrics: &[Metric],
    history: &MetricHistory,
) -> DailyReport {
    let mut values: HashMap<(AppId, &Metric, NaiveDate), f64> = HashMap::new();
    for series in history.series.iter().filter(|s| s.key.segment.is_empty()) {
        for &(d, v) in &series.points {
            values.insert((series.key.app_id, &series.key.metric, d), v);
        }
    }
    let back = |n: u64| day.checked_sub_days(Days::new(n));
    let get = |app: AppId, metric: &Metric, d: Option<NaiveDate>| {
        d.and_then(|d| values.get(&(app, metric, d)).copied())
    };
    let mut app_reports = Vec::with_capacity(apps.len());
    let mut totals: BTreeMap<(Platform, &Metric), [Option<f64>; 4]> = BTreeMap::new();
    for app in apps {
        let mut lines = Vec::with_capacity(metrics.len());
        for metric in metrics {
            let at = |n: u64| get(app.id, metric, back(n));
            let (v, d1, d7, d364) = (at(0), at(1), at(7), at(364));
            let sums = totals.entry((app.platform, metric)).or_insert([None; 4]);
            for (sum, x) in sums.iter_mut().zip([v, d1, d7, d364]) {
                if let Some(x) = x {
                    *sum = Some(sum.unwrap_or(0.0) + x);
                }
            }
            lines.push(MetricLine {
                metric: metric.clone(),
                value: v,
                dod_pct: pct_change(v, d1),
                wow_pct: pct_change(v, d7),
                yoy_pct: pct_change(v, d364),
                last_28d: (0..28).rev().map(at).collect(),
            });
        }
        app_reports.push(AppReport {
            app_name: app.name.clone(),
            platform: app.platform,
            bundle_id: app.bundle_id.clone(),
            metrics: lines,
        });
    }
    let totals = totals
        .into_iter()
        .filter_map(|((platform, metric), [v, d1, d7, d364])| {
            Some(PlatformTotal {
                platform,
                metric: metric.clone(),
                value: v?,
                dod_pct: pct_change(v, d1),
                wow_pct: pct_change(v, d7),
                yoy_pct: pct_change(v, d364),
            })
        })
        .collect();
    let notes = apps
        .iter()
        .filter(|a| metrics.iter().all(|m| get(a.id, m, Some(day)).is_none()))
        .map(|a| format!("{} ({}): no data for {day} yet", a.name, a.platform))
        .collect();
    DailyReport {
        title: title.to_owned(),
        day,
        apps: app_reports,
        totals,
        notes,
    }
}
