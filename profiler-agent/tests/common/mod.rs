//! Shared by the recording tests: building the workloads of
//! `testdata/workloads/` and reading the stacks of a recorded profile.

#![allow(dead_code)]

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use brasa_profile::Profile;

/// The workload sources.
pub fn workloads_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/workloads")
}

/// Where built workloads go.
fn build_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("workloads");
    std::fs::create_dir_all(&dir).expect("create the workload build dir");
    dir
}

fn run(command: &mut Command) {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("{command:?}: {e}"));
    assert!(
        output.status.success(),
        "{command:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
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

/// One sample's stack as names, root first, split into user and kernel
/// parts, with its pid and count.
#[derive(Debug, Clone)]
pub struct Stack {
    pub pid: i64,
    pub user: Vec<String>,
    pub kernel: Vec<String>,
    pub count: i64,
}

/// The stacks of a profile from the agent.
pub fn stacks(profile: &Profile) -> Vec<Stack> {
    let string = |i: i64| profile.string_table[i as usize].clone();
    let kernel_mapping = profile
        .mapping
        .iter()
        .find(|m| string(m.filename) == "[kernel.kallsyms]")
        .map(|m| m.id);
    profile
        .sample
        .iter()
        .map(|sample| {
            let mut user = Vec::new();
            let mut kernel = Vec::new();
            // Leaf first in pprof; innermost line first in a location.
            for id in sample.location_id.iter().rev() {
                let location = &profile.location[*id as usize - 1];
                let names: Vec<String> = if location.line.is_empty() {
                    vec![format!("{:#x}", location.address)]
                } else {
                    location
                        .line
                        .iter()
                        .rev()
                        .map(|line| string(profile.function[line.function_id as usize - 1].name))
                        .collect()
                };
                if Some(location.mapping_id) == kernel_mapping {
                    kernel.extend(names);
                } else {
                    user.extend(names);
                }
            }
            let pid = sample
                .label
                .iter()
                .find(|l| string(l.key) == "pid")
                .map_or(0, |l| l.num);
            Stack {
                pid,
                user,
                kernel,
                count: sample.value[0],
            }
        })
        .collect()
}

/// The user stacks of `pid` with one name per address, root first: the
/// function the address is in, not the ones inlined into it (as perf
/// shows with `--no-inline`).
pub fn physical_stacks(profile: &Profile, pid: i64) -> Vec<(Vec<String>, u64)> {
    let string = |i: i64| profile.string_table[i as usize].clone();
    let label = |sample: &brasa_profile::pprof::Sample, key: &str| {
        sample
            .label
            .iter()
            .find(|l| string(l.key) == key)
            .map(|l| l.num)
    };
    profile
        .sample
        .iter()
        .filter(|sample| label(sample, "pid") == Some(pid))
        .map(|sample| {
            let frames = sample
                .location_id
                .iter()
                .rev()
                .map(|id| &profile.location[*id as usize - 1])
                .filter(|location| {
                    // Mapping ids start at 1; 0 is no mapping.
                    let mapping = (location.mapping_id as usize)
                        .checked_sub(1)
                        .and_then(|i| profile.mapping.get(i));
                    mapping.is_none_or(|m| string(m.filename) != "[kernel.kallsyms]")
                })
                .map(|location| match location.line.last() {
                    // The last line is the function the others are inlined into.
                    Some(line) => string(profile.function[line.function_id as usize - 1].name),
                    None => format!("{:#x}", location.address),
                })
                .collect();
            (frames, sample.value[0] as u64)
        })
        .collect()
}

/// Whether `chain` appears in `frames` as a contiguous run.
pub fn contains_chain(frames: &[String], chain: &[&str]) -> bool {
    frames
        .windows(chain.len())
        .any(|w| w.iter().zip(chain).all(|(a, b)| a == b))
}

/// What a recording of the `cpu` mode shows.
#[derive(Debug)]
pub struct Split {
    /// Samples in total.
    pub total: i64,
    /// Samples whose user stack holds main -> run -> hot/cold -> leaf.
    pub full_chain: i64,
    /// Of those, samples under the hot branch.
    pub hot: i64,
}

impl Split {
    pub fn full_chain_fraction(&self) -> f64 {
        self.full_chain as f64 / self.total.max(1) as f64
    }
    pub fn hot_fraction(&self) -> f64 {
        self.hot as f64 / self.full_chain.max(1) as f64
    }
}

/// Counts the chains `[main, run, hot, leaf]` and `[main, run, cold, leaf]`.
pub fn split(stacks: &[Stack], main: &str, run: &str, hot: &str, cold: &str, leaf: &str) -> Split {
    let mut split = Split {
        total: 0,
        full_chain: 0,
        hot: 0,
    };
    for stack in stacks {
        split.total += stack.count;
        if contains_chain(&stack.user, &[main, run, hot, leaf]) {
            split.full_chain += stack.count;
            split.hot += stack.count;
        } else if contains_chain(&stack.user, &[main, run, cold, leaf]) {
            split.full_chain += stack.count;
        }
    }
    split
}
pub mod nofp;
pub mod perf;
pub mod recording;
