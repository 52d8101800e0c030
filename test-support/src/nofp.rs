//! Builds the workloads of `testdata/workloads/nofp/`: no frame pointers,
//! so only the unwind tables (.eh_frame) lead from a sample back to `main`.

use std::path::PathBuf;

use crate::workloads::compile;

/// Builds `nofp/spin.c` without frame pointers (clang), into `name`.
pub fn build_nofp_c(name: &str) -> PathBuf {
    let flags = [
        "-O2",
        "-g",
        "-fomit-frame-pointer",
        "-momit-leaf-frame-pointer",
    ];
    compile("clang", &flags, "nofp/spin.c", name)
}

/// Builds `nofp/plugin.c` without frame pointers (clang) into the shared
/// library `name`, for spin.c's `dlopen` mode.
pub fn build_nofp_plugin(name: &str) -> PathBuf {
    let flags = [
        "-O2",
        "-g",
        "-shared",
        "-fPIC",
        "-fomit-frame-pointer",
        "-momit-leaf-frame-pointer",
    ];
    compile("clang", &flags, "nofp/plugin.c", name)
}

/// Builds `nofp/spin.rs` without frame pointers, into `name`; its
/// functions are `spin::run_workload` etc.
pub fn build_nofp_rust(name: &str) -> PathBuf {
    let flags = [
        "-O",
        "-g",
        "-C",
        "force-frame-pointers=no",
        "--crate-name",
        "spin",
    ];
    compile("rustc", &flags, "nofp/spin.rs", name)
}
