//! Benchmarks for Brasa.
//!
//! Criterion benches live in `benches/` (`cargo bench -p brasa-benches`);
//! shell scripts next to this crate run Brasa side by side with peer tools
//! and print ratios. This library holds the inputs they share.

#![warn(missing_docs)]

pub mod agent_like;
pub mod server;
