//! AlertCheck: load only the days the analysis reads, analyze the target day, evaluate
//! the rules against the stored states, send the cards, store the new states.

use std::collections::HashSet;

use chrono::NaiveDate;

use super::deliver::{Delivered, Message, Notifiers};
use super::{Pipeline, RunState};
use crate::alert::AlertEvent;
use crate::analysis::{Analysis, MetricHistory};
use crate::model::{AlertRule, App, AppId, Execution};
use crate::notify::AlertNotification;
use crate::store::{DaySelection, HistoryQuery};
use crate::{Error, Result};

/// What an AlertCheck read and computed, reused by the daily reports.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AlertCheckOutput {
    /// The analysis of the target day.
    pub analysis: Analysis,
    /// The history it was computed from (the required days only).
    pub history: MetricHistory,
}

impl Pipeline {
    pub(crate) async fn alert_check(
        &self,
        execution: &Execution,
        apps: &[App],
        day: NaiveDate,
        st: &mut RunState,
    ) -> Result<AlertCheckOutput> {
        let inner = &self.inner;
        let ids: Vec<AppId> = apps.iter().map(|a| a.id).collect();
        let query = HistoryQuery::new(DaySelection::Days(inner.analyzer.required_days(day)))
            .with_apps(ids.clone());
        let history = inner.store.history(&query).await?;
        let analyzer = inner.analyzer.clone();
        let (analysis, history) = tokio::task::spawn_blocking(move || {
            let analysis = analyzer.analyze(&history, day);
            (analysis, history)
        })
        .await
        .map_err(|e| Error::internal(format!("analysis task failed: {e}")))?;
        let analysis = analysis?;
        st.out.line(format!(
            "analyzed {} series from {} points",
            analysis.summaries.len(),
            history.len()
        ));

        let rules: Vec<AlertRule> = inner
            .store
            .list_rules()
            .await?
            .into_iter()
            .filter(|r| r.is_active && r.app_id.is_none_or(|a| ids.contains(&a)))
            .collect();
        let states = inner.store.alert_states().await?;
        let evaluation = inner
            .evaluator
            .evaluate(&analysis, &rules, &states, inner.clock.now());
        st.alerts += u32::try_from(evaluation.events.len()).unwrap_or(u32::MAX);

        // A card that failed keeps its alert's old state, so a retry produces and sends it again.
        let mut unsent = HashSet::new();
        if execution.skip_notifications {
            if !evaluation.events.is_empty() {
                st.out.line(format!(
                    "{} alerts, notifications skipped",
                    evaluation.events.len()
                ));
            }
        } else {
            let mut notifiers = Notifiers::new();
            for event in &evaluation.events {
                let (Some(rule), Some(app)) = (
                    rules.iter().find(|r| r.id == event.fingerprint.rule_id),
                    apps.iter().find(|a| a.id == event.fingerprint.app_id),
                ) else {
                    continue;
                };
                let card = self.alert_notification(event, rule, app);
                let key = format!(
                    "alert:{}:{}:{:?}:{}",
                    event.fingerprint, event.day, event.kind, event.severity
                );
                let outcome = self
                    .deliver(
                        execution,
                        rule.channel_id,
                        &key,
                        Message::Alert(&card),
                        &mut notifiers,
                        st,
                    )
                    .await;
                if outcome == Delivered::Failed {
                    unsent.insert(event.fingerprint.clone());
                }
            }
        }
        let states: Vec<_> = evaluation
            .states
            .into_iter()
            .filter(|s| !unsent.contains(&s.fingerprint))
            .collect();
        inner.store.save_alert_states(&states).await?;
        Ok(AlertCheckOutput { analysis, history })
    }

    /// The card for an event of `rule` on `app`.
    pub fn alert_notification(
        &self,
        event: &AlertEvent,
        rule: &AlertRule,
        app: &App,
    ) -> AlertNotification {
        let link = self.inner.config.admin_base_url.as_ref().map(|base| {
            format!(
                "{base}/apps/{}?metric={}&day={}",
                app.id, event.fingerprint.metric, event.day
            )
        });
        AlertNotification {
            app_name: app.name.clone(),
            platform: app.platform,
            bundle_id: app.bundle_id.clone(),
            metric: event.fingerprint.metric.clone(),
            segment: event.fingerprint.segment.clone(),
            day: event.day,
            value: event.value,
            baseline: event.baseline,
            change_pct: event.change_pct,
            rule_name: rule.name.clone(),
            rule_text: rule.condition.to_string(),
            severity: event.severity,
            kind: event.kind,
            mentions: rule.mentions.clone(),
            link,
        }
    }
}
