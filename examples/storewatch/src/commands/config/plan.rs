//! The plan of an apply: per record, create / update (with the fields that change) /
//! unchanged, and the database's records the file does not name (deleted only with
//! `--prune`); and how it reads as a diff.

use std::fmt::Write as _;

use serde::Serialize;
use storewatch_core::Result;
use storewatch_core::model::{
    AlertRuleSpec, AppId, AppSpec, ChannelId, ChannelSpec, CredentialId, Record, ReportSpec,
    ScheduleSpec, Spec,
};

use super::current::{
    Current, Names, app_doc, app_ref, channel_doc, report_doc, rule_doc, schedule_doc,
};
use super::document::{show, table};
use super::resolve::{Desired, Matched};

/// One field that changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FieldChange {
    /// The field's key in the document.
    pub(crate) field: String,
    /// Its value in the database, as people read it.
    pub(crate) old: String,
    /// Its value in the file.
    pub(crate) new: String,
}

/// What happens to one record.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Change {
    /// The file adds it.
    Create,
    /// The file changes these fields.
    Update(Vec<FieldChange>),
    /// The file says what the database has.
    Unchanged,
    /// The database has it, the file does not name it, and it is kept.
    NotInFile,
    /// The database has it, the file does not name it, and `--prune` deletes it.
    Delete,
}

/// One line (or block) of the printed plan.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Entry {
    /// `app`, `credential`, … .
    pub(crate) kind: &'static str,
    /// How the record is named: `ios:com.example.app`, or its name.
    pub(crate) label: String,
    /// What happens to it.
    pub(crate) change: Change,
}

/// The writes of one record kind.
#[derive(Debug, Clone)]
pub(crate) struct Writes<S: Spec> {
    /// Specs to create (apps: with their placeholder id).
    pub(crate) create: Vec<(Option<AppId>, S)>,
    /// (id, version, new spec).
    pub(crate) update: Vec<(S::Id, i64, S)>,
    /// Ids to delete.
    pub(crate) delete: Vec<S::Id>,
}

impl<S: Spec> Default for Writes<S> {
    fn default() -> Self {
        Writes {
            create: Vec::new(),
            update: Vec::new(),
            delete: Vec::new(),
        }
    }
}

/// Everything an apply would do.
#[derive(Debug, Clone, Default)]
pub(crate) struct Plan {
    /// What happens to each record, in the order it prints.
    pub(crate) entries: Vec<Entry>,
    /// App writes.
    pub(crate) apps: Writes<AppSpec>,
    /// Credential deletions (credentials are never created or changed by a file).
    pub(crate) credentials_delete: Vec<CredentialId>,
    /// Channel writes (never creations).
    pub(crate) channels: Writes<ChannelSpec>,
    /// Rule writes.
    pub(crate) rules: Writes<AlertRuleSpec>,
    /// Report writes.
    pub(crate) reports: Writes<ReportSpec>,
    /// Schedule writes.
    pub(crate) schedules: Writes<ScheduleSpec>,
}

/// The fields whose values differ between two records of the same kind.
fn changes<D: Serialize>(old: &D, new: &D) -> Result<Vec<FieldChange>> {
    let old = table(old)?;
    let new = table(new)?;
    let mut out = Vec::new();
    for (field, value) in &new {
        if old.get(field) != Some(value) {
            out.push(FieldChange {
                field: field.clone(),
                old: show(old.get(field)),
                new: show(Some(value)),
            });
        }
    }
    for (field, value) in &old {
        if !new.contains_key(field) {
            out.push(FieldChange {
                field: field.clone(),
                old: show(Some(value)),
                new: show(None),
            });
        }
    }
    Ok(out)
}

/// A file record to diff: its placeholder id (new apps), its label, and the match.
type Labelled<S> = (Option<AppId>, String, Matched<Record<S>, S>);

/// Diffs one record kind: the file's records in file order, then the database's
/// records the file does not name.
fn diff_kind<S: Spec, D: Serialize>(
    entries: &mut Vec<Entry>,
    writes: &mut Writes<S>,
    kind: &'static str,
    desired: Vec<Labelled<S>>,
    unnamed: Vec<(S::Id, String)>,
    prune: bool,
    doc: impl Fn(&S) -> D,
) -> Result<()> {
    for (placeholder, label, m) in desired {
        match m.existing {
            None => {
                entries.push(Entry {
                    kind,
                    label,
                    change: Change::Create,
                });
                writes.create.push((placeholder, m.spec));
            }
            Some(record) => {
                let fields = changes(&doc(&record.spec), &doc(&m.spec))?;
                if fields.is_empty() {
                    entries.push(Entry {
                        kind,
                        label,
                        change: Change::Unchanged,
                    });
                } else {
                    entries.push(Entry {
                        kind,
                        label,
                        change: Change::Update(fields),
                    });
                    writes.update.push((record.id, record.version, m.spec));
                }
            }
        }
    }
    for (id, label) in unnamed {
        entries.push(Entry {
            kind,
            label,
            change: if prune {
                Change::Delete
            } else {
                Change::NotInFile
            },
        });
        if prune {
            writes.delete.push(id);
        }
    }
    Ok(())
}

/// Compares the file's specs with the database.
pub(crate) fn plan(desired: Desired, current: &Current, prune: bool) -> Result<Plan> {
    let mut plan = Plan::default();
    let names: &Names = &desired.names;

    let apps: Vec<_> = desired
        .apps
        .into_iter()
        .map(|(id, m)| {
            let label = app_ref(m.spec.platform, &m.spec.bundle_id);
            (m.existing.is_none().then_some(id), label, m)
        })
        .collect();
    let named: Vec<AppId> = apps
        .iter()
        .filter_map(|(_, _, m)| m.existing.as_ref().map(|a| a.id))
        .collect();
    let unnamed = current
        .apps
        .iter()
        .filter(|a| !named.contains(&a.id))
        .map(|a| (a.id, app_ref(a.platform, &a.bundle_id)))
        .collect();
    diff_kind(
        &mut plan.entries,
        &mut plan.apps,
        "app",
        apps,
        unnamed,
        prune,
        |s| app_doc(s, names),
    )?;

    // Credentials: the file only names existing ones, unchanged by construction.
    let named: Vec<CredentialId> = desired.credentials.iter().map(|c| c.id).collect();
    let mut credential_writes = Writes::default();
    diff_kind(
        &mut plan.entries,
        &mut credential_writes,
        "credential",
        desired
            .credentials
            .into_iter()
            .map(|c| {
                let label = c.name.clone();
                let spec = c.spec.clone();
                (
                    None,
                    label,
                    Matched {
                        existing: Some(c),
                        spec,
                    },
                )
            })
            .collect(),
        current
            .credentials
            .iter()
            .filter(|c| !named.contains(&c.id))
            .map(|c| (c.id, c.name.clone()))
            .collect(),
        prune,
        super::current::credential_doc,
    )?;
    plan.credentials_delete = credential_writes.delete;

    let named: Vec<ChannelId> = desired
        .channels
        .iter()
        .filter_map(|m| m.existing.as_ref().map(|c| c.id))
        .collect();
    diff_kind(
        &mut plan.entries,
        &mut plan.channels,
        "channel",
        desired
            .channels
            .into_iter()
            .map(|m| (None, m.spec.name.clone(), m))
            .collect(),
        current
            .channels
            .iter()
            .filter(|c| !named.contains(&c.id))
            .map(|c| (c.id, c.name.clone()))
            .collect(),
        prune,
        channel_doc,
    )?;

    diff_by_name(
        &mut plan.entries,
        &mut plan.rules,
        "rule",
        desired.rules,
        &current.rules,
        prune,
        |s| rule_doc(s, names),
    )?;
    diff_by_name(
        &mut plan.entries,
        &mut plan.reports,
        "report",
        desired.reports,
        &current.reports,
        prune,
        |s| report_doc(s, names),
    )?;
    diff_by_name(
        &mut plan.entries,
        &mut plan.schedules,
        "schedule",
        desired.schedules,
        &current.schedules,
        prune,
        |s| schedule_doc(s, names),
    )?;
    Ok(plan)
}

/// A spec identified by its name.
trait Named {
    fn name(&self) -> &str;
}

impl Named for AlertRuleSpec {
    fn name(&self) -> &str {
        &self.name
    }
}

impl Named for ReportSpec {
    fn name(&self) -> &str {
        &self.name
    }
}

impl Named for ScheduleSpec {
    fn name(&self) -> &str {
        &self.name
    }
}

fn diff_by_name<S: Spec + Named, D: Serialize>(
    entries: &mut Vec<Entry>,
    writes: &mut Writes<S>,
    kind: &'static str,
    desired: Vec<Matched<Record<S>, S>>,
    current: &[Record<S>],
    prune: bool,
    doc: impl Fn(&S) -> D,
) -> Result<()> {
    let named: Vec<&str> = desired.iter().map(|m| m.spec.name()).collect();
    let unnamed = current
        .iter()
        .filter(|r| !named.contains(&r.spec.name()))
        .map(|r| (r.id, r.spec.name().to_owned()))
        .collect();
    let desired = desired
        .into_iter()
        .map(|m| (None, m.spec.name().to_owned(), m))
        .collect();
    diff_kind(entries, writes, kind, desired, unnamed, prune, doc)
}

impl Plan {
    /// Whether applying changes nothing.
    pub(crate) fn is_noop(&self) -> bool {
        self.entries
            .iter()
            .all(|e| matches!(e.change, Change::Unchanged | Change::NotInFile))
    }

    fn count(&self, f: impl Fn(&Change) -> bool) -> usize {
        self.entries.iter().filter(|e| f(&e.change)).count()
    }

    /// The plan as people read it: `+` create, `~` update (field: old → new), `-`
    /// delete, `!` kept although the file does not name it; unchanged records are
    /// counted, not listed.
    pub(crate) fn render(&self) -> String {
        let mut out = String::new();
        for e in &self.entries {
            let head = format!("{} {:?}", e.kind, e.label);
            match &e.change {
                Change::Create => {
                    let _ = writeln!(out, "+ {head}");
                }
                Change::Update(fields) => match fields.as_slice() {
                    [one] => {
                        let _ = writeln!(out, "~ {head}: {} {} → {}", one.field, one.old, one.new);
                    }
                    many => {
                        let _ = writeln!(out, "~ {head}:");
                        for f in many {
                            let _ = writeln!(out, "    {} {} → {}", f.field, f.old, f.new);
                        }
                    }
                },
                Change::Unchanged => {}
                Change::NotInFile => {
                    let _ = writeln!(
                        out,
                        "! {head}: in the database but not in the file (kept; --prune deletes it)"
                    );
                }
                Change::Delete if e.kind == "app" => {
                    let _ = writeln!(out, "- {head} (with its metric history and alert states)");
                }
                Change::Delete => {
                    let _ = writeln!(out, "- {head}");
                }
            }
        }
        let created = self.count(|c| matches!(c, Change::Create));
        let updated = self.count(|c| matches!(c, Change::Update(_)));
        let deleted = self.count(|c| matches!(c, Change::Delete));
        let unchanged = self.count(|c| matches!(c, Change::Unchanged));
        let kept = self.count(|c| matches!(c, Change::NotInFile));
        let records = if unchanged == 1 { "record" } else { "records" };
        if self.is_noop() {
            let _ = write!(out, "No changes: {unchanged} {records} unchanged");
        } else {
            let _ = write!(
                out,
                "Plan: {created} to create, {updated} to update, {deleted} to delete, {unchanged} unchanged"
            );
        }
        if kept > 0 {
            let _ = write!(out, "; {kept} not in the file (kept)");
        }
        out.push_str(".\n");
        out
    }
}
