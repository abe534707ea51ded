#![doc = include_str!("../README.md")]

pub mod memory;
pub mod synthetic;
pub mod timing;
