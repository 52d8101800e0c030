//! Benchmarks for Brasa.
//!
//! Criterion benches live in `benches/` (`cargo bench -p brasa-benches`);
//! shell scripts next to this crate run Brasa side by side with peer tools
//! and print ratios. This library holds the inputs they share.

use std::path::PathBuf;

pub mod agent_like;

/// The workspace's `testdata/` directory.
pub fn testdata() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../testdata")
}
