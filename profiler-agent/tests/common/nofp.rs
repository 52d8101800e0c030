//! Builds the workloads of `testdata/workloads/nofp/`: no frame pointers,
//! so only the unwind tables (.eh_frame) lead from a sample back to `main`.

use std::{path::PathBuf, process::Command};

use super::{build_dir, run, workloads_dir};

/// Builds `nofp/spin.c` without frame pointers (clang), into `name`.
pub fn build_nofp_c(name: &str) -> PathBuf {
    let out = build_dir().join(name);
    run(Command::new("clang")
        .args([
            "-O2",
            "-g",
            "-fomit-frame-pointer",
            "-momit-leaf-frame-pointer",
            "-o",
        ])
        .arg(&out)
        .arg(workloads_dir().join("nofp/spin.c")));
    out
}

/// Builds `nofp/plugin.c` without frame pointers (clang) into the shared
/// library `name`, for spin.c's `dlopen` mode.
pub fn build_nofp_plugin(name: &str) -> PathBuf {
    let out = build_dir().join(name);
    run(Command::new("clang")
        .args([
            "-O2",
            "-g",
            "-shared",
            "-fPIC",
            "-fomit-frame-pointer",
            "-momit-leaf-frame-pointer",
            "-o",
        ])
        .arg(&out)
        .arg(workloads_dir().join("nofp/plugin.c")));
    out
}

/// Builds `nofp/spin.rs` without frame pointers, into `name`; its
/// functions are `spin::run_workload` etc.
pub fn build_nofp_rust(name: &str) -> PathBuf {
    let out = build_dir().join(name);
    run(
        Command::new(std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into()))
            .args([
                "-O",
                "-g",
                "-C",
                "force-frame-pointers=no",
                "--crate-name",
                "spin",
                "-o",
            ])
            .arg(&out)
            .arg(workloads_dir().join("nofp/spin.rs")),
    );
    out
}
