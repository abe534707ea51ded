#![doc = include_str!("../README.md")]

pub mod analytics;
pub mod auth;
mod client;
pub mod config;
mod error;
#[cfg(feature = "fake")]
pub mod fake;
pub mod sales;
mod source;

pub use client::RateLimitHeader;
pub use config::{AppStoreConnectConfig, HttpOptions};
pub use source::{AppStoreConnectSource, KIND, register};
