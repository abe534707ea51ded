//! `storewatch demo`: sample apps, the real pipeline, FakeLark, and a printout.

#![allow(clippy::print_stdout)] // the demo's output is its purpose

use std::sync::Arc;

use chrono::{Datelike, Days, NaiveDate};
use clap::Args;
use secrecy::SecretString;
use storewatch_core::alert::RuleEvaluator;
use storewatch_core::analysis::{Analyzer, PolarsAnalyzer, required_days};
use storewatch_core::clock::{Clock, SystemClock};
use storewatch_core::model::{
    AbsOp, AlertRuleSpec, App, AppSpec, Condition, Direction, Execution, InstanceId, Mention,
    Metric, NewExecution, Platform, ReportSpec, Severity, Task, Window,
};
use storewatch_core::pipeline::{Pipeline, PipelineConfig};
use storewatch_core::schedule::RetryPolicy;
use storewatch_core::secrets::{Keyring, create_channel, create_credential};
use storewatch_core::source::{MemorySource, MetricSource};
use storewatch_core::store::{
    ConfigStore, DaySelection, HistoryQuery, MemoryStore, MetricStore, RunStore,
};
use storewatch_core::{Registry, Result};
use storewatch_lark::fake::{FakeLark, WebhookOptions};
use tokio_util::sync::CancellationToken;

/// Options of `storewatch demo`.
#[derive(Debug, Args)]
pub(crate) struct DemoArgs {
    /// Days of history to backfill.
    #[arg(long, default_value_t = 120, value_parser = clap::value_parser!(u32).range(36..=400))]
    days: u32,
}

const IOS_KIND: &str = "demo_app_store";
const ANDROID_KIND: &str = "demo_google_play";

/// The sample apps: (name, platform, bundle id, base daily downloads).
const APPS: [(&str, Platform, &str, f64); 6] = [
    (
        "Pocket Planner",
        Platform::Ios,
        "com.example.planner",
        5200.0,
    ),
    ("Trail Maps", Platform::Ios, "com.example.trails", 1800.0),
    ("Recipe Box", Platform::Ios, "com.example.recipes", 950.0),
    (
        "Pocket Planner for Android",
        Platform::Android,
        "com.example.planner.android",
        7400.0,
    ),
    (
        "Trail Maps for Android",
        Platform::Android,
        "com.example.trails.android",
        2600.0,
    ),
    (
        "Recipe Box for Android",
        Platform::Android,
        "com.example.recipes.android",
        1300.0,
    ),
];

/// Fills the sources with a weekly pattern, a slow trend, a little noise, and two
/// anomalies yesterday: Trail Maps iOS downloads collapse, Pocket Planner Android crashes.
fn seed(ios: &MemorySource, android: &MemorySource, apps: &[App], yesterday: NaiveDate, days: u32) {
    for (i, app) in apps.iter().enumerate() {
        let base = APPS[i].3;
        let source = if app.platform == Platform::Ios {
            ios
        } else {
            android
        };
        for back in 0..u64::from(days) {
            let Some(day) = yesterday.checked_sub_days(Days::new(back)) else {
                continue;
            };
            let weekly = [1.0, 0.97, 0.95, 0.98, 1.04, 1.22, 1.28]
                [day.weekday().num_days_from_monday() as usize];
            let noise = 1.0 + 0.02 * (((back * 7 + i as u64 * 13) % 11) as f64 - 5.0) / 5.0;
            let trend = 1.0 - 0.0004 * back as f64;
            let mut downloads = (base * weekly * noise * trend).round();
            if back == 0 && app.bundle_id.as_str() == "com.example.trails" {
                downloads = (downloads * 0.35).round();
            }
            source.insert(&app.bundle_id, Metric::DOWNLOADS, day, "", downloads);
            source.insert(
                &app.bundle_id,
                Metric::ACTIVE_DEVICES,
                day,
                "",
                (downloads * 6.5).round(),
            );
            if app.platform == Platform::Android {
                let spike = back == 0 && app.bundle_id.as_str() == "com.example.planner.android";
                let rate = if spike {
                    0.031
                } else {
                    0.008 + 0.001 * ((back % 5) as f64) / 5.0
                };
                source.insert(&app.bundle_id, Metric::CRASH_RATE, day, "", rate);
            }
        }
    }
}

async fn execute(pipeline: &Pipeline, store: &MemoryStore, new: NewExecution) -> Result<Execution> {
    let instance = InstanceId::from("demo");
    store.insert_execution(new).await?;
    let claimed = store
        .claim_execution(&instance, std::time::Duration::from_secs(600))
        .await?
        .ok_or_else(|| storewatch_core::Error::internal("the demo execution was not claimable"))?;
    let (done, _) = pipeline
        .execute(
            &claimed,
            &instance,
            CancellationToken::new(),
            &RetryPolicy::default(),
        )
        .await?;
    Ok(done)
}

fn cell(v: Option<f64>) -> String {
    v.map_or_else(String::new, |v| format!("{v:.2}"))
}

pub(crate) async fn run(args: DemoArgs, _settings: crate::settings::Settings) -> Result<()> {
    let clock = SystemClock;
    let yesterday = clock.now().date_naive().pred_opt().unwrap_or_default();
    let lark = FakeLark::start().await?;
    let webhook = lark.add_webhook(
        "demo-bot",
        WebhookOptions {
            secret: Some("demo-signing-secret".into()),
            ..Default::default()
        },
    );
    let sheet = lark.add_spreadsheet(
        "cli_demo",
        "demo-app-secret",
        "shtcnDemo0123456789",
        "daily1",
    );
    let store = Arc::new(MemoryStore::new());
    let keyring = Keyring::from_raw(&[("demo", rand::random::<[u8; 32]>())])?;

    let mut apps = Vec::new();
    for (name, platform, bundle, _) in APPS {
        apps.push(
            store
                .create_app(AppSpec::new(name, platform, bundle)?)
                .await?,
        );
    }
    let ios = Arc::new(MemorySource::new(
        IOS_KIND,
        Platform::Ios,
        vec![Metric::DOWNLOADS, Metric::ACTIVE_DEVICES],
        yesterday,
    ));
    let android = Arc::new(MemorySource::new(
        ANDROID_KIND,
        Platform::Android,
        vec![
            Metric::DOWNLOADS,
            Metric::ACTIVE_DEVICES,
            Metric::CRASH_RATE,
        ],
        yesterday,
    ));
    seed(&ios, &android, &apps, yesterday, args.days);

    let mut registry = Registry::new();
    let (i, a): (Arc<dyn MetricSource>, Arc<dyn MetricSource>) = (ios.clone(), android.clone());
    registry.register_source(IOS_KIND, move |_| Ok(i.clone()));
    registry.register_source(ANDROID_KIND, move |_| Ok(a.clone()));
    storewatch_lark::register(&mut registry);

    let empty = SecretString::from("{}");
    create_credential(
        store.as_ref(),
        &keyring,
        "App Store Connect (demo)",
        Platform::Ios,
        IOS_KIND,
        &empty,
    )
    .await?;
    create_credential(
        store.as_ref(),
        &keyring,
        "Google Play (demo)",
        Platform::Android,
        ANDROID_KIND,
        &empty,
    )
    .await?;
    let bot = create_channel(
        store.as_ref(),
        &keyring,
        "Growth team bot",
        storewatch_lark::WEBHOOK_KIND,
        &SecretString::from(webhook.to_string()),
    )
    .await?;
    let rows = create_channel(
        store.as_ref(),
        &keyring,
        "Daily KPI sheet",
        storewatch_lark::SHEET_KIND,
        &SecretString::from(sheet.to_string()),
    )
    .await?;

    let mut drop_rule = AlertRuleSpec::new(
        "Downloads fell week over week",
        Metric::DOWNLOADS,
        Condition::PctChange {
            window: Window::Wow,
            direction: Direction::Down,
            threshold_pct: 40.0,
        },
        Severity::Critical,
        bot.id,
    )?;
    drop_rule.min_baseline = Some(100.0);
    drop_rule.mentions = vec![Mention::All];
    store.create_rule(drop_rule).await?;
    let crash_rule = AlertRuleSpec::new(
        "Crash rate too high",
        Metric::CRASH_RATE,
        Condition::Absolute {
            op: AbsOp::Above,
            value: 0.02,
        },
        Severity::Warning,
        bot.id,
    )?;
    store.create_rule(crash_rule).await?;
    store
        .create_report(ReportSpec {
            name: "Daily app metrics".into(),
            app_id: None,
            metrics: vec![
                Metric::DOWNLOADS,
                Metric::ACTIVE_DEVICES,
                Metric::CRASH_RATE,
            ],
            channels: vec![bot.id, rows.id],
            is_active: true,
        })
        .await?;

    let pipeline = Pipeline::builder(store.clone(), registry)
        .analyzer(Arc::new(PolarsAnalyzer::new()))
        .evaluator(Arc::new(RuleEvaluator::new()))
        .keyring(keyring)
        .config(PipelineConfig::default().with_lookback_days(args.days))
        .build()?;

    println!(
        "== storewatch demo: 6 apps, {} days up to {yesterday} ==\n",
        args.days
    );
    let now = store.now().await?;
    let backfill = execute(
        &pipeline,
        &store,
        NewExecution::manual(Task::DataCollection, yesterday, now),
    )
    .await?;
    let points = store
        .history(&HistoryQuery::range(
            yesterday - Days::new(u64::from(args.days)),
            yesterday,
        ))
        .await?
        .len();
    println!(
        "backfill: {} ({} apps collected, {} points stored)\n",
        backfill.status, backfill.success_count, points
    );

    let run = execute(
        &pipeline,
        &store,
        NewExecution::manual(Task::FullAnalysis, yesterday, now),
    )
    .await?;

    let history = store
        .history(&HistoryQuery::new(DaySelection::Days(required_days(
            yesterday,
        ))))
        .await?;
    let analysis = PolarsAnalyzer::new().analyze(&history, yesterday)?;
    println!("== analysis of {yesterday} ==");
    println!(
        "platform,bundle_id,metric,value,dod_pct,wow_pct,yoy_pct,avg_7d,seasonal_median,seasonal_z"
    );
    for s in &analysis.summaries {
        println!(
            "{},{},{},{:.4},{},{},{},{:.2},{},{}",
            s.key.platform,
            s.key.bundle_id,
            s.key.metric,
            s.value,
            cell(s.dod_pct),
            cell(s.wow_pct),
            cell(s.yoy_pct),
            s.avg_7d,
            cell(s.seasonal_median),
            cell(s.seasonal_z)
        );
    }
    println!("\n== alerts ==");
    let mut states: Vec<_> = store.alert_states().await?.into_values().collect();
    states.sort_by(|a, b| a.fingerprint.cmp(&b.fingerprint));
    for s in states
        .iter()
        .filter(|s| s.status == storewatch_core::model::AlertStatus::Firing)
    {
        let app = apps
            .iter()
            .find(|a| a.id == s.fingerprint.app_id)
            .map(|a| a.bundle_id.to_string())
            .unwrap_or_default();
        println!(
            "FIRING {} {} (rule {})",
            app, s.fingerprint.metric, s.fingerprint.rule_id
        );
    }
    println!("\n== what Lark received ==\n{}", lark.transcript());
    println!("== execution ==");
    println!(
        "#{} {} {} for {}: {} — {} ok, {} errors, {} alerts, {} messages, {:.2?}",
        run.id,
        run.trigger,
        run.task,
        run.target_date,
        run.status,
        run.success_count,
        run.error_count,
        run.alerts_generated,
        run.notifications_sent,
        run.duration.unwrap_or_default()
    );
    print!("{}", run.output_log);
    if run.status != storewatch_core::model::ExecutionStatus::Success {
        return Err(storewatch_core::Error::internal(format!(
            "the demo run ended {}: {}",
            run.status, run.error_log
        )));
    }
    Ok(())
}
