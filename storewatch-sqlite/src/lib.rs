#![doc = include_str!("../README.md")]

mod codec;
mod config;
mod config_store;
mod error;
mod executions;
mod metrics;
mod records;
mod run_store;
mod secrets;
mod store;

pub use config::SqliteConfig;
pub use metrics::POINTS_PER_STATEMENT;
pub use secrets::ResealReport;
pub use store::SqliteStore;
