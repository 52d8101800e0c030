//! Shared by the tests that run the `brasa` binary: the command and the
//! repository's test data.

#![allow(dead_code)] // each test file uses a different subset

use std::{path::PathBuf, process::Command};

/// The `brasa` binary under test.
pub fn brasa() -> Command {
    Command::new(env!("CARGO_BIN_EXE_brasa"))
}

/// A file of the repository's `testdata/`.
pub fn testdata(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../testdata")
        .join(path)
}
