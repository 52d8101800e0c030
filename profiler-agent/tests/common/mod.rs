//! Shared by the recording tests: what every crate's tests share (from
//! `brasa-test-support`), and recording with this crate's sampler.

#![allow(dead_code, unused_imports)] // each test file uses a different subset

pub use brasa_test_support::{nofp, perf, stacks::*, workloads::*};

pub mod recording;
