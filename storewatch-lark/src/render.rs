//! Rendering: the daily report as `post` rich-text messages split under the body
//! limit, an alert as an interactive card (schema 1.0, the widest client support), and
//! the numbers as people read them.

use serde_json::{Value, json};
use storewatch_core::alert::AlertEventKind;
use storewatch_core::model::{Mention, Metric, Severity};
use storewatch_core::notify::{AlertNotification, AppReport, DailyReport, MetricLine};

/// Bytes kept free for the signing fields and the part counter in titles.
const OVERHEAD: usize = 256;

/// A value as people read it: rates as percentages, counts with thousands separators.
pub fn format_value(metric: &Metric, v: f64) -> String {
    if metric.as_str().ends_with("_rate") {
        return format!("{:.2}%", v * 100.0);
    }
    if v.fract() == 0.0 && v.abs() < 1e15 {
        let digits = format!("{:.0}", v.abs());
        let mut out = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i) % 3 == 0 {
                out.push(',');
            }
            out.push(c);
        }
        return if v < 0.0 { format!("-{out}") } else { out };
    }
    format!("{v:.2}")
}

/// A change as an arrow and a percentage, `–` when undefined.
pub fn format_change(pct: Option<f64>) -> String {
    match pct {
        Some(p) if p > 0.0 => format!("▲{p:.1}%"),
        Some(p) if p < 0.0 => format!("▼{:.1}%", -p),
        Some(_) => "■0.0%".to_owned(),
        None => "–".to_owned(),
    }
}

/// A sparkline of the values, a blank for each missing day.
pub fn sparkline(values: &[Option<f64>]) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let present: Vec<f64> = values.iter().flatten().copied().collect();
    let (lo, hi) = present
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| {
            (l.min(*v), h.max(*v))
        });
    values
        .iter()
        .map(|v| match v {
            Some(v) if hi > lo => BARS[(((v - lo) / (hi - lo)) * 7.0).round() as usize],
            Some(_) => BARS[3],
            None => ' ',
        })
        .collect()
}

fn text(t: impl Into<String>) -> Value {
    json!({"tag": "text", "text": t.into()})
}

fn metric_line(line: &MetricLine) -> Vec<Value> {
    let value = line
        .value
        .map_or_else(|| "no data".to_owned(), |v| format_value(&line.metric, v));
    vec![text(format!(
        "  {}: {value}   DoD {}   WoW {}   YoY {}   {}",
        line.metric,
        format_change(line.dod_pct),
        format_change(line.wow_pct),
        format_change(line.yoy_pct),
        sparkline(&line.last_28d),
    ))]
}

fn app_block(app: &AppReport) -> Vec<Vec<Value>> {
    let mut block = vec![vec![text(format!(
        "{} ({}, {})",
        app.app_name, app.platform, app.bundle_id
    ))]];
    block.extend(app.metrics.iter().map(metric_line));
    block
}

fn totals_block(report: &DailyReport) -> Vec<Vec<Value>> {
    if report.totals.is_empty() {
        return Vec::new();
    }
    let mut block = vec![vec![text("Portfolio totals")]];
    for t in &report.totals {
        block.push(vec![text(format!(
            "  {} {}: {}   DoD {}   WoW {}   YoY {}",
            t.platform,
            t.metric,
            format_value(&t.metric, t.value),
            format_change(t.dod_pct),
            format_change(t.wow_pct),
            format_change(t.yoy_pct),
        ))]);
    }
    block
}

fn post(title: &str, paragraphs: &[Vec<Value>]) -> Value {
    json!({"msg_type": "post", "content": {"post": {"en_us": {"title": title, "content": paragraphs}}}})
}

fn size(v: &Value) -> usize {
    serde_json::to_vec(v).map(|b| b.len()).unwrap_or(usize::MAX)
}

/// The title with the keyword a bot may require.
fn titled(title: String, keyword: Option<&str>) -> String {
    match keyword {
        Some(k) if !title.contains(k) => format!("{k} {title}"),
        _ => title,
    }
}

/// The daily report as one or more `post` bodies, in order, each at most `max_bytes`
/// once signed. Apps are never split across messages unless one alone is too large,
/// in which case its last lines are dropped and counted.
pub fn report_posts(report: &DailyReport, max_bytes: usize, keyword: Option<&str>) -> Vec<Value> {
    let budget = max_bytes.saturating_sub(OVERHEAD);
    let base_title = titled(format!("{} — {}", report.title, report.day), keyword);
    let mut blocks = vec![totals_block(report)];
    blocks.extend(report.apps.iter().map(app_block));
    if !report.notes.is_empty() {
        blocks.push(
            report
                .notes
                .iter()
                .map(|n| vec![text(format!("Note: {n}"))])
                .collect(),
        );
    }
    let mut pages: Vec<Vec<Vec<Value>>> = Vec::new();
    let mut current: Vec<Vec<Value>> = Vec::new();
    for block in blocks.into_iter().filter(|b| !b.is_empty()) {
        let block = fit(&base_title, block, budget);
        let mut candidate = current.clone();
        candidate.extend(block.iter().cloned());
        if current.is_empty() || size(&post(&base_title, &candidate)) <= budget {
            current = candidate;
        } else {
            pages.push(std::mem::replace(&mut current, block));
        }
    }
    if !current.is_empty() || pages.is_empty() {
        pages.push(current);
    }
    let n = pages.len();
    pages
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let title = if n > 1 {
                format!("{base_title} ({}/{n})", i + 1)
            } else {
                base_title.clone()
            };
            post(&title, p)
        })
        .collect()
}

/// The block as it is when it fits alone, else its first lines and a count of the rest.
fn fit(title: &str, block: Vec<Vec<Value>>, budget: usize) -> Vec<Vec<Value>> {
    if size(&post(title, &block)) <= budget {
        return block;
    }
    let total = block.len();
    let mut kept: Vec<Vec<Value>> = Vec::new();
    for para in block {
        kept.push(para);
        let marker = vec![text(format!(
            "  … {} more lines not shown",
            total - kept.len() + 1
        ))];
        let mut with_marker = kept.clone();
        with_marker.push(marker);
        if size(&post(title, &with_marker)) > budget {
            kept.pop();
            let dropped = total - kept.len();
            kept.push(vec![text(format!("  … {dropped} more lines not shown"))]);
            break;
        }
    }
    kept
}

/// Escapes text for `lark_md` so names cannot turn into markup.
fn md(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '*' | '_' | '~' | '`' | '[' | ']' | '<' | '>') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn field(label: &str, value: &str) -> Value {
    json!({"is_short": true, "text": {"tag": "lark_md", "content": format!("**{label}**\n{value}")}})
}

/// The header colour: red for critical, orange for warning, blue for info, green for resolved.
pub fn header_template(alert: &AlertNotification) -> &'static str {
    match (alert.kind, alert.severity) {
        (AlertEventKind::Resolved, _) => "green",
        (_, Severity::Critical) => "red",
        (_, Severity::Warning) => "orange",
        (_, Severity::Info) => "blue",
    }
}

/// The alert as an interactive card body.
pub fn alert_card(alert: &AlertNotification, keyword: Option<&str>) -> Value {
    let state = match alert.kind {
        AlertEventKind::Firing => format!("[{}]", alert.severity.to_string().to_uppercase()),
        AlertEventKind::Resolved => "[RESOLVED]".to_owned(),
    };
    let metric = if alert.segment.is_empty() {
        alert.metric.to_string()
    } else {
        format!("{} [{}]", alert.metric, alert.segment)
    };
    let title = titled(
        format!("{state} {} {metric} {}", alert.app_name, alert.rule_text),
        keyword,
    );
    let mut elements = vec![
        json!({"tag": "div", "text": {"tag": "lark_md", "content": format!(
            "**{}** {} — rule **{}**: {metric} {}",
            md(&alert.app_name),
            if alert.kind == AlertEventKind::Resolved { "has recovered" } else { "needs attention" },
            md(&alert.rule_name),
            md(&alert.rule_text),
        )}}),
        json!({"tag": "div", "fields": [
            field("App", &md(&format!("{} ({})", alert.app_name, alert.bundle_id))),
            field("Store", alert.platform.as_str()),
            field("Metric", &md(&metric)),
            field("Day", &alert.day.to_string()),
            field("Value", &format_value(&alert.metric, alert.value)),
            field("Baseline", &alert.baseline.map_or_else(|| "–".to_owned(), |b| format_value(&alert.metric, b))),
            field("Change", &format_change(alert.change_pct)),
            field("Severity", &alert.severity.to_string()),
        ]}),
    ];
    if !alert.mentions.is_empty() {
        let ats: Vec<String> = alert
            .mentions
            .iter()
            .map(|m| match m {
                Mention::All => "<at id=all></at>".to_owned(),
                Mention::User(id) => format!("<at id={id}></at>"),
            })
            .collect();
        elements.push(json!({"tag": "hr"}));
        elements
            .push(json!({"tag": "markdown", "content": format!("{} please check", ats.join(" "))}));
    }
    if let Some(link) = &alert.link {
        let kind = if alert.kind == AlertEventKind::Resolved {
            "default"
        } else {
            "danger"
        };
        elements.push(json!({"tag": "action", "actions": [{
            "tag": "button", "type": kind,
            "text": {"tag": "plain_text", "content": "Open in storewatch"},
            "url": link,
        }]}));
    }
    elements.push(json!({"tag": "note", "elements": [{"tag": "plain_text", "content": "sent by storewatch"}]}));
    json!({"msg_type": "interactive", "card": {
        "config": {"wide_screen_mode": true, "enable_forward": true},
        "header": {"template": header_template(alert), "title": {"tag": "plain_text", "content": title}},
        "elements": elements,
    }})
}

#[cfg(test)]
mod tests {
    use super::*;
    use storewatch_core::testkit::notifier::{sample_alert, sample_report};

    #[test]
    fn numbers_read_well() {
        assert_eq!(format_value(&Metric::DOWNLOADS, 1234567.0), "1,234,567");
        assert_eq!(format_value(&Metric::DOWNLOADS, -1000.0), "-1,000");
        assert_eq!(format_value(&Metric::CRASH_RATE, 0.0213), "2.13%");
        assert_eq!(format_value(&Metric::PROCEEDS, 12.5), "12.50");
        assert_eq!(format_change(Some(12.345)), "▲12.3%");
        assert_eq!(format_change(Some(-3.0)), "▼3.0%");
        assert_eq!(format_change(None), "–");
        assert_eq!(sparkline(&[Some(0.0), None, Some(7.0)]), "▁ █");
    }

    #[test]
    fn long_reports_split_in_order_under_the_limit() {
        let report = sample_report(60);
        let posts = report_posts(&report, 20 * 1024, None);
        assert!(posts.len() > 1);
        let all: Vec<String> = posts.iter().map(|p| p.to_string()).collect();
        for p in &all {
            assert!(p.len() + OVERHEAD <= 20 * 1024, "{}", p.len());
        }
        let joined = all.join("");
        let mut last = 0;
        for i in 0..60 {
            let at = joined
                .find(&format!("App {i} ("))
                .unwrap_or_else(|| panic!("App {i} lost"));
            assert!(at >= last, "App {i} out of order");
            last = at;
        }
        assert!(
            all[0].contains("(1/")
                && all
                    .last()
                    .unwrap()
                    .contains(&format!("({}/{})", posts.len(), posts.len()))
        );
    }

    #[test]
    fn cards_stand_out_by_severity_and_state() {
        let firing = sample_alert(AlertEventKind::Firing);
        assert_eq!(
            alert_card(&firing, None)["card"]["header"]["template"],
            "red"
        );
        let mut warning = firing.clone();
        warning.severity = Severity::Warning;
        assert_eq!(
            alert_card(&warning, None)["card"]["header"]["template"],
            "orange"
        );
        let resolved = sample_alert(AlertEventKind::Resolved);
        assert_eq!(
            alert_card(&resolved, None)["card"]["header"]["template"],
            "green"
        );
        let mut mentioned = firing;
        mentioned.mentions = vec![Mention::All, Mention::User("ou_abc".into())];
        let card = alert_card(&mentioned, Some("storewatch")).to_string();
        assert!(
            card.contains("<at id=all></at>") && card.contains("<at id=ou_abc></at>"),
            "{card}"
        );
        assert!(card.contains("storewatch [CRITICAL]"), "{card}");
        assert!(card.contains("Open in storewatch"));
    }
}
