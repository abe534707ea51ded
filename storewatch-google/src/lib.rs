#![doc = include_str!("../README.md")]

mod auth;
mod client;
mod config;
pub mod csv;
mod error;
#[cfg(feature = "fake")]
pub mod fake;
mod limiter;
pub mod metrics;
mod reporting;
mod reports;
mod source;

pub use auth::{REPORTING_SCOPE, STORAGE_SCOPE};
pub use config::{
    DEFAULT_REPORTING_BASE_URL, DEFAULT_STORAGE_BASE_URL, GooglePlayConfig, HttpOptions,
};
pub use source::{GooglePlaySource, GooglePlaySourceBuilder, KIND, register};
