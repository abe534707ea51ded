//! The file's records checked and turned into model specs: names resolved to ids
//! against the configuration the apply would leave (the file's records, plus the
//! database's others unless they are pruned), every field validated before anything
//! is written.
//!
//! Apps the file adds have no id yet: they get a negative placeholder id, which the
//! apply replaces with the created app's id.

use std::collections::HashMap;
use std::fmt::Display;

use chrono::Weekday;
use storewatch_core::model::{
    AlertRule, AlertRuleSpec, App, AppId, AppSpec, BundleId, Channel, ChannelId, ChannelSpec,
    Credential, CredentialId, Frequency, Mention, Platform, ReportConfig, ReportSpec, Schedule,
    ScheduleSpec, Spec, parse_timezone,
};
use storewatch_core::{Error, Result};

use super::current::{Current, Names, app_ref};
use super::document::{
    AppDoc, ChannelDoc, CredentialDoc, Document, Every, Lines, ReportDoc, RuleDoc, ScheduleDoc,
    Section,
};

/// A file record and the database record it matches, if any.
#[derive(Debug, Clone)]
pub(crate) struct Matched<R, S> {
    /// The database's record of the same identity.
    pub(crate) existing: Option<R>,
    /// What the file says it should be.
    pub(crate) spec: S,
}

/// The file's configuration as specs.
#[derive(Debug, Clone)]
pub(crate) struct Desired {
    /// Apps, each with its id: the database's, or a negative placeholder when new.
    pub(crate) apps: Vec<(AppId, Matched<App, AppSpec>)>,
    /// Credentials: all exist (the file cannot carry their secrets).
    pub(crate) credentials: Vec<Credential>,
    /// Channels: all exist; the file may change what is not secret.
    pub(crate) channels: Vec<Matched<Channel, ChannelSpec>>,
    /// Alert rules.
    pub(crate) rules: Vec<Matched<AlertRule, AlertRuleSpec>>,
    /// Reports.
    pub(crate) reports: Vec<Matched<ReportConfig, ReportSpec>>,
    /// Schedules.
    pub(crate) schedules: Vec<Matched<Schedule, ScheduleSpec>>,
    /// Names of the database's records and of the apps the file adds.
    pub(crate) names: Names,
}

/// One record's location, for messages.
struct At<'a> {
    lines: &'a Lines,
    section: Section,
    index: usize,
    name: &'a str,
}

impl At<'_> {
    fn error(&self, field: Option<&str>, what: impl Display) -> Error {
        self.lines
            .error(self.section, self.index, self.name, field, what)
    }

    /// A model validation error, placed at the field its message names.
    fn invalid(&self, e: &Error) -> Error {
        let field = e
            .message()
            .strip_prefix("invalid ")
            .and_then(|rest| rest.split_whitespace().next())
            .map(|field| match field {
                // The condition's own fields are written inside `condition = { … }`.
                "threshold_pct" | "value" | "z" => "condition",
                "hour" | "minute" => "at",
                other => other,
            });
        self.error(field, e.message())
    }
}

/// The apps the apply would leave, for references.
struct AppIndex {
    /// (id, platform, bundle id, name).
    apps: Vec<(AppId, Platform, BundleId, String)>,
}

impl AppIndex {
    /// An app by `platform:bundle id`, bundle id or name.
    fn find(&self, key: &str) -> std::result::Result<AppId, String> {
        let trimmed = key.trim();
        if let Some((p, bundle)) = trimmed.split_once(':')
            && let Ok(platform) = p.parse::<Platform>()
        {
            return self
                .apps
                .iter()
                .find(|a| a.1 == platform && a.2.as_str() == bundle)
                .map(|a| a.0)
                .ok_or_else(|| {
                    format!(
                        "invalid app {key:?}: expected an app of the file or the database, and no {platform} app has the bundle id {bundle:?}"
                    )
                });
        }
        let by_bundle: Vec<&(AppId, Platform, BundleId, String)> = self
            .apps
            .iter()
            .filter(|a| a.2.as_str() == trimmed)
            .collect();
        match by_bundle.as_slice() {
            [one] => return Ok(one.0),
            [] => {}
            _ => {
                return Err(format!(
                    "invalid app {key:?}: expected one app, and this bundle id is on both platforms: write ios:{trimmed} or android:{trimmed}"
                ));
            }
        }
        self.apps
            .iter()
            .find(|a| a.3 == trimmed)
            .map(|a| a.0)
            .ok_or_else(|| {
                format!(
                    "invalid app {key:?}: expected platform:bundle id (e.g. ios:com.example.app), a bundle id or the name of an app of the file or the database"
                )
            })
    }
}

/// Records the apply would leave of a kind identified by name.
fn by_name<'a, T>(
    file: impl Iterator<Item = (&'a str, T)>,
    others: impl Iterator<Item = (&'a str, T)>,
) -> HashMap<&'a str, T> {
    // File records win: the others are the database's records the file does not name.
    let mut map: HashMap<&str, T> = others.collect();
    map.extend(file);
    map
}

fn known<T>(map: &HashMap<&str, T>) -> String {
    let mut names: Vec<&&str> = map.keys().collect();
    names.sort();
    if names.is_empty() {
        "there is none yet".to_owned()
    } else {
        let list: Vec<String> = names.iter().map(|n| format!("{n:?}")).collect();
        format!("known: {}", list.join(", "))
    }
}

/// Refuses two records of a section with the same identity.
fn unique<'a>(
    lines: &Lines,
    section: Section,
    field: &str,
    keys: impl Iterator<Item = (String, &'a str)>,
) -> Result<()> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (index, (key, name)) in keys.enumerate() {
        if let Some(first) = seen.insert(key.clone(), index) {
            return Err(lines.error(
                section,
                index,
                name,
                Some(field),
                format_args!(
                    "{field} {key:?} is already used by {}[{first}]: expected each record once",
                    section.key()
                ),
            ));
        }
    }
    Ok(())
}

/// Checks the document against the database and builds the specs it describes.
///
/// With `prune`, the database's records the file does not name are not there to be
/// referred to: they are about to be deleted.
pub(crate) fn resolve(
    doc: &Document,
    lines: &Lines,
    current: &Current,
    prune: bool,
) -> Result<Desired> {
    let mut names = current.names();

    // Identities first, so every later message can trust them.
    let mut app_keys = Vec::with_capacity(doc.apps.len());
    for (index, app) in doc.apps.iter().enumerate() {
        let at = At {
            lines,
            section: Section::Apps,
            index,
            name: &app.name,
        };
        let bundle = BundleId::parse(app.platform, &app.bundle_id)
            .map_err(|e| at.error(Some("bundle_id"), e.message()))?;
        app_keys.push((app.platform, bundle));
    }
    unique(
        lines,
        Section::Apps,
        "bundle_id",
        app_keys
            .iter()
            .zip(&doc.apps)
            .map(|((p, b), a)| (app_ref(*p, b), a.name.as_str())),
    )?;
    unique(
        lines,
        Section::Apps,
        "name",
        doc.apps.iter().map(|a| (a.name.clone(), a.name.as_str())),
    )?;
    unique(
        lines,
        Section::Credentials,
        "name",
        doc.credentials
            .iter()
            .map(|c| (c.name.clone(), c.name.as_str())),
    )?;
    unique(
        lines,
        Section::Channels,
        "name",
        doc.channels
            .iter()
            .map(|c| (c.name.clone(), c.name.as_str())),
    )?;
    unique(
        lines,
        Section::Rules,
        "name",
        doc.rules.iter().map(|r| (r.name.clone(), r.name.as_str())),
    )?;
    unique(
        lines,
        Section::Reports,
        "name",
        doc.reports
            .iter()
            .map(|r| (r.name.clone(), r.name.as_str())),
    )?;
    unique(
        lines,
        Section::Schedules,
        "name",
        doc.schedules
            .iter()
            .map(|s| (s.name.clone(), s.name.as_str())),
    )?;

    // Credentials and channels hold secrets: the file can only name existing ones.
    let credentials = doc
        .credentials
        .iter()
        .enumerate()
        .map(|(index, c)| existing_credential(c, current, lines, index))
        .collect::<Result<Vec<Credential>>>()?;
    let channels_matched = doc
        .channels
        .iter()
        .enumerate()
        .map(|(index, c)| existing_channel(c, current, lines, index))
        .collect::<Result<Vec<Matched<Channel, ChannelSpec>>>>()?;

    // What references can point at once the apply is done.
    let in_file_credentials: Vec<&str> = doc.credentials.iter().map(|c| c.name.as_str()).collect();
    let credential_index: HashMap<&str, (CredentialId, Platform)> = by_name(
        credentials
            .iter()
            .map(|c| (c.name.as_str(), (c.id, c.platform))),
        current
            .credentials
            .iter()
            .filter(|c| !prune && !in_file_credentials.contains(&c.name.as_str()))
            .map(|c| (c.name.as_str(), (c.id, c.platform))),
    );
    let in_file_channels: Vec<&str> = doc.channels.iter().map(|c| c.name.as_str()).collect();
    let channel_index: HashMap<&str, ChannelId> = by_name(
        channels_matched
            .iter()
            .filter_map(|m| m.existing.as_ref())
            .map(|c| (c.name.as_str(), c.id)),
        current
            .channels
            .iter()
            .filter(|c| !prune && !in_file_channels.contains(&c.name.as_str()))
            .map(|c| (c.name.as_str(), c.id)),
    );

    let mut apps_matched = Vec::with_capacity(doc.apps.len());
    let mut index = AppIndex { apps: Vec::new() };
    for (i, (app, (platform, bundle))) in doc.apps.iter().zip(&app_keys).enumerate() {
        let existing = current
            .apps
            .iter()
            .find(|a| a.platform == *platform && a.bundle_id == *bundle)
            .cloned();
        let id = match &existing {
            Some(a) => a.id,
            None => {
                let placeholder = AppId(-1 - i as i64);
                names.add_app(placeholder, *platform, bundle);
                placeholder
            }
        };
        index
            .apps
            .push((id, *platform, bundle.clone(), app.name.clone()));
        apps_matched.push((id, existing));
    }
    if !prune {
        for app in &current.apps {
            if !app_keys
                .iter()
                .any(|(p, b)| *p == app.platform && *b == app.bundle_id)
            {
                index.apps.push((
                    app.id,
                    app.platform,
                    app.bundle_id.clone(),
                    app.name.clone(),
                ));
            }
        }
    }
    // Names are unique among apps: a file app may not take the name a kept one has.
    for (i, app) in doc.apps.iter().enumerate() {
        if let Some(other) = index
            .apps
            .iter()
            .find(|a| a.3 == app.name && a.0 != apps_matched[i].0)
        {
            return Err(lines.error(
                Section::Apps,
                i,
                &app.name,
                Some("name"),
                format_args!(
                    "name {:?} is already the name of app {}: expected a name no other app has",
                    app.name,
                    app_ref(other.1, &other.2)
                ),
            ));
        }
    }

    let mut apps = Vec::with_capacity(doc.apps.len());
    for (i, ((id, existing), app)) in apps_matched.into_iter().zip(&doc.apps).enumerate() {
        let at = At {
            lines,
            section: Section::Apps,
            index: i,
            name: &app.name,
        };
        let spec = app_spec(
            app,
            &app_keys[i].1,
            existing.as_ref(),
            &credential_index,
            &at,
        )?;
        apps.push((id, Matched { existing, spec }));
    }

    let rules = doc
        .rules
        .iter()
        .enumerate()
        .map(|(i, rule)| {
            let at = At {
                lines,
                section: Section::Rules,
                index: i,
                name: &rule.name,
            };
            let spec = rule_spec(rule, &index, &channel_index, &at)?;
            let existing = current.rules.iter().find(|r| r.name == rule.name).cloned();
            Ok(Matched { existing, spec })
        })
        .collect::<Result<Vec<_>>>()?;
    let reports = doc
        .reports
        .iter()
        .enumerate()
        .map(|(i, report)| {
            let at = At {
                lines,
                section: Section::Reports,
                index: i,
                name: &report.name,
            };
            let spec = report_spec(report, &index, &channel_index, &at)?;
            let existing = current
                .reports
                .iter()
                .find(|r| r.name == report.name)
                .cloned();
            Ok(Matched { existing, spec })
        })
        .collect::<Result<Vec<_>>>()?;
    let schedules = doc
        .schedules
        .iter()
        .enumerate()
        .map(|(i, schedule)| {
            let at = At {
                lines,
                section: Section::Schedules,
                index: i,
                name: &schedule.name,
            };
            let spec = schedule_spec(schedule, &index, &at)?;
            let existing = current
                .schedules
                .iter()
                .find(|s| s.name == schedule.name)
                .cloned();
            Ok(Matched { existing, spec })
        })
        .collect::<Result<Vec<_>>>()?;

    Ok(Desired {
        apps,
        credentials,
        channels: channels_matched,
        rules,
        reports,
        schedules,
        names,
    })
}

fn existing_credential(
    doc: &CredentialDoc,
    current: &Current,
    lines: &Lines,
    index: usize,
) -> Result<Credential> {
    let at = At {
        lines,
        section: Section::Credentials,
        index,
        name: &doc.name,
    };
    let Some(found) = current.credentials.iter().find(|c| c.name == doc.name) else {
        return Err(at.error(
            Some("name"),
            format_args!(
                "no credential is named {:?} in the database, and this file cannot create one because it never holds secrets: \
                 add it first with `storewatch credentials add` (name {:?}, platform {}, kind {}), then apply again",
                doc.name, doc.name, doc.platform, doc.kind
            ),
        ));
    };
    // The kind and platform come with the sealed secret: changing them here would leave
    // a secret that no longer fits its record.
    if found.kind != doc.kind {
        return Err(at.error(
            Some("kind"),
            format_args!(
                "invalid kind {:?}: expected {:?}, the kind of the stored credential (a credential's kind comes with its secret: \
                 add a new credential with `storewatch credentials add` to change it)",
                doc.kind, found.kind
            ),
        ));
    }
    if found.platform != doc.platform {
        return Err(at.error(
            Some("platform"),
            format_args!(
                "invalid platform {:?}: expected {:?}, the platform of the stored credential (it comes with its secret: \
                 add a new credential with `storewatch credentials add` to change it)",
                doc.platform.as_str(),
                found.platform.as_str()
            ),
        ));
    }
    Ok(found.clone())
}

fn existing_channel(
    doc: &ChannelDoc,
    current: &Current,
    lines: &Lines,
    index: usize,
) -> Result<Matched<Channel, ChannelSpec>> {
    let at = At {
        lines,
        section: Section::Channels,
        index,
        name: &doc.name,
    };
    let Some(found) = current.channels.iter().find(|c| c.name == doc.name) else {
        return Err(at.error(
            Some("name"),
            format_args!(
                "no channel is named {:?} in the database, and this file cannot create one because it never holds secrets \
                 (a webhook URL is one): add it first with `storewatch channels add` (name {:?}, kind {}), then apply again",
                doc.name, doc.name, doc.kind
            ),
        ));
    };
    if found.kind != doc.kind {
        return Err(at.error(
            Some("kind"),
            format_args!(
                "invalid kind {:?}: expected {:?}, the kind of the stored channel (a channel's kind comes with its secret config: \
                 add a new channel with `storewatch channels add` to change it)",
                doc.kind, found.kind
            ),
        ));
    }
    let mut spec = found.spec.clone();
    spec.is_active = doc.is_active;
    Ok(Matched {
        existing: Some(found.clone()),
        spec,
    })
}

fn app_spec(
    doc: &AppDoc,
    bundle: &BundleId,
    existing: Option<&App>,
    credentials: &HashMap<&str, (CredentialId, Platform)>,
    at: &At<'_>,
) -> Result<AppSpec> {
    let credential_id = match &doc.credential {
        None => None,
        Some(name) => {
            let &(id, platform) = credentials.get(name.as_str()).ok_or_else(|| {
                at.error(
                    Some("credential"),
                    format_args!(
                        "invalid credential {name:?}: expected the name of a credential of the file or the database ({}); \
                         add it with `storewatch credentials add`",
                        known(credentials)
                    ),
                )
            })?;
            if platform != doc.platform {
                return Err(at.error(
                    Some("credential"),
                    format_args!(
                        "invalid credential {name:?}: expected a credential for {}, and this one is for {platform}",
                        doc.platform
                    ),
                ));
            }
            Some(id)
        }
    };
    // The store id is a cache the collector fills in from the bundle id: a file that
    // leaves it out keeps what the database has.
    let store_id = doc
        .store_id
        .clone()
        .or_else(|| existing.and_then(|a| a.store_id.clone()));
    let spec = AppSpec {
        name: doc.name.clone(),
        platform: doc.platform,
        bundle_id: bundle.clone(),
        store_id,
        credential_id,
        is_active: doc.is_active,
    };
    spec.validate().map_err(|e| at.invalid(&e))?;
    Ok(spec)
}

fn channel_ref(
    name: &str,
    field: &str,
    channels: &HashMap<&str, ChannelId>,
    at: &At<'_>,
) -> Result<ChannelId> {
    channels.get(name).copied().ok_or_else(|| {
        at.error(
            Some(field),
            format_args!(
                "invalid channel {name:?}: expected the name of a channel of the file or the database ({}); \
                 add it with `storewatch channels add`",
                known(channels)
            ),
        )
    })
}

fn app_ref_field(key: Option<&String>, apps: &AppIndex, at: &At<'_>) -> Result<Option<AppId>> {
    key.map(|k| apps.find(k).map_err(|why| at.error(Some("app"), why)))
        .transpose()
}

fn rule_spec(
    doc: &RuleDoc,
    apps: &AppIndex,
    channels: &HashMap<&str, ChannelId>,
    at: &At<'_>,
) -> Result<AlertRuleSpec> {
    let mentions = doc
        .mentions
        .iter()
        .map(|m| Mention::parse(m).map_err(|e| at.error(Some("mentions"), e.message())))
        .collect::<Result<Vec<_>>>()?;
    let spec = AlertRuleSpec {
        name: doc.name.clone(),
        app_id: app_ref_field(doc.app.as_ref(), apps, at)?,
        metric: doc.metric.clone(),
        segment: doc.segment.clone(),
        condition: doc.condition.clone(),
        severity: doc.severity,
        for_days: doc.for_days,
        cooldown: doc.cooldown,
        min_baseline: doc.min_baseline,
        channel_id: channel_ref(&doc.channel, "channel", channels, at)?,
        mentions,
        notify_resolved: doc.notify_resolved,
        is_active: doc.is_active,
    };
    spec.validate().map_err(|e| at.invalid(&e))?;
    Ok(spec)
}

fn report_spec(
    doc: &ReportDoc,
    apps: &AppIndex,
    channels: &HashMap<&str, ChannelId>,
    at: &At<'_>,
) -> Result<ReportSpec> {
    let mut ids = Vec::with_capacity(doc.channels.len());
    for name in &doc.channels {
        let id = channel_ref(name, "channels", channels, at)?;
        if ids.contains(&id) {
            return Err(at.error(
                Some("channels"),
                format_args!(
                    "invalid channels: {name:?} is listed twice: expected each channel once"
                ),
            ));
        }
        ids.push(id);
    }
    if let Some(dup) = doc
        .metrics
        .iter()
        .enumerate()
        .find(|(i, m)| doc.metrics[..*i].contains(m))
    {
        return Err(at.error(
            Some("metrics"),
            format_args!(
                "invalid metrics: {:?} is listed twice: expected each metric once",
                dup.1.as_str()
            ),
        ));
    }
    let spec = ReportSpec {
        name: doc.name.clone(),
        app_id: app_ref_field(doc.app.as_ref(), apps, at)?,
        metrics: doc.metrics.clone(),
        channels: ids,
        is_active: doc.is_active,
    };
    spec.validate().map_err(|e| at.invalid(&e))?;
    Ok(spec)
}

/// `HH:MM` (or `H:MM`) as hour and minute.
fn time_of_day(text: &str) -> Option<(u8, u8)> {
    let (h, m) = text.trim().split_once(':')?;
    if h.is_empty() || h.len() > 2 || m.len() != 2 {
        return None;
    }
    let hour: u8 = h.parse().ok()?;
    let minute: u8 = m.parse().ok()?;
    (hour < 24 && minute < 60).then_some((hour, minute))
}

fn schedule_spec(doc: &ScheduleDoc, apps: &AppIndex, at: &At<'_>) -> Result<ScheduleSpec> {
    let frequency = match (doc.every, &doc.weekday, doc.day) {
        (Every::Daily, None, None) => Frequency::Daily,
        (Every::Weekly, Some(day), None) => {
            let weekday: Weekday = day.trim().parse().map_err(|_| {
                at.error(
                    Some("weekday"),
                    format_args!(
                        "invalid weekday {day:?}: expected a day of the week like \"monday\" or \"mon\""
                    ),
                )
            })?;
            Frequency::Weekly { weekday }
        }
        (Every::Monthly, None, Some(day)) => {
            Frequency::monthly(day).map_err(|e| at.error(Some("day"), e.message()))?
        }
        (Every::Weekly, None, _) => {
            return Err(at.error(
                Some("every"),
                "a weekly schedule needs `weekday`, e.g. weekday = \"monday\"",
            ));
        }
        (Every::Monthly, _, None) => {
            return Err(at.error(
                Some("every"),
                "a monthly schedule needs `day` (1–31; 29–31 fall on the last day of shorter months)",
            ));
        }
        (every, Some(_), _) => {
            return Err(at.error(
                Some("weekday"),
                format_args!(
                    "invalid weekday for a {} schedule: expected it only with every = \"weekly\"",
                    every_name(every)
                ),
            ));
        }
        (every, None, Some(_)) => {
            return Err(at.error(
                Some("day"),
                format_args!(
                    "invalid day for a {} schedule: expected it only with every = \"monthly\"",
                    every_name(every)
                ),
            ));
        }
    };
    let (hour, minute) = time_of_day(&doc.at).ok_or_else(|| {
        at.error(
            Some("at"),
            format_args!(
                "invalid at {:?}: expected a time of day HH:MM from 00:00 to 23:59",
                doc.at
            ),
        )
    })?;
    let timezone =
        parse_timezone(doc.timezone.trim()).map_err(|e| at.error(Some("timezone"), e.message()))?;
    let spec = ScheduleSpec {
        name: doc.name.clone(),
        task: doc.task,
        app_id: app_ref_field(doc.app.as_ref(), apps, at)?,
        frequency,
        hour,
        minute,
        timezone,
        is_active: doc.is_active,
        skip_notifications: doc.skip_notifications,
        max_retries: doc.max_retries,
        timeout: doc.timeout,
        misfire_grace: doc.misfire_grace,
        target_offset_days: doc.target_offset_days,
    };
    spec.validate().map_err(|e| at.invalid(&e))?;
    Ok(spec)
}

fn every_name(every: Every) -> &'static str {
    match every {
        Every::Daily => "daily",
        Every::Weekly => "weekly",
        Every::Monthly => "monthly",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_of_day() {
        assert_eq!(time_of_day("02:00"), Some((2, 0)));
        assert_eq!(time_of_day("2:05"), Some((2, 5)));
        assert_eq!(time_of_day("23:59"), Some((23, 59)));
        for bad in [
            "24:00", "25:00", "12:60", "12", "12:5", "a:00", "-1:00", "123:00", "",
        ] {
            assert_eq!(time_of_day(bad), None, "{bad}");
        }
    }
}
