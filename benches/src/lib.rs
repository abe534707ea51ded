#![doc = include_str!("../README.md")]

pub mod floor;
pub mod memory;
pub mod process;
pub mod synthetic;
pub mod timing;
