//! The TOML document of the whole configuration (everything but secret values): its
//! records, parsing with the line of every record, and rendering.
//!
//! Records refer to each other by name, never by database id, so a file moves between
//! databases: an app by `platform:bundle id` (or its bare bundle id or its name), a
//! credential or channel by its name. Fields left out take the model's defaults, so
//! the file says what the configuration is, not how to change it.

use std::fmt::Write as _;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use storewatch_core::model::{Condition, Metric, Platform, Severity, Task};
use storewatch_core::{Error, Result};
use toml::Spanned;

use crate::settings::parse_toml;

/// The whole configuration as the file holds it.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Document {
    /// `[[apps]]`.
    pub(crate) apps: Vec<AppDoc>,
    /// `[[credentials]]`.
    pub(crate) credentials: Vec<CredentialDoc>,
    /// `[[channels]]`.
    pub(crate) channels: Vec<ChannelDoc>,
    /// `[[rules]]`.
    pub(crate) rules: Vec<RuleDoc>,
    /// `[[reports]]`.
    pub(crate) reports: Vec<ReportDoc>,
    /// `[[schedules]]`.
    pub(crate) schedules: Vec<ScheduleDoc>,
}

/// Where each record of a parsed document starts, for messages.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Lines {
    /// The file's name as given.
    pub(crate) file: String,
    text: String,
    apps: Vec<std::ops::Range<usize>>,
    credentials: Vec<std::ops::Range<usize>>,
    channels: Vec<std::ops::Range<usize>>,
    rules: Vec<std::ops::Range<usize>>,
    reports: Vec<std::ops::Range<usize>>,
    schedules: Vec<std::ops::Range<usize>>,
}

/// One section of the document: `apps`, `credentials`, … .
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Section {
    /// `[[apps]]`.
    Apps,
    /// `[[credentials]]`.
    Credentials,
    /// `[[channels]]`.
    Channels,
    /// `[[rules]]`.
    Rules,
    /// `[[reports]]`.
    Reports,
    /// `[[schedules]]`.
    Schedules,
}

impl Section {
    /// The section's key in the file.
    pub(crate) fn key(self) -> &'static str {
        match self {
            Section::Apps => "apps",
            Section::Credentials => "credentials",
            Section::Channels => "channels",
            Section::Rules => "rules",
            Section::Reports => "reports",
            Section::Schedules => "schedules",
        }
    }
}

impl Lines {
    fn spans(&self, section: Section) -> &[std::ops::Range<usize>] {
        match section {
            Section::Apps => &self.apps,
            Section::Credentials => &self.credentials,
            Section::Channels => &self.channels,
            Section::Rules => &self.rules,
            Section::Reports => &self.reports,
            Section::Schedules => &self.schedules,
        }
    }

    /// The line where `field` of record `index` of `section` is written, else the
    /// line where the record starts.
    pub(crate) fn line(
        &self,
        section: Section,
        index: usize,
        field: Option<&str>,
    ) -> Option<usize> {
        let span = self.spans(section).get(index)?.clone();
        let start = span.start.min(self.text.len());
        let line_of = |offset: usize| self.text[..offset].matches('\n').count() + 1;
        if let Some(field) = field {
            // The span covers the `[[section]]` header; the record's keys follow it
            // up to the next table header.
            let mut offset = start;
            for (i, line) in self.text[start..].split_inclusive('\n').enumerate() {
                let trimmed = line.trim_start();
                if i > 0 && trimmed.starts_with('[') {
                    break;
                }
                if let Some(rest) = trimmed.strip_prefix(field)
                    && rest.trim_start().starts_with('=')
                {
                    return Some(line_of(offset));
                }
                offset += line.len();
            }
        }
        Some(line_of(start))
    }

    /// An `InvalidInput` error about `field` of record `index` (named `name`) of
    /// `section`: `file, line N: rules[2] "Crash rate": <what>`.
    pub(crate) fn error(
        &self,
        section: Section,
        index: usize,
        name: &str,
        field: Option<&str>,
        what: impl std::fmt::Display,
    ) -> Error {
        let location = match self.line(section, index, field) {
            Some(line) => format!("{}, line {line}", self.file),
            None => self.file.clone(),
        };
        Error::new(
            storewatch_core::ErrorKind::InvalidInput,
            format!("{location}: {}[{index}] {name:?}: {what}", section.key()),
        )
    }
}

/// An app, identified by its platform and bundle id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AppDoc {
    /// Display name, unique among apps.
    pub(crate) name: String,
    /// `ios` or `android`.
    pub(crate) platform: Platform,
    /// Bundle id (iOS) or package name (Android).
    pub(crate) bundle_id: String,
    /// Apple's numeric app id; left out, the database's (resolved automatically) is kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) store_id: Option<String>,
    /// The credential's name; left out, the platform's only credential is used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) credential: Option<String>,
    /// Inactive apps are kept but not collected, analysed or reported.
    #[serde(default = "yes")]
    pub(crate) is_active: bool,
}

/// A credential, identified by its name; its secret is never in the file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CredentialDoc {
    /// Name, unique among credentials.
    pub(crate) name: String,
    /// `ios` or `android`.
    pub(crate) platform: Platform,
    /// The source kind, e.g. `app_store_connect`.
    pub(crate) kind: String,
}

/// A channel, identified by its name; its webhook URL or keys are never in the file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ChannelDoc {
    /// Name, unique among channels.
    pub(crate) name: String,
    /// The notifier kind, e.g. `lark_webhook`.
    pub(crate) kind: String,
    /// Inactive channels receive nothing.
    #[serde(default = "yes")]
    pub(crate) is_active: bool,
}

/// An alert rule, identified by its name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RuleDoc {
    /// Name, unique among rules.
    pub(crate) name: String,
    /// One app; left out, every app.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) app: Option<String>,
    /// The metric watched.
    pub(crate) metric: Metric,
    /// One segment; left out, the total only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) segment: Option<String>,
    /// What breaches, e.g. `{ type = "absolute", op = "above", value = 0.02 }`.
    pub(crate) condition: Condition,
    /// `info`, `warning` or `critical`.
    pub(crate) severity: Severity,
    /// Consecutive breached days before firing.
    #[serde(default = "one")]
    pub(crate) for_days: u32,
    /// No repeat of the same alert inside this time unless severity rises, e.g. `6h`.
    #[serde(with = "human_duration", default)]
    pub(crate) cooldown: Duration,
    /// Changes from a baseline below this are ignored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) min_baseline: Option<f64>,
    /// The channel's name.
    pub(crate) channel: String,
    /// `all` or Lark open_ids.
    #[serde(default)]
    pub(crate) mentions: Vec<String>,
    /// One "resolved" card when a firing alert clears.
    #[serde(default)]
    pub(crate) notify_resolved: bool,
    /// Inactive rules are not evaluated.
    #[serde(default = "yes")]
    pub(crate) is_active: bool,
}

/// A daily report, identified by its name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReportDoc {
    /// Name, unique among reports.
    pub(crate) name: String,
    /// One app; left out, the portfolio of every active app.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) app: Option<String>,
    /// The metrics shown, in order.
    pub(crate) metrics: Vec<Metric>,
    /// The channels' names.
    pub(crate) channels: Vec<String>,
    /// Inactive reports are not sent.
    #[serde(default = "yes")]
    pub(crate) is_active: bool,
}

/// How often a schedule fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Every {
    /// Every day.
    Daily,
    /// Every week on `weekday`.
    Weekly,
    /// Every month on `day`.
    Monthly,
}

/// A schedule, identified by its name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ScheduleDoc {
    /// Name, unique among schedules.
    pub(crate) name: String,
    /// `data-collection`, `full-analysis` or `alert-check`.
    pub(crate) task: Task,
    /// One app; left out, every active app.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) app: Option<String>,
    /// `daily`, `weekly` or `monthly`.
    pub(crate) every: Every,
    /// The day of the week of a weekly schedule, e.g. `monday`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) weekday: Option<String>,
    /// The day of the month (1–31) of a monthly schedule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) day: Option<u8>,
    /// The time of day, `HH:MM`, in `timezone`.
    pub(crate) at: String,
    /// IANA time zone, e.g. `Europe/Berlin`.
    pub(crate) timezone: String,
    /// Inactive schedules do not fire.
    #[serde(default = "yes")]
    pub(crate) is_active: bool,
    /// Run without sending any message.
    #[serde(default)]
    pub(crate) skip_notifications: bool,
    /// Retries after a failure.
    #[serde(default = "three")]
    pub(crate) max_retries: u32,
    /// A longer run is cancelled, e.g. `30m`.
    #[serde(with = "human_duration", default = "thirty_minutes")]
    pub(crate) timeout: Duration,
    /// A slot missed by more than this is skipped, e.g. `1h`.
    #[serde(with = "human_duration", default = "one_hour")]
    pub(crate) misfire_grace: Duration,
    /// The target day is today minus this many days (1 = yesterday).
    #[serde(default = "one")]
    pub(crate) target_offset_days: u32,
}

fn yes() -> bool {
    true
}
fn one() -> u32 {
    1
}
fn three() -> u32 {
    3
}
fn thirty_minutes() -> Duration {
    Duration::from_secs(30 * 60)
}
fn one_hour() -> Duration {
    Duration::from_secs(60 * 60)
}

/// Durations as people write them: `90s`, `30m`, `6h`, `1day`, `1h 30m`.
mod human_duration {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&humantime::format_duration(*d).to_string())
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let text = String::deserialize(d)?;
        let duration = humantime::parse_duration(&text).map_err(|e| {
            serde::de::Error::custom(format!(
                "invalid duration {text:?} ({e}): expected a duration like \"90s\", \"30m\", \"6h\" or \"1day\""
            ))
        })?;
        // Whole seconds are what the store keeps; a fraction would never compare equal.
        if duration.subsec_nanos() != 0 {
            return Err(serde::de::Error::custom(format!(
                "invalid duration {text:?}: expected whole seconds"
            )));
        }
        Ok(duration)
    }
}

/// The file's shape, for error messages.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // read for its errors only
struct PlainDocument {
    #[serde(default)]
    apps: Vec<AppDoc>,
    #[serde(default)]
    credentials: Vec<CredentialDoc>,
    #[serde(default)]
    channels: Vec<ChannelDoc>,
    #[serde(default)]
    rules: Vec<RuleDoc>,
    #[serde(default)]
    reports: Vec<ReportDoc>,
    #[serde(default)]
    schedules: Vec<ScheduleDoc>,
}

/// The file's shape for parsing: the records with where each one is written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDocument {
    #[serde(default)]
    apps: Vec<Spanned<AppDoc>>,
    #[serde(default)]
    credentials: Vec<Spanned<CredentialDoc>>,
    #[serde(default)]
    channels: Vec<Spanned<ChannelDoc>>,
    #[serde(default)]
    rules: Vec<Spanned<RuleDoc>>,
    #[serde(default)]
    reports: Vec<Spanned<ReportDoc>>,
    #[serde(default)]
    schedules: Vec<Spanned<ScheduleDoc>>,
}

fn split<T>(records: Vec<Spanned<T>>) -> (Vec<T>, Vec<std::ops::Range<usize>>) {
    records
        .into_iter()
        .map(|r| {
            let span = r.span();
            (r.into_inner(), span)
        })
        .unzip()
}

impl Document {
    /// Parses a configuration file. Syntax errors, unknown keys and wrong types name
    /// the key, the file and the line.
    pub(crate) fn parse(text: &str, file: &str) -> Result<(Document, Lines)> {
        // Parsed twice: once plainly, so errors name keys as the file writes them
        // (`rules[2].for_days`), then with the span of every record, for the lines of
        // later messages.
        let _: PlainDocument = parse_toml(text, file)?;
        let raw: RawDocument = parse_toml(text, file)?;
        let (apps, app_spans) = split(raw.apps);
        let (credentials, credential_spans) = split(raw.credentials);
        let (channels, channel_spans) = split(raw.channels);
        let (rules, rule_spans) = split(raw.rules);
        let (reports, report_spans) = split(raw.reports);
        let (schedules, schedule_spans) = split(raw.schedules);
        Ok((
            Document {
                apps,
                credentials,
                channels,
                rules,
                reports,
                schedules,
            },
            Lines {
                file: file.to_owned(),
                text: text.to_owned(),
                apps: app_spans,
                credentials: credential_spans,
                channels: channel_spans,
                rules: rule_spans,
                reports: report_spans,
                schedules: schedule_spans,
            },
        ))
    }

    /// The document as TOML: one `[[section]]` table per record, every field written
    /// (defaults too) in a fixed order, so the same configuration is the same text.
    pub(crate) fn render(&self) -> Result<String> {
        let mut out = String::from(
            "# storewatch configuration: everything but secret values.\n\
             # Apply with `storewatch config apply FILE` (`--dry-run` shows the changes only).\n\
             # Credentials and channels hold secrets, so they are added with\n\
             # `storewatch credentials add` / `storewatch channels add`; here they are named only.\n",
        );
        render_section(&mut out, Section::Apps, &self.apps)?;
        render_section(&mut out, Section::Credentials, &self.credentials)?;
        render_section(&mut out, Section::Channels, &self.channels)?;
        render_section(&mut out, Section::Rules, &self.rules)?;
        render_section(&mut out, Section::Reports, &self.reports)?;
        render_section(&mut out, Section::Schedules, &self.schedules)?;
        Ok(out)
    }
}

/// A record as an ordered TOML table (field order of the struct).
pub(crate) fn table<T: Serialize>(record: &T) -> Result<toml::Table> {
    toml::Table::try_from(record)
        .map_err(|e| Error::internal("rendering a configuration record failed").with_source(e))
}

fn render_section<T: Serialize>(out: &mut String, section: Section, records: &[T]) -> Result<()> {
    for record in records {
        let _ = write!(out, "\n[[{}]]\n", section.key());
        for (key, value) in table(record)? {
            let _ = writeln!(out, "{key} = {value}");
        }
    }
    Ok(())
}

/// A value for people: strings bare (quoted when empty or padded), the rest as TOML.
pub(crate) fn show(value: Option<&toml::Value>) -> String {
    match value {
        None => "(none)".to_owned(),
        Some(toml::Value::String(s)) if !s.is_empty() && s.trim() == s => s.clone(),
        Some(other) => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use storewatch_core::model::{AbsOp, Direction, Window};

    use super::*;

    fn sample() -> Document {
        Document {
            apps: vec![AppDoc {
                name: "Trail \"Maps\"".into(),
                platform: Platform::Ios,
                bundle_id: "com.example.trails".into(),
                store_id: Some("123".into()),
                credential: Some("ASC".into()),
                is_active: true,
            }],
            credentials: vec![CredentialDoc {
                name: "ASC".into(),
                platform: Platform::Ios,
                kind: "app_store_connect".into(),
            }],
            channels: vec![ChannelDoc {
                name: "Bot".into(),
                kind: "lark_webhook".into(),
                is_active: false,
            }],
            rules: vec![RuleDoc {
                name: "Drop".into(),
                app: Some("ios:com.example.trails".into()),
                metric: Metric::DOWNLOADS,
                segment: None,
                condition: Condition::PctChange {
                    window: Window::Wow,
                    direction: Direction::Down,
                    threshold_pct: 40.0,
                },
                severity: Severity::Critical,
                for_days: 2,
                cooldown: Duration::from_secs(6 * 3600),
                min_baseline: Some(100.0),
                channel: "Bot".into(),
                mentions: vec!["all".into()],
                notify_resolved: true,
                is_active: true,
            }],
            reports: vec![ReportDoc {
                name: "Daily".into(),
                app: None,
                metrics: vec![Metric::DOWNLOADS, Metric::CRASH_RATE],
                channels: vec!["Bot".into()],
                is_active: true,
            }],
            schedules: vec![ScheduleDoc {
                name: "Nightly".into(),
                task: Task::FullAnalysis,
                app: None,
                every: Every::Weekly,
                weekday: Some("monday".into()),
                day: None,
                at: "02:30".into(),
                timezone: "Europe/Berlin".into(),
                is_active: true,
                skip_notifications: false,
                max_retries: 3,
                timeout: Duration::from_secs(1800),
                misfire_grace: Duration::from_secs(5400),
                target_offset_days: 1,
            }],
        }
    }

    #[test]
    fn rendered_text_parses_back_to_the_same_document() {
        let doc = sample();
        let text = doc.render().unwrap();
        assert!(
            text.contains("condition = { type = \"pct_change\", window = \"wow\", direction = \"down\", threshold_pct = 40.0 }"),
            "{text}"
        );
        assert!(text.contains("cooldown = \"6h\""), "{text}");
        assert!(text.contains("misfire_grace = \"1h 30m\""), "{text}");
        let (back, lines) = Document::parse(&text, "x.toml").unwrap();
        assert_eq!(back, doc);
        assert_eq!(back.render().unwrap(), text);
        let schedule_line = text.lines().position(|l| l.starts_with("at = ")).unwrap() + 1;
        assert_eq!(
            lines.line(Section::Schedules, 0, Some("at")),
            Some(schedule_line)
        );
    }

    #[test]
    fn left_out_fields_take_the_defaults() {
        let text = r#"
[[rules]]
name = "Crash rate"
metric = "crash_rate"
condition = { type = "absolute", op = "above", value = 0.02 }
severity = "warning"
channel = "Bot"

[[schedules]]
name = "Nightly"
task = "alert-check"
every = "daily"
at = "02:00"
timezone = "UTC"
"#;
        let (doc, lines) = Document::parse(text, "c.toml").unwrap();
        let rule = &doc.rules[0];
        assert_eq!(
            rule.condition,
            Condition::Absolute {
                op: AbsOp::Above,
                value: 0.02
            }
        );
        assert_eq!(rule.for_days, 1);
        assert_eq!(rule.cooldown, Duration::ZERO);
        assert!(rule.is_active && !rule.notify_resolved && rule.mentions.is_empty());
        let s = &doc.schedules[0];
        assert_eq!(
            (
                s.max_retries,
                s.timeout,
                s.misfire_grace,
                s.target_offset_days
            ),
            (3, Duration::from_secs(1800), Duration::from_secs(3600), 1)
        );
        assert_eq!(lines.line(Section::Rules, 0, None), Some(2));
        assert_eq!(lines.line(Section::Schedules, 0, Some("at")), Some(13));
        let err = lines.error(Section::Schedules, 0, "Nightly", Some("at"), "bad");
        assert_eq!(
            err.message(),
            "c.toml, line 13: schedules[0] \"Nightly\": bad"
        );
    }

    #[test]
    fn unknown_keys_and_wrong_types_name_key_and_line() {
        let err = Document::parse("[[apps]]\nname = \"A\"\nplatfrom = \"ios\"\n", "c.toml")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("c.toml, line 3") && err.contains("platfrom"),
            "{err}"
        );
        let err = Document::parse(
            "[[rules]]\nname = \"R\"\nmetric = \"downloads\"\nseverity = \"warning\"\nchannel = \"B\"\nfor_days = \"two\"\ncondition = { type = \"absolute\", op = \"above\", value = 1 }\n",
            "c.toml",
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("c.toml, line 6") && err.contains("for_days"),
            "{err}"
        );
        let err = Document::parse(
            "[[rules]]\nname = \"R\"\nmetric = \"downloads\"\nseverity = \"warning\"\nchannel = \"B\"\ncondition = { type = \"pct_change\", window = \"weekly\", direction = \"down\", threshold_pct = 1 }\n",
            "c.toml",
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("c.toml, line 6") && err.contains("condition") && err.contains("weekly"),
            "{err}"
        );
        let err = Document::parse(
            "[[schedules]]\nname = \"S\"\ntask = \"alert-check\"\nevery = \"daily\"\nat = \"02:00\"\ntimezone = \"UTC\"\ntimeout = \"soon\"\n",
            "c.toml",
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("c.toml, line 7") && err.contains("timeout") && err.contains("soon"),
            "{err}"
        );
    }
}
