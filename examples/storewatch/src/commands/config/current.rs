//! The configuration the database holds, and every spec as a document record (with
//! references by name), which is both what `config export` writes and what a plan
//! compares.

use std::collections::HashMap;

use chrono::Weekday;
use storewatch_core::Result;
use storewatch_core::model::{
    AlertRule, AlertRuleSpec, App, AppId, AppSpec, BundleId, Channel, ChannelId, ChannelSpec,
    Credential, CredentialId, CredentialSpec, Frequency, Platform, ReportConfig, ReportSpec,
    Schedule, ScheduleSpec,
};
use storewatch_core::store::Store;

use super::document::{
    AppDoc, ChannelDoc, CredentialDoc, Document, Every, ReportDoc, RuleDoc, ScheduleDoc,
};

/// Every configuration record of the database.
#[derive(Debug, Clone, Default)]
pub(crate) struct Current {
    /// Apps.
    pub(crate) apps: Vec<App>,
    /// Credentials.
    pub(crate) credentials: Vec<Credential>,
    /// Channels.
    pub(crate) channels: Vec<Channel>,
    /// Alert rules.
    pub(crate) rules: Vec<AlertRule>,
    /// Reports.
    pub(crate) reports: Vec<ReportConfig>,
    /// Schedules.
    pub(crate) schedules: Vec<Schedule>,
}

impl Current {
    /// Reads every configuration record.
    pub(crate) async fn load(store: &dyn Store) -> Result<Current> {
        Ok(Current {
            apps: store.list_apps().await?,
            credentials: store.list_credentials().await?,
            channels: store.list_channels().await?,
            rules: store.list_rules().await?,
            reports: store.list_reports().await?,
            schedules: store.list_schedules().await?,
        })
    }

    /// How records of the database are referred to by name.
    pub(crate) fn names(&self) -> Names {
        let mut names = Names::default();
        for app in &self.apps {
            names.add_app(app.id, app.platform, &app.bundle_id);
        }
        for c in &self.credentials {
            names.credentials.insert(c.id, c.name.clone());
        }
        for c in &self.channels {
            names.channels.insert(c.id, c.name.clone());
        }
        names
    }

    /// The whole configuration as a document: apps ordered by platform and bundle id,
    /// everything else by name, so two databases with the same configuration export
    /// the same text whatever their ids.
    pub(crate) fn export(&self) -> Document {
        let names = self.names();
        let mut apps: Vec<&App> = self.apps.iter().collect();
        apps.sort_by(|a, b| (a.platform, &a.bundle_id).cmp(&(b.platform, &b.bundle_id)));
        let mut doc = Document {
            apps: apps.iter().map(|a| app_doc(a, &names)).collect(),
            credentials: self.credentials.iter().map(|c| credential_doc(c)).collect(),
            channels: self.channels.iter().map(|c| channel_doc(c)).collect(),
            rules: self.rules.iter().map(|r| rule_doc(r, &names)).collect(),
            reports: self.reports.iter().map(|r| report_doc(r, &names)).collect(),
            schedules: self
                .schedules
                .iter()
                .map(|s| schedule_doc(s, &names))
                .collect(),
        };
        doc.credentials.sort_by(|a, b| a.name.cmp(&b.name));
        doc.channels.sort_by(|a, b| a.name.cmp(&b.name));
        doc.rules.sort_by(|a, b| a.name.cmp(&b.name));
        doc.reports.sort_by(|a, b| a.name.cmp(&b.name));
        doc.schedules.sort_by(|a, b| a.name.cmp(&b.name));
        doc
    }
}

/// The names that stand for ids in a document.
#[derive(Debug, Clone, Default)]
pub(crate) struct Names {
    apps: HashMap<AppId, String>,
    credentials: HashMap<CredentialId, String>,
    channels: HashMap<ChannelId, String>,
}

/// How a document refers to an app: `platform:bundle id`, unique and stable.
pub(crate) fn app_ref(platform: Platform, bundle_id: &BundleId) -> String {
    format!("{platform}:{bundle_id}")
}

impl Names {
    /// Records how `id` is referred to (also for apps the file creates).
    pub(crate) fn add_app(&mut self, id: AppId, platform: Platform, bundle_id: &BundleId) {
        self.apps.insert(id, app_ref(platform, bundle_id));
    }

    // An id without a record (the stores keep no foreign keys between specs) is written
    // as `#id`: it names nothing, so applying the export says what is dangling.
    fn app(&self, id: AppId) -> String {
        self.apps
            .get(&id)
            .cloned()
            .unwrap_or_else(|| format!("#{id}"))
    }

    fn credential(&self, id: CredentialId) -> String {
        self.credentials
            .get(&id)
            .cloned()
            .unwrap_or_else(|| format!("#{id}"))
    }

    fn channel(&self, id: ChannelId) -> String {
        self.channels
            .get(&id)
            .cloned()
            .unwrap_or_else(|| format!("#{id}"))
    }
}

/// An app spec as a document record.
pub(crate) fn app_doc(spec: &AppSpec, names: &Names) -> AppDoc {
    AppDoc {
        name: spec.name.clone(),
        platform: spec.platform,
        bundle_id: spec.bundle_id.to_string(),
        store_id: spec.store_id.clone(),
        credential: spec.credential_id.map(|id| names.credential(id)),
        is_active: spec.is_active,
    }
}

/// A credential spec as a document record (no secret, no fingerprint).
pub(crate) fn credential_doc(spec: &CredentialSpec) -> CredentialDoc {
    CredentialDoc {
        name: spec.name.clone(),
        platform: spec.platform,
        kind: spec.kind.clone(),
    }
}

/// A channel spec as a document record (no secret, no fingerprint).
pub(crate) fn channel_doc(spec: &ChannelSpec) -> ChannelDoc {
    ChannelDoc {
        name: spec.name.clone(),
        kind: spec.kind.clone(),
        is_active: spec.is_active,
    }
}

/// A rule spec as a document record.
pub(crate) fn rule_doc(spec: &AlertRuleSpec, names: &Names) -> RuleDoc {
    RuleDoc {
        name: spec.name.clone(),
        app: spec.app_id.map(|id| names.app(id)),
        metric: spec.metric.clone(),
        segment: spec.segment.clone(),
        condition: spec.condition.clone(),
        severity: spec.severity,
        for_days: spec.for_days,
        cooldown: spec.cooldown,
        min_baseline: spec.min_baseline,
        channel: names.channel(spec.channel_id),
        mentions: spec.mentions.iter().map(ToString::to_string).collect(),
        notify_resolved: spec.notify_resolved,
        is_active: spec.is_active,
    }
}

/// A report spec as a document record.
pub(crate) fn report_doc(spec: &ReportSpec, names: &Names) -> ReportDoc {
    ReportDoc {
        name: spec.name.clone(),
        app: spec.app_id.map(|id| names.app(id)),
        metrics: spec.metrics.clone(),
        channels: spec.channels.iter().map(|&id| names.channel(id)).collect(),
        is_active: spec.is_active,
    }
}

/// A schedule spec as a document record.
pub(crate) fn schedule_doc(spec: &ScheduleSpec, names: &Names) -> ScheduleDoc {
    let (every, weekday, day) = match spec.frequency {
        Frequency::Daily => (Every::Daily, None, None),
        Frequency::Weekly { weekday } => (Every::Weekly, Some(weekday_name(weekday)), None),
        Frequency::Monthly { day } => (Every::Monthly, None, Some(day)),
    };
    ScheduleDoc {
        name: spec.name.clone(),
        task: spec.task,
        app: spec.app_id.map(|id| names.app(id)),
        every,
        weekday: weekday.map(str::to_owned),
        day,
        at: format!("{:02}:{:02}", spec.hour, spec.minute),
        timezone: spec.timezone.name().to_owned(),
        is_active: spec.is_active,
        skip_notifications: spec.skip_notifications,
        max_retries: spec.max_retries,
        timeout: spec.timeout,
        misfire_grace: spec.misfire_grace,
        target_offset_days: spec.target_offset_days,
    }
}

/// `monday` … `sunday`.
pub(crate) fn weekday_name(day: Weekday) -> &'static str {
    match day {
        Weekday::Mon => "monday",
        Weekday::Tue => "tuesday",
        Weekday::Wed => "wednesday",
        Weekday::Thu => "thursday",
        Weekday::Fri => "friday",
        Weekday::Sat => "saturday",
        Weekday::Sun => "sunday",
    }
}
