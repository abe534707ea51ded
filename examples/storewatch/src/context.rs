//! What every command works with: the settings, the opened (and migrated) database, the
//! keyring and the registry of providers.

use std::sync::Arc;

use storewatch_core::alert::RuleEvaluator;
use storewatch_core::analysis::PolarsAnalyzer;
use storewatch_core::clock::{Clock, SystemClock};
use storewatch_core::pipeline::Pipeline;
use storewatch_core::schedule::StoreScheduler;
use storewatch_core::secrets::Keyring;
use storewatch_core::store::Store;
use storewatch_core::{Error, ErrorKind, Registry, Result};
use storewatch_pg::{PgConfig, PostgresStore};
use storewatch_sqlite::{SqliteConfig, SqliteStore};

use crate::settings::Settings;

/// The database behind the [`Store`] trait, kept concrete for what only it can answer.
#[derive(Debug, Clone)]
pub(crate) enum Database {
    /// A PostgreSQL database shared by any number of instances.
    Postgres(Arc<PostgresStore>),
    /// An embedded SQLite file.
    Sqlite(Arc<SqliteStore>),
}

impl Database {
    /// Connects to `url` (`postgres://…` or `sqlite://…`) without migrating.
    pub(crate) async fn connect(url: &str, max_connections: u32) -> Result<Database> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let store = PostgresStore::connect(
                url,
                &PgConfig::default().with_max_connections(max_connections),
            )?;
            Ok(Database::Postgres(Arc::new(store)))
        } else {
            let config = SqliteConfig {
                migrate: false,
                max_connections,
                ..SqliteConfig::default()
            };
            let location = url.strip_prefix("sqlite://").unwrap_or(url);
            let store = SqliteStore::open(location, config).await?;
            Ok(Database::Sqlite(Arc::new(store)))
        }
    }

    /// Applies the migrations the database does not have yet.
    pub(crate) async fn migrate(&self) -> Result<()> {
        match self {
            Database::Postgres(s) => s.migrate().await,
            Database::Sqlite(s) => s.migrate().await,
        }
    }

    /// The migrations not applied yet (empty when the schema is current).
    pub(crate) async fn pending_migrations(&self) -> Result<Vec<i64>> {
        match self {
            Database::Postgres(s) => s.pending_migrations().await,
            Database::Sqlite(s) => s.pending_migrations().await,
        }
    }

    /// The database as a store.
    pub(crate) fn store(&self) -> Arc<dyn Store> {
        match self {
            Database::Postgres(s) => s.clone(),
            Database::Sqlite(s) => s.clone(),
        }
    }

    /// Closes the connections.
    pub(crate) async fn close(&self) {
        match self {
            Database::Postgres(s) => s.close().await,
            Database::Sqlite(s) => s.close().await,
        }
    }
}

/// The opened service: settings, database, keyring.
#[derive(Debug, Clone)]
pub(crate) struct Context {
    /// The settings it was opened with.
    pub(crate) settings: Settings,
    /// The database.
    pub(crate) db: Database,
    /// The database as a store.
    pub(crate) store: Arc<dyn Store>,
    /// The master keys, when `STOREWATCH_MASTER_KEY(S)` is set.
    keyring: Option<Keyring>,
    /// The clock everything reads.
    pub(crate) clock: Arc<dyn Clock>,
}

impl Context {
    /// Connects, migrates, reads the keyring from the environment, and refuses to go on
    /// without a key when sealed data exists.
    pub(crate) async fn open(settings: Settings) -> Result<Context> {
        let keyring = Keyring::from_env()?;
        Context::open_with_keyring(settings, keyring).await
    }

    /// [`Context::open`] with a given keyring (the demo generates one).
    pub(crate) async fn open_with_keyring(
        settings: Settings,
        keyring: Option<Keyring>,
    ) -> Result<Context> {
        let db = Database::connect(&settings.database_url, settings.max_connections)
            .await
            .map_err(|e| e.context(format!("opening {}", settings.database_display())))?;
        db.migrate().await?;
        let store = db.store();
        if keyring.is_none() {
            let sealed = store.list_credentials().await?.len() + store.list_channels().await?.len();
            if sealed > 0 {
                return Err(Error::new(
                    ErrorKind::Crypto,
                    format!(
                        "the database holds {sealed} sealed credentials and channels but no master key is set: \
                         set STOREWATCH_MASTER_KEY (base64 of 32 bytes) or STOREWATCH_MASTER_KEYS (id:key,…) \
                         to the key they were sealed with"
                    ),
                ));
            }
        }
        Ok(Context {
            settings,
            db,
            store,
            keyring,
            clock: Arc::new(SystemClock),
        })
    }

    /// The keyring, or an error saying how to set one.
    pub(crate) fn keyring(&self) -> Result<&Keyring> {
        self.keyring.as_ref().ok_or_else(|| {
            Error::new(
                ErrorKind::Crypto,
                "no master key: set STOREWATCH_MASTER_KEY (base64 of 32 random bytes, e.g. `openssl rand -base64 32`) \
                 or STOREWATCH_MASTER_KEYS (id:key,… current first)",
            )
        })
    }

    /// Every provider this binary knows: App Store Connect, Google Play, Lark.
    pub(crate) fn registry() -> Registry {
        let mut registry = Registry::new();
        storewatch_apple::register(&mut registry);
        storewatch_google::register(&mut registry);
        storewatch_lark::register(&mut registry);
        registry
    }

    /// A scheduler handle over this database for queueing, cancelling and status; the
    /// CLI commands that use it never run it.
    pub(crate) fn scheduler(&self) -> Result<StoreScheduler> {
        StoreScheduler::new(
            self.store.clone(),
            Arc::new(self.pipeline()?),
            self.clock.clone(),
            self.settings.scheduler_config(),
        )
    }

    /// The collect → analyze → alert → notify pipeline over this database.
    pub(crate) fn pipeline(&self) -> Result<Pipeline> {
        let mut builder = Pipeline::builder(self.store.clone(), Context::registry())
            .analyzer(Arc::new(PolarsAnalyzer::new()))
            .evaluator(Arc::new(RuleEvaluator::new()))
            .clock(self.clock.clone())
            .config(self.settings.pipeline_config());
        if let Some(keyring) = &self.keyring {
            builder = builder.keyring(keyring.clone());
        }
        builder.build()
    }
}
