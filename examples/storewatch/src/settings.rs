//! Runtime settings: `storewatch.toml`, then `STOREWATCH_*` environment variables (which
//! win), then defaults.
//!
//! Secrets never live here: the master keys come from `STOREWATCH_MASTER_KEY(S)` (read by
//! [`Keyring::from_env`](storewatch_core::secrets::Keyring::from_env)), provider keys and
//! webhook URLs are sealed in the store.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;
use storewatch_core::pipeline::PipelineConfig;
use storewatch_core::schedule::{RetryPolicy, SchedulerConfig};
use storewatch_core::{Error, ErrorKind, Result};

/// The file read when `--config`/`STOREWATCH_CONFIG` name none (skipped when absent).
pub(crate) const DEFAULT_FILE: &str = "storewatch.toml";
/// The embedded default database.
pub(crate) const DEFAULT_DATABASE_URL: &str = "sqlite://storewatch.db";

/// Everything the binary reads from `storewatch.toml` and the environment.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct Settings {
    /// `postgres://…` or `sqlite://…`.
    pub(crate) database_url: String,
    /// Where `serve` listens.
    pub(crate) listen: SocketAddr,
    /// Log lines as `text` or `json`.
    pub(crate) log_format: LogFormat,
    /// A `tracing` filter (`info`, `storewatch=debug,sqlx=warn`, …).
    pub(crate) log_level: String,
    /// Base URL of the admin UI, linked from alert cards.
    pub(crate) admin_base_url: Option<String>,
    /// Pool size of the database.
    pub(crate) max_connections: u32,
    /// How the scheduler of `serve` paces itself.
    pub(crate) scheduler: SchedulerSettings,
    /// How far data collection reaches back.
    pub(crate) collection: CollectionSettings,
}

/// The `[scheduler]` table.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct SchedulerSettings {
    /// Seconds between looks for due slots and pending runs.
    pub(crate) tick_secs: u64,
    /// Seconds a claimed run is held without renewal.
    pub(crate) lease_secs: u64,
    /// Runs executed at once by one instance.
    pub(crate) concurrency: usize,
    /// Seconds running executions may go on after SIGTERM.
    pub(crate) shutdown_grace_secs: u64,
    /// Seconds before the first retry of a failed run; doubles with every attempt.
    pub(crate) retry_base_secs: u64,
    /// Longest wait before a retry, in seconds.
    pub(crate) retry_cap_secs: u64,
    /// Seconds without a heartbeat after which an instance is forgotten.
    pub(crate) forget_instances_after_secs: u64,
}

/// The `[collection]` table.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct CollectionSettings {
    /// Days back that missing data is filled.
    pub(crate) lookback_days: u32,
    /// Recent days collected again for late corrections.
    pub(crate) restate_days: u32,
}

/// The shape of log lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub(crate) enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            database_url: DEFAULT_DATABASE_URL.to_owned(),
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            log_format: LogFormat::Text,
            log_level: "info".to_owned(),
            admin_base_url: None,
            max_connections: 10,
            scheduler: SchedulerSettings::default(),
            collection: CollectionSettings::default(),
        }
    }
}

impl Default for SchedulerSettings {
    fn default() -> Self {
        let d = SchedulerConfig::default();
        SchedulerSettings {
            tick_secs: d.tick.as_secs(),
            lease_secs: d.lease.as_secs(),
            concurrency: d.concurrency,
            shutdown_grace_secs: d.shutdown_grace.as_secs(),
            retry_base_secs: d.retry.base.as_secs(),
            retry_cap_secs: d.retry.cap.as_secs(),
            forget_instances_after_secs: d.forget_instances_after.as_secs(),
        }
    }
}

impl Default for CollectionSettings {
    fn default() -> Self {
        let d = PipelineConfig::default();
        CollectionSettings {
            lookback_days: d.lookback_days,
            restate_days: d.restate_days,
        }
    }
}

/// One environment variable and the setting it overrides.
struct EnvVar {
    name: &'static str,
    key: &'static str,
    set: fn(&mut Settings, &str) -> std::result::Result<(), String>,
}

fn parse<T: std::str::FromStr>(value: &str) -> std::result::Result<T, String>
where
    T::Err: std::fmt::Display,
{
    value.trim().parse().map_err(|e: T::Err| e.to_string())
}

/// Every `STOREWATCH_*` variable that sets a setting (`DATABASE_URL` is read too).
const ENV_VARS: &[EnvVar] = &[
    EnvVar {
        name: "STOREWATCH_DATABASE_URL",
        key: "database_url",
        set: |s, v| {
            s.database_url = v.to_owned();
            Ok(())
        },
    },
    EnvVar {
        name: "STOREWATCH_LISTEN",
        key: "listen",
        set: |s, v| parse(v).map(|x| s.listen = x),
    },
    EnvVar {
        name: "STOREWATCH_LOG_FORMAT",
        key: "log_format",
        set: |s, v| {
            s.log_format = match v {
                "text" => LogFormat::Text,
                "json" => LogFormat::Json,
                _ => return Err("expected text or json".to_owned()),
            };
            Ok(())
        },
    },
    EnvVar {
        name: "STOREWATCH_LOG_LEVEL",
        key: "log_level",
        set: |s, v| {
            s.log_level = v.to_owned();
            Ok(())
        },
    },
    EnvVar {
        name: "STOREWATCH_ADMIN_BASE_URL",
        key: "admin_base_url",
        set: |s, v| {
            s.admin_base_url = Some(v.to_owned());
            Ok(())
        },
    },
    EnvVar {
        name: "STOREWATCH_MAX_CONNECTIONS",
        key: "max_connections",
        set: |s, v| parse(v).map(|x| s.max_connections = x),
    },
    EnvVar {
        name: "STOREWATCH_SCHEDULER_TICK_SECS",
        key: "scheduler.tick_secs",
        set: |s, v| parse(v).map(|x| s.scheduler.tick_secs = x),
    },
    EnvVar {
        name: "STOREWATCH_SCHEDULER_LEASE_SECS",
        key: "scheduler.lease_secs",
        set: |s, v| parse(v).map(|x| s.scheduler.lease_secs = x),
    },
    EnvVar {
        name: "STOREWATCH_SCHEDULER_CONCURRENCY",
        key: "scheduler.concurrency",
        set: |s, v| parse(v).map(|x| s.scheduler.concurrency = x),
    },
    EnvVar {
        name: "STOREWATCH_SCHEDULER_SHUTDOWN_GRACE_SECS",
        key: "scheduler.shutdown_grace_secs",
        set: |s, v| parse(v).map(|x| s.scheduler.shutdown_grace_secs = x),
    },
    EnvVar {
        name: "STOREWATCH_SCHEDULER_RETRY_BASE_SECS",
        key: "scheduler.retry_base_secs",
        set: |s, v| parse(v).map(|x| s.scheduler.retry_base_secs = x),
    },
    EnvVar {
        name: "STOREWATCH_SCHEDULER_RETRY_CAP_SECS",
        key: "scheduler.retry_cap_secs",
        set: |s, v| parse(v).map(|x| s.scheduler.retry_cap_secs = x),
    },
    EnvVar {
        name: "STOREWATCH_SCHEDULER_FORGET_INSTANCES_AFTER_SECS",
        key: "scheduler.forget_instances_after_secs",
        set: |s, v| parse(v).map(|x| s.scheduler.forget_instances_after_secs = x),
    },
    EnvVar {
        name: "STOREWATCH_COLLECTION_LOOKBACK_DAYS",
        key: "collection.lookback_days",
        set: |s, v| parse(v).map(|x| s.collection.lookback_days = x),
    },
    EnvVar {
        name: "STOREWATCH_COLLECTION_RESTATE_DAYS",
        key: "collection.restate_days",
        set: |s, v| parse(v).map(|x| s.collection.restate_days = x),
    },
];

/// `STOREWATCH_*` variables read elsewhere, not settings.
const OTHER_ENV_VARS: &[&str] = &[
    "STOREWATCH_CONFIG",
    "STOREWATCH_MASTER_KEY",
    "STOREWATCH_MASTER_KEYS",
    // Channel secrets for `storewatch channels add|update` (kept out of shell history).
    "STOREWATCH_LARK_WEBHOOK_URL",
    "STOREWATCH_LARK_WEBHOOK_SECRET",
    "STOREWATCH_LARK_APP_SECRET",
];

impl Settings {
    /// Reads `file` (or `storewatch.toml` when present), then the environment `env`.
    ///
    /// A missing file that was asked for is an error; a missing default one is not.
    pub(crate) fn load(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Settings> {
        let mut settings = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| {
                    Error::new(
                        ErrorKind::InvalidInput,
                        format!("cannot read the config file {}", path.display()),
                    )
                    .with_source(e)
                })?;
                Settings::from_toml(&text, &path.display().to_string())?
            }
            None if Path::new(DEFAULT_FILE).exists() => {
                let text = std::fs::read_to_string(DEFAULT_FILE).map_err(|e| {
                    Error::new(
                        ErrorKind::InvalidInput,
                        format!("cannot read the config file {DEFAULT_FILE}"),
                    )
                    .with_source(e)
                })?;
                Settings::from_toml(&text, DEFAULT_FILE)?
            }
            None => Settings::default(),
        };
        settings.apply_env(env)?;
        settings.validate()?;
        Ok(settings)
    }

    /// Parses a settings file; errors name the key, the file and the line.
    pub(crate) fn from_toml(text: &str, file: &str) -> Result<Settings> {
        parse_toml(text, file)
    }

    /// Overrides settings from `STOREWATCH_*` variables (and `DATABASE_URL`, which
    /// `STOREWATCH_DATABASE_URL` beats). An unknown `STOREWATCH_*` variable is an error:
    /// a misspelt one would otherwise be ignored silently.
    pub(crate) fn apply_env(
        &mut self,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<()> {
        let env: Vec<(String, String)> = env.into_iter().collect();
        let has_own_url = env.iter().any(|(k, _)| k == "STOREWATCH_DATABASE_URL");
        for (name, value) in &env {
            if name == "DATABASE_URL" && !has_own_url {
                self.database_url = value.clone();
                continue;
            }
            if !name.starts_with("STOREWATCH_") || OTHER_ENV_VARS.contains(&name.as_str()) {
                continue;
            }
            let var = ENV_VARS.iter().find(|v| v.name == name).ok_or_else(|| {
                let known: Vec<&str> = ENV_VARS
                    .iter()
                    .map(|v| v.name)
                    .chain(OTHER_ENV_VARS.iter().copied())
                    .collect();
                Error::invalid_field(
                    "environment variable",
                    name,
                    format_args!("one of {}", known.join(", ")),
                )
            })?;
            (var.set)(self, value).map_err(|why| {
                Error::invalid_field(var.name, value, format_args!("{} ({why})", var.key))
            })?;
        }
        Ok(())
    }

    /// Checks values that parse but cannot work.
    pub(crate) fn validate(&self) -> Result<()> {
        if !self.database_url.starts_with("postgres://")
            && !self.database_url.starts_with("postgresql://")
            && !self.database_url.starts_with("sqlite:")
        {
            return Err(Error::invalid_field(
                "database_url",
                redact_url(&self.database_url),
                "postgres://… or sqlite://…",
            ));
        }
        if self.max_connections == 0 {
            return Err(Error::invalid_field("max_connections", "0", "at least 1"));
        }
        tracing_subscriber::EnvFilter::try_new(&self.log_level).map_err(|e| {
            Error::invalid_field(
                "log_level",
                &self.log_level,
                format_args!("a tracing filter such as info or storewatch=debug ({e})"),
            )
        })?;
        self.scheduler_config().validate()?;
        Ok(())
    }

    /// The scheduler's configuration.
    pub(crate) fn scheduler_config(&self) -> SchedulerConfig {
        let s = &self.scheduler;
        let retry = RetryPolicy {
            base: Duration::from_secs(s.retry_base_secs),
            cap: Duration::from_secs(s.retry_cap_secs),
            ..RetryPolicy::default()
        };
        SchedulerConfig::default()
            .with_tick(Duration::from_secs(s.tick_secs))
            .with_lease(Duration::from_secs(s.lease_secs))
            .with_concurrency(s.concurrency)
            .with_shutdown_grace(Duration::from_secs(s.shutdown_grace_secs))
            .with_retry(retry)
            .with_forget_instances_after(Duration::from_secs(s.forget_instances_after_secs))
    }

    /// The pipeline's configuration.
    pub(crate) fn pipeline_config(&self) -> PipelineConfig {
        let config = PipelineConfig::default()
            .with_lookback_days(self.collection.lookback_days)
            .with_restate_days(self.collection.restate_days);
        match &self.admin_base_url {
            Some(url) => config.with_admin_base_url(url),
            None => config,
        }
    }

    /// The database URL without its password, for messages.
    pub(crate) fn database_display(&self) -> String {
        redact_url(&self.database_url)
    }
}

/// `postgres://user:secret@host/db` → `postgres://user:***@host/db`.
pub(crate) fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// Deserializes `text` as TOML into `T`, refusing unknown keys; the error names the key
/// (its dotted path), the file and the line.
pub(crate) fn parse_toml<T: serde::de::DeserializeOwned>(text: &str, file: &str) -> Result<T> {
    let deserializer =
        toml::Deserializer::parse(text).map_err(|e| toml_error(&e, None, text, file))?;
    serde_path_to_error::deserialize(deserializer).map_err(|e| {
        let path = e.path().to_string();
        toml_error(e.inner(), Some(path), text, file)
    })
}

fn toml_error(e: &toml::de::Error, path: Option<String>, text: &str, file: &str) -> Error {
    let line = e
        .span()
        .map(|span| text[..span.start.min(text.len())].matches('\n').count() + 1);
    let message = e.message().trim_end();
    let key = path.filter(|p| !p.is_empty() && p != ".");
    let location = match line {
        Some(line) => format!("{file}, line {line}"),
        None => file.to_owned(),
    };
    let text = match key {
        Some(key) => format!("{location}: key `{key}`: {message}"),
        None => format!("{location}: {message}"),
    };
    Error::new(ErrorKind::InvalidInput, text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &[(&str, &str)]) -> Vec<(String, String)> {
        vars.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn defaults_are_the_embedded_database_and_loopback() {
        let s = Settings::load(None, env(&[])).unwrap();
        assert_eq!(s.database_url, "sqlite://storewatch.db");
        assert_eq!(s.listen.to_string(), "127.0.0.1:8080");
    }

    #[test]
    fn file_values_are_read_and_env_wins() {
        let mut s = Settings::from_toml(
            "database_url = \"postgres://sw@db/sw\"\nlisten = \"0.0.0.0:9000\"\n[scheduler]\nconcurrency = 8\n",
            "storewatch.toml",
        )
        .unwrap();
        assert_eq!(s.scheduler.concurrency, 8);
        assert_eq!(s.scheduler.lease_secs, 60, "unset keys keep defaults");
        s.apply_env(env(&[
            ("STOREWATCH_LISTEN", "127.0.0.1:9100"),
            ("DATABASE_URL", "sqlite://other.db"),
            ("STOREWATCH_SCHEDULER_CONCURRENCY", "2"),
            ("PATH", "/bin"),
        ]))
        .unwrap();
        assert_eq!(s.listen.to_string(), "127.0.0.1:9100");
        assert_eq!(s.database_url, "sqlite://other.db");
        assert_eq!(s.scheduler.concurrency, 2);
    }

    #[test]
    fn storewatch_database_url_beats_database_url() {
        let mut s = Settings::default();
        s.apply_env(env(&[
            ("STOREWATCH_DATABASE_URL", "sqlite://mine.db"),
            ("DATABASE_URL", "postgres://other"),
        ]))
        .unwrap();
        assert_eq!(s.database_url, "sqlite://mine.db");
    }

    #[test]
    fn unknown_key_names_key_file_and_line() {
        let err = Settings::from_toml(
            "listen = \"127.0.0.1:1\"\n\n[scheduler]\ntick = 3\n",
            "my.toml",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("my.toml, line 4"), "{err}");
        assert!(err.contains("tick"), "{err}");
        assert!(err.contains("tick_secs"), "lists the known keys: {err}");
    }

    #[test]
    fn wrong_type_names_key_file_and_line() {
        let err = Settings::from_toml("\n[scheduler]\nlease_secs = \"sixty\"\n", "sw.toml")
            .unwrap_err()
            .to_string();
        assert!(err.contains("sw.toml, line 3"), "{err}");
        assert!(err.contains("scheduler.lease_secs"), "{err}");
    }

    #[test]
    fn bad_env_values_name_the_variable() {
        let mut s = Settings::default();
        let err = s
            .apply_env(env(&[("STOREWATCH_SCHEDULER_TICK_SECS", "soon")]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("STOREWATCH_SCHEDULER_TICK_SECS"), "{err}");
        assert!(err.contains("soon"), "{err}");
        let err = s
            .apply_env(env(&[("STOREWATCH_LISTN", "x")]))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("STOREWATCH_LISTN") && err.contains("STOREWATCH_LISTEN"),
            "{err}"
        );
    }

    #[test]
    fn validation_refuses_unusable_values_without_printing_passwords() {
        let mut s = Settings {
            database_url: "mysql://u:hunter2@db/x".to_owned(),
            ..Settings::default()
        };
        let err = s.validate().unwrap_err().to_string();
        assert!(
            err.contains("database_url") && !err.contains("hunter2"),
            "{err}"
        );
        s.database_url = DEFAULT_DATABASE_URL.to_owned();
        s.scheduler.concurrency = 0;
        assert!(
            s.validate()
                .unwrap_err()
                .to_string()
                .contains("concurrency")
        );
        s.scheduler.concurrency = 4;
        s.scheduler.retry_cap_secs = 10;
        let err = s.validate().unwrap_err().to_string();
        assert!(err.contains("retry.cap") && err.contains("10s"), "{err}");
    }

    #[test]
    fn retry_and_instance_horizon_reach_the_scheduler() {
        let s = Settings::from_toml(
            "[scheduler]\nretry_base_secs = 5\nretry_cap_secs = 40\nforget_instances_after_secs = 600\n",
            "sw.toml",
        )
        .unwrap();
        let config = s.scheduler_config();
        assert_eq!(config.retry.base, Duration::from_secs(5));
        assert_eq!(config.retry.cap, Duration::from_secs(40));
        assert_eq!(config.forget_instances_after, Duration::from_secs(600));
    }

    #[test]
    fn urls_lose_their_password_for_display() {
        assert_eq!(
            redact_url("postgres://sw:secret@db:5432/sw"),
            "postgres://sw:***@db:5432/sw"
        );
        assert_eq!(
            redact_url("sqlite://storewatch.db"),
            "sqlite://storewatch.db"
        );
    }
}
