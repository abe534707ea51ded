//! The demo's printout, section by section, as plain text: the analysis table, the
//! alerts, what Lark received and the execution record. Pure functions of what the run
//! left behind, so they are tested without running anything.

use std::fmt::Write as _;

use serde_json::Value;
use storewatch_core::alert::AlertEvent;
use storewatch_core::analysis::Analysis;
use storewatch_core::model::{AlertRule, App, AppId, DeliveryRecord, DeliveryStatus, Execution};
use storewatch_lark::fake::ReceivedMessage;
use storewatch_lark::render::{format_change, format_value};

/// Left-aligned columns, two spaces apart, every line indented by two.
fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let header: Vec<String> = header.iter().map(|h| (*h).to_owned()).collect();
    for row in std::iter::once(&header).chain(rows) {
        let mut line = String::from(" ");
        for (w, cell) in widths.iter().zip(row) {
            let pad = w.saturating_sub(cell.chars().count());
            let _ = write!(line, " {cell}{}", " ".repeat(pad + 1));
        }
        let _ = writeln!(out, "{}", line.trim_end());
    }
    out
}

/// How an app is named in the printout: its name and `platform:bundle id`.
fn app_label(apps: &[App], id: AppId) -> String {
    apps.iter().find(|a| a.id == id).map_or_else(
        || format!("app {id}"),
        |a| format!("{} ({}:{})", a.name, a.platform, a.bundle_id),
    )
}

fn number(v: Option<f64>, metric: &storewatch_core::model::Metric) -> String {
    v.map_or_else(|| "–".to_owned(), |v| format_value(metric, round(v)))
}

/// Averages and medians read better without a tail of decimals (rates keep theirs).
fn round(v: f64) -> f64 {
    if v.abs() >= 100.0 { v.round() } else { v }
}

/// One line per app and metric (segment) of the analysed day, in the apps' order.
pub(super) fn analysis_table(analysis: &Analysis, apps: &[App]) -> String {
    let mut summaries: Vec<_> = analysis.summaries.iter().collect();
    let order = |id: AppId| apps.iter().position(|a| a.id == id).unwrap_or(usize::MAX);
    summaries.sort_by(|a, b| {
        (order(a.key.app_id), a.key.metric.as_str(), &a.key.segment).cmp(&(
            order(b.key.app_id),
            b.key.metric.as_str(),
            &b.key.segment,
        ))
    });
    let rows: Vec<Vec<String>> = summaries
        .iter()
        .map(|s| {
            let metric = &s.key.metric;
            let name = apps
                .iter()
                .find(|a| a.id == s.key.app_id)
                .map_or_else(|| s.key.bundle_id.to_string(), |a| a.name.clone());
            let series = if s.key.segment.is_empty() {
                metric.to_string()
            } else {
                format!("{metric} [{}]", s.key.segment)
            };
            vec![
                name,
                series,
                number(Some(s.value), metric),
                format_change(s.dod_pct),
                format_change(s.wow_pct),
                number(Some(s.avg_7d), metric),
                number(s.seasonal_median, metric),
                s.seasonal_z
                    .map_or_else(|| "–".to_owned(), |z| format!("{z:+.1}")),
            ]
        })
        .collect();
    table(
        &[
            "app",
            "metric",
            "value",
            "DoD",
            "WoW",
            "7-day avg",
            "weekday median",
            "z",
        ],
        &rows,
    )
}

/// One line per alert that fired: severity, app, metric, rule, value against baseline.
pub(super) fn alerts(events: &[AlertEvent], rules: &[AlertRule], apps: &[App]) -> String {
    if events.is_empty() {
        return "  none\n".to_owned();
    }
    let mut out = String::new();
    for e in events {
        let metric = &e.fingerprint.metric;
        let rule = rules.iter().find(|r| r.id == e.fingerprint.rule_id);
        let _ = writeln!(
            out,
            "  FIRING {} {} {}: {} vs baseline {} ({})\n      rule \"{}\": {} {}",
            e.severity.to_string().to_uppercase(),
            app_label(apps, e.fingerprint.app_id),
            metric,
            number(Some(e.value), metric),
            number(e.baseline, metric),
            format_change(e.change_pct),
            rule.map_or("?", |r| r.name.as_str()),
            metric,
            rule.map_or_else(String::new, |r| r.condition.to_string()),
        );
    }
    out
}

/// The text of a rich-text element list, one paragraph per line.
fn paragraphs(content: &Value) -> Vec<String> {
    content
        .as_array()
        .map(|paras| {
            paras
                .iter()
                .map(|p| {
                    p.as_array()
                        .map(|els| {
                            els.iter()
                                .filter_map(|e| e["text"].as_str())
                                .collect::<String>()
                        })
                        .unwrap_or_default()
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Who a message mentions: `@all` or the open ids of `<at id=…>` tags.
fn mentions(body: &Value) -> Vec<String> {
    let text = body.to_string();
    text.split("<at id=")
        .skip(1)
        .filter_map(|rest| rest.split('>').next())
        .map(|id| {
            if id == "all" {
                "@all".to_owned()
            } else {
                format!("@{id}")
            }
        })
        .collect()
}

/// Every message the bot accepted (reports in full, cards by title, colour and
/// mentions) and the spreadsheet rows appended.
pub(super) fn lark(received: &[ReceivedMessage], sheet: &str, rows: &[Vec<Value>]) -> String {
    let mut out = String::new();
    for m in received {
        match m.msg_type() {
            "post" => {
                let Some(post) = m.body["content"]["post"]
                    .as_object()
                    .and_then(|locales| locales.values().next())
                else {
                    continue;
                };
                let _ = writeln!(
                    out,
                    "  report (post): {}",
                    post["title"].as_str().unwrap_or_default()
                );
                for line in paragraphs(&post["content"]) {
                    let _ = writeln!(out, "    {line}");
                }
            }
            "interactive" => {
                let card = &m.body["card"];
                let who = mentions(&m.body);
                let _ = writeln!(
                    out,
                    "  card [{}]: {}{}",
                    card["header"]["template"].as_str().unwrap_or("default"),
                    card["header"]["title"]["content"]
                        .as_str()
                        .unwrap_or_default(),
                    if who.is_empty() {
                        String::new()
                    } else {
                        format!("  (mentions {})", who.join(" "))
                    }
                );
            }
            other => {
                let _ = writeln!(out, "  {other}: {}", m.text());
            }
        }
    }
    let _ = writeln!(out, "  sheet rows appended to {sheet}: {}", rows.len());
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|row| {
            row.iter()
                .map(|c| match c {
                    Value::String(s) => s.clone(),
                    Value::Number(n) => n
                        .as_f64()
                        .map_or_else(|| n.to_string(), |v| format!("{}", round_cell(v))),
                    other => other.to_string(),
                })
                .collect()
        })
        .collect();
    if !cells.is_empty() {
        let table = table(
            &[
                "day",
                "store",
                "bundle id",
                "app",
                "metric",
                "value",
                "DoD %",
                "WoW %",
                "YoY %",
                "note",
            ],
            &cells,
        );
        for line in table.lines() {
            let _ = writeln!(out, "  {line}");
        }
    }
    out
}

/// A sheet cell as written, but percentages cut to two decimals for reading.
fn round_cell(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

/// The execution's record: status and counts, its log, and its deliveries.
pub(super) fn execution(run: &Execution, deliveries: &[DeliveryRecord]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "  #{} {} {} for {}: {} in {:.1?} — {} apps ok, {} errors, {} alerts, {} messages sent",
        run.id,
        run.trigger,
        run.task,
        run.target_date,
        run.status,
        run.duration.unwrap_or_default(),
        run.success_count,
        run.error_count,
        run.alerts_generated,
        run.notifications_sent,
    );
    for line in run.output_log.lines() {
        let _ = writeln!(out, "    log: {line}");
    }
    for line in run.error_log.lines() {
        let _ = writeln!(out, "    error: {line}");
    }
    if !deliveries.is_empty() {
        let count =
            |status: DeliveryStatus| deliveries.iter().filter(|d| d.status == status).count();
        let _ = writeln!(
            out,
            "    deliveries recorded: {} ({} sent, {} failed, {} pending)",
            deliveries.len(),
            count(DeliveryStatus::Sent),
            count(DeliveryStatus::Failed),
            count(DeliveryStatus::Pending),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use serde_json::json;

    #[test]
    fn tables_align_on_the_widest_cell() {
        let t = table(
            &["a", "bb"],
            &[
                vec!["xxx".into(), "y".into()],
                vec!["z".into(), "▲1.0%".into()],
            ],
        );
        assert_eq!(t, "  a    bb\n  xxx  y\n  z    ▲1.0%\n");
    }

    #[test]
    fn cards_show_title_colour_and_mentions_reports_their_lines() {
        let card = ReceivedMessage {
            token: "t".into(),
            body: json!({"msg_type": "interactive", "card": {
                "header": {"template": "red", "title": {"tag": "plain_text", "content": "[CRITICAL] X downloads"}},
                "elements": [{"tag": "markdown", "content": "<at id=all></at> <at id=ou_abc></at> please check"}],
            }}),
        };
        let post = ReceivedMessage {
            token: "t".into(),
            body: json!({"msg_type": "post", "content": {"post": {"en_us": {
                "title": "Daily — 2026-03-01",
                "content": [[{"tag": "text", "text": "App A"}], [{"tag": "text", "text": "  downloads: 5"}]],
            }}}}),
        };
        let rows = vec![vec![json!("2026-03-01"), json!(12.3456), json!("")]];
        let text = lark(&[post, card], "Sheet", &rows);
        assert!(
            text.contains("  report (post): Daily — 2026-03-01\n    App A\n      downloads: 5\n"),
            "{text}"
        );
        assert!(
            text.contains("  card [red]: [CRITICAL] X downloads  (mentions @all @ou_abc)"),
            "{text}"
        );
        assert!(text.contains("sheet rows appended to Sheet: 1"), "{text}");
        assert!(text.contains("12.35"), "{text}");
    }
}
