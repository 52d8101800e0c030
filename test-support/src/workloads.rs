//! Building the workloads of `testdata/workloads/`.

use std::{path::PathBuf, process::Command};

/// The workload sources.
pub fn workloads_dir() -> PathBuf {
    crate::testdata("workloads")
}

/// Where built workloads go.
fn build_dir() -> PathBuf {
    let dir = crate::scratch_dir().join("workloads");
    std::fs::create_dir_all(&dir).expect("create the workload build dir");
    dir
}

/// Runs `command`, panicking with its output if it fails; its stdout.
pub fn run(command: &mut Command) -> Vec<u8> {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("{command:?}: {e}"));
    assert!(
        output.status.success(),
        "{command:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

/// Compiles `source` (relative to the workloads) into `name` with
/// `compiler` and `flags`; `rustc` is `$RUSTC` when set.
pub fn compile(compiler: &str, flags: &[&str], source: &str, name: &str) -> PathBuf {
    let out = build_dir().join(name);
    let program = match compiler {
        "rustc" => std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into()),
        other => other.to_owned(),
    };
    run(Command::new(program)
        .args(flags)
        .arg("-o")
        .arg(&out)
        .arg(workloads_dir().join(source)));
    out
}

/// Builds the C workload with frame pointers (clang), into `name`.
pub fn build_c(name: &str) -> PathBuf {
    let flags = [
        "-O1",
        "-g",
        "-fno-omit-frame-pointer",
        "-mno-omit-leaf-frame-pointer",
        "-fno-optimize-sibling-calls",
    ];
    compile("clang", &flags, "c/workload.c", name)
}

/// Builds the Rust workload with frame pointers, into `name`.
pub fn build_rust(name: &str) -> PathBuf {
    let flags = [
        "-O",
        "-g",
        "-C",
        "force-frame-pointers=yes",
        "--crate-name",
        "workload",
    ];
    compile("rustc", &flags, "rust/workload.rs", name)
}

/// Builds the Go workload, into `name`.
pub fn build_go(name: &str) -> PathBuf {
    let out = build_dir().join(name);
    run(Command::new("go")
        .args(["build", "-o"])
        .arg(&out)
        .arg(".")
        .current_dir(workloads_dir().join("go")));
    out
}

/// Builds `testdata/go-pprof-server/` (a Go program serving
/// `net/http/pprof`), into `name`. Go's caches go into the build folder
/// and the module proxy is off: it builds offline, on a fresh machine,
/// from the standard library alone.
pub fn build_go_pprof_server(name: &str) -> PathBuf {
    let dir = build_dir();
    let out = dir.join(name);
    run(Command::new("go")
        .args(["build", "-o"])
        .arg(&out)
        .arg(".")
        .env("GOCACHE", dir.join("go-cache"))
        .env("GOPATH", dir.join("go-path"))
        .env("GOPROXY", "off")
        .env("GOFLAGS", "")
        .current_dir(crate::testdata("go-pprof-server")));
    out
}
