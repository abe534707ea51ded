//! [`ConfigStore`] for [`SqliteStore`]: apps, credentials, channels, rules, reports and
//! schedules through the generic record functions.

use async_trait::async_trait;
use storewatch_core::Result;
use storewatch_core::model::{
    AlertRule, AlertRuleSpec, App, AppId, AppSpec, Channel, ChannelId, ChannelSpec, Credential,
    CredentialId, CredentialSpec, ReportConfig, ReportId, ReportSpec, RuleId, Schedule, ScheduleId,
    ScheduleSpec,
};
use storewatch_core::store::ConfigStore;

use crate::SqliteStore;

#[async_trait]
impl ConfigStore for SqliteStore {
    async fn create_app(&self, spec: AppSpec) -> Result<App> {
        self.create_record(None, spec).await
    }
    async fn update_app(&self, id: AppId, version: i64, spec: AppSpec) -> Result<App> {
        self.update_record(id, version, spec).await
    }
    async fn get_app(&self, id: AppId) -> Result<App> {
        self.get_record(id).await
    }
    async fn list_apps(&self) -> Result<Vec<App>> {
        self.list_records().await
    }
    async fn delete_app(&self, id: AppId) -> Result<()> {
        // Points also go by their foreign key; deleting them first keeps the cascade
        // from running row by row inside the app delete.
        self.delete_record::<AppSpec>(
            id,
            &[
                "DELETE FROM metric_points WHERE app_id = ?",
                "DELETE FROM alert_states WHERE app_id = ?",
            ],
        )
        .await
    }

    async fn reserve_credential_id(&self) -> Result<CredentialId> {
        self.reserve_id::<CredentialSpec>().await.map(CredentialId)
    }
    async fn create_credential(
        &self,
        id: CredentialId,
        spec: CredentialSpec,
    ) -> Result<Credential> {
        self.create_record(Some(id), spec).await
    }
    async fn update_credential(
        &self,
        id: CredentialId,
        version: i64,
        spec: CredentialSpec,
    ) -> Result<Credential> {
        self.update_record(id, version, spec).await
    }
    async fn get_credential(&self, id: CredentialId) -> Result<Credential> {
        self.get_record(id).await
    }
    async fn list_credentials(&self) -> Result<Vec<Credential>> {
        self.list_records().await
    }
    async fn delete_credential(&self, id: CredentialId) -> Result<()> {
        self.delete_record::<CredentialSpec>(id, &[]).await
    }

    async fn reserve_channel_id(&self) -> Result<ChannelId> {
        self.reserve_id::<ChannelSpec>().await.map(ChannelId)
    }
    async fn create_channel(&self, id: ChannelId, spec: ChannelSpec) -> Result<Channel> {
        self.create_record(Some(id), spec).await
    }
    async fn update_channel(
        &self,
        id: ChannelId,
        version: i64,
        spec: ChannelSpec,
    ) -> Result<Channel> {
        self.update_record(id, version, spec).await
    }
    async fn get_channel(&self, id: ChannelId) -> Result<Channel> {
        self.get_record(id).await
    }
    async fn list_channels(&self) -> Result<Vec<Channel>> {
        self.list_records().await
    }
    async fn delete_channel(&self, id: ChannelId) -> Result<()> {
        self.delete_record::<ChannelSpec>(id, &[]).await
    }

    async fn create_rule(&self, spec: AlertRuleSpec) -> Result<AlertRule> {
        self.create_record(None, spec).await
    }
    async fn update_rule(
        &self,
        id: RuleId,
        version: i64,
        spec: AlertRuleSpec,
    ) -> Result<AlertRule> {
        self.update_record(id, version, spec).await
    }
    async fn get_rule(&self, id: RuleId) -> Result<AlertRule> {
        self.get_record(id).await
    }
    async fn list_rules(&self) -> Result<Vec<AlertRule>> {
        self.list_records().await
    }
    async fn delete_rule(&self, id: RuleId) -> Result<()> {
        self.delete_record::<AlertRuleSpec>(id, &["DELETE FROM alert_states WHERE rule_id = ?"])
            .await
    }

    async fn create_report(&self, spec: ReportSpec) -> Result<ReportConfig> {
        self.create_record(None, spec).await
    }
    async fn update_report(
        &self,
        id: ReportId,
        version: i64,
        spec: ReportSpec,
    ) -> Result<ReportConfig> {
        self.update_record(id, version, spec).await
    }
    async fn get_report(&self, id: ReportId) -> Result<ReportConfig> {
        self.get_record(id).await
    }
    async fn list_reports(&self) -> Result<Vec<ReportConfig>> {
        self.list_records().await
    }
    async fn delete_report(&self, id: ReportId) -> Result<()> {
        self.delete_record::<ReportSpec>(id, &[]).await
    }

    async fn create_schedule(&self, spec: ScheduleSpec) -> Result<Schedule> {
        self.create_record(None, spec).await
    }
    async fn update_schedule(
        &self,
        id: ScheduleId,
        version: i64,
        spec: ScheduleSpec,
    ) -> Result<Schedule> {
        self.update_record(id, version, spec).await
    }
    async fn get_schedule(&self, id: ScheduleId) -> Result<Schedule> {
        self.get_record(id).await
    }
    async fn list_schedules(&self) -> Result<Vec<Schedule>> {
        self.list_records().await
    }
    async fn delete_schedule(&self, id: ScheduleId) -> Result<()> {
        self.delete_record::<ScheduleSpec>(id, &[]).await
    }
}
