//! Compiles `bpf/*.bpf.c` with clang and generates a libbpf-rs skeleton for
//! each program into `OUT_DIR`.

use std::{env, path::PathBuf};

use libbpf_cargo::SkeletonBuilder;

/// BPF programs, relative to the workspace root, and the skeleton names.
const PROGRAMS: &[(&str, &str)] = &[("bpf/sampler.bpf.c", "sampler.skel.rs")];
/// Headers the programs include.
const HEADERS: &[&str] = &["bpf/sampler.h", "bpf/vmlinux.h"];

fn main() {
    let manifest = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let root = manifest
        .parent()
        .expect("the crate lives in the workspace")
        .to_owned();
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("set by cargo"));
    let bpf_dir = root.join("bpf");
    for (source, skeleton) in PROGRAMS {
        let source = root.join(source);
        SkeletonBuilder::new()
            .source(&source)
            .clang_args(["-I".as_ref(), bpf_dir.as_os_str()])
            .build_and_generate(out.join(skeleton))
            .unwrap_or_else(|e| panic!("building {}: {e:#}", source.display()));
        println!("cargo:rerun-if-changed={}", source.display());
    }
    for header in HEADERS {
        println!("cargo:rerun-if-changed={}", root.join(header).display());
    }
}
