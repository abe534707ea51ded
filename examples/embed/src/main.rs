//! The service's entry point: a SQLite file, the master key from `STOREWATCH_MASTER_KEY`,
//! the API on `EMBED_LISTEN` (default 127.0.0.1:3000); Ctrl-C stops it gracefully.

use std::sync::Arc;

use storewatch_core::schedule::CancellationToken;
use storewatch_core::secrets::Keyring;
use storewatch_sqlite::{SqliteConfig, SqliteStore};
use tokio::net::TcpListener;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt().with_env_filter(filter).init();
    let keyring = Keyring::from_env()?.ok_or(
        "set STOREWATCH_MASTER_KEY to base64 of 32 random bytes (openssl rand -base64 32)",
    )?;
    let database = std::env::var("EMBED_DATABASE").unwrap_or_else(|_| "embed.db".into());
    let store = SqliteStore::open(&database, SqliteConfig::default()) // creates and migrates
        .await
        .map_err(|e| e.context(format!("EMBED_DATABASE={database}")))?;
    let addr = std::env::var("EMBED_LISTEN").unwrap_or_else(|_| "127.0.0.1:3000".into());
    let listener = TcpListener::bind(&addr)
        .await
        .map_err(|e| format!("EMBED_LISTEN={addr}: {e}"))?;

    let shutdown = CancellationToken::new();
    let on_signal = shutdown.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            on_signal.cancel();
        }
    });
    embed::run(
        Arc::new(store),
        embed::registry(),
        keyring,
        listener,
        shutdown,
    )
    .await?;
    Ok(())
}
