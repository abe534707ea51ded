//! Due-slot detection: a cache of the active schedules with, for each, the last slot
//! this instance has handled and the next one, so a tick touches the store only when a
//! slot is due (DESIGN §7: misfire grace, coalescing, skipped slots recorded).

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::calendar::{latest_slot_at_or_before, next_fire, target_date};
use crate::Result;
use crate::model::{ExecutionFilter, NewExecution, Schedule, ScheduleId};
use crate::store::Store;

/// How many of a schedule's newest executions are read to find its last recorded slot
/// when the schedule is first seen. Retries and manual runs carry no slot, so this
/// leaves room for a few slots' retry chains.
const HISTORY_PROBE: usize = 100;

/// What one pass over the due slots inserted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct FireCounts {
    /// Pending executions inserted by this instance.
    pub(super) inserted: usize,
    /// Skipped slots recorded by this instance.
    pub(super) skipped: usize,
    /// Slots another instance had already inserted.
    pub(super) lost_races: usize,
}

/// One active schedule and where this instance stands with it.
#[derive(Debug)]
struct Tracked {
    schedule: Schedule,
    /// Every slot at or before this instant has been handled (run, skipped or
    /// coalesced), by this instance or another.
    cursor: DateTime<Utc>,
    /// The first slot after `cursor`.
    next: DateTime<Utc>,
}

impl Tracked {
    fn new(schedule: Schedule, cursor: DateTime<Utc>) -> Self {
        let next = next_fire(&schedule, cursor);
        Tracked {
            schedule,
            cursor,
            next,
        }
    }
}

/// The active schedules this instance watches.
#[derive(Debug, Default)]
pub(super) struct SlotTracker {
    schedules: HashMap<ScheduleId, Tracked>,
}

impl SlotTracker {
    /// Reloads the schedule list. Schedules already tracked keep their cursor (also
    /// when edited); a schedule seen for the first time starts after its last recorded
    /// slot, or at its creation when it has none, so a restarted instance sees the slots
    /// it missed while down.
    pub(super) async fn refresh(&mut self, store: &dyn Store) -> Result<()> {
        let mut fresh = HashMap::new();
        for schedule in store.list_schedules().await? {
            if !schedule.is_active {
                continue;
            }
            let cursor = match self.schedules.remove(&schedule.id) {
                Some(t) => t.cursor,
                None => baseline(store, &schedule).await?,
            };
            fresh.insert(schedule.id, Tracked::new(schedule, cursor));
        }
        self.schedules = fresh;
        Ok(())
    }

    /// The earliest slot not yet handled.
    pub(super) fn next_slot(&self) -> Option<DateTime<Utc>> {
        self.schedules.values().map(|t| t.next).min()
    }

    /// Number of tracked schedules.
    pub(super) fn len(&self) -> usize {
        self.schedules.len()
    }

    /// Inserts the executions due at `now`. For each schedule with unhandled slots, the
    /// latest one runs when it is at most `misfire_grace` old; otherwise it is recorded
    /// as `Skipped`. Older unhandled slots coalesce into it: only the one just before it
    /// is recorded as `Skipped`, so an instance down for a year writes one row per
    /// schedule, not hundreds. The store's (schedule, slot) uniqueness makes every
    /// insert happen once across instances.
    ///
    /// A schedule whose insert fails keeps its cursor and is tried again at the next
    /// pass; the first error is returned after every schedule has been tried.
    pub(super) async fn fire_due(
        &mut self,
        store: &dyn Store,
        now: DateTime<Utc>,
    ) -> Result<FireCounts> {
        let mut counts = FireCounts::default();
        let mut first_error = None;
        for t in self.schedules.values_mut() {
            if now < t.next {
                continue;
            }
            match fire_one(store, t, now, &mut counts).await {
                Ok(()) => {}
                Err(e) => {
                    tracing::warn!(schedule = %t.schedule.id, error = %e, "inserting a due slot failed");
                    first_error.get_or_insert(e);
                }
            }
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(counts),
        }
    }
}

async fn fire_one(
    store: &dyn Store,
    t: &mut Tracked,
    now: DateTime<Utc>,
    counts: &mut FireCounts,
) -> Result<()> {
    let s = &t.schedule;
    let Some(latest) = latest_slot_at_or_before(s, now).filter(|l| *l > t.cursor) else {
        t.next = next_fire(s, now.max(t.cursor));
        return Ok(());
    };
    let grace = chrono::Duration::from_std(s.misfire_grace).unwrap_or(chrono::Duration::MAX);
    let mut news = Vec::with_capacity(2);
    if now - latest <= grace {
        let previous = latest_slot_at_or_before(s, latest - chrono::Duration::seconds(1))
            .filter(|p| *p > t.cursor);
        if let Some(p) = previous {
            news.push(NewExecution::scheduled(s, p, target_date(s, p)).skipped());
        }
        news.push(NewExecution::scheduled(s, latest, target_date(s, latest)));
    } else {
        news.push(NewExecution::scheduled(s, latest, target_date(s, latest)).skipped());
    }
    for new in news {
        let skipped = new.status.is_final();
        let slot = new.slot_at;
        match store.insert_execution(new).await? {
            Some(e) if skipped => {
                tracing::info!(schedule = %s.id, slot = ?slot, execution = %e.id, "missed slot recorded as skipped");
                counts.skipped += 1;
            }
            Some(e) => {
                tracing::debug!(schedule = %s.id, slot = ?slot, execution = %e.id, "slot due");
                counts.inserted += 1;
            }
            None => counts.lost_races += 1,
        }
    }
    t.cursor = latest;
    t.next = next_fire(s, latest);
    Ok(())
}

/// Where a newly seen schedule starts: its last recorded slot, else its creation.
async fn baseline(store: &dyn Store, schedule: &Schedule) -> Result<DateTime<Utc>> {
    let recent = store
        .list_executions(
            &ExecutionFilter::all()
                .with_schedule(schedule.id)
                .with_limit(HISTORY_PROBE),
        )
        .await?;
    Ok(recent
        .iter()
        .filter_map(|e| e.slot_at)
        .max()
        .unwrap_or(schedule.created_at))
}
