#![doc = include_str!("../README.md")]

pub mod alert;
pub mod analysis;
pub mod clock;
mod error;
pub mod model;
pub mod notify;
pub mod pipeline;
mod registry;
pub mod schedule;
pub mod secrets;
pub mod source;
pub mod store;
#[cfg(feature = "testkit")]
pub mod testkit;

pub use error::{Error, ErrorKind, Result};
pub use registry::{NotifierFactory, Registry, SourceFactory};
