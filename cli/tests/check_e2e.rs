//! End to end, as CI uses it: two builds of `testdata/workloads/regress`,
//! one with a deliberately slower `checksum`, recorded with `brasa record`,
//! are told apart by `brasa check`; two sets of recordings of the same
//! build are not. Needs root (eBPF) and clang, like CI.

use std::{
    path::{Path, PathBuf},
    process::{Command, Output},
};

use brasa_test_support::brasa;

/// Recordings per side: several, so the check accounts for run-to-run
/// variation (Welch per run) instead of comparing raw counts.
const RUNS_PER_SIDE: usize = 5;
/// How long each recording runs the workload, in milliseconds.
const RUN_MS: &str = "1000";
/// Sampling frequency: up to about 900 samples per one-second run.
const FREQUENCY: &str = "999";

fn source() -> PathBuf {
    brasa_test_support::testdata("workloads/regress/regress.c")
}

/// Builds the workload as `testdata/workloads/regress/README.md` says.
fn build(dir: &Path, name: &str, defines: &[&str]) -> PathBuf {
    let out = dir.join(name);
    let status = Command::new("clang")
        .args([
            "-O1",
            "-g",
            "-fno-omit-frame-pointer",
            "-mno-omit-leaf-frame-pointer",
            "-fno-optimize-sibling-calls",
        ])
        .args(defines)
        .arg(source())
        .arg("-o")
        .arg(&out)
        .status()
        .expect("clang is installed by scripts/setup.sh");
    assert!(status.success(), "building {name}");
    out
}

fn record_one(binary: &Path, out: &Path) {
    let result = brasa()
        .args(["record", "--frequency", FREQUENCY, "-o"])
        .arg(out)
        .arg("--")
        .arg(binary)
        .arg(RUN_MS)
        .output()
        .unwrap();
    assert!(
        result.status.success(),
        "brasa record failed (root and eBPF are needed): {}",
        String::from_utf8_lossy(&result.stderr)
    );
}

/// Records each of `sets` (label, binary) `RUNS_PER_SIDE` times, the sets
/// interleaved so that a drift in the machine's load touches all alike.
fn record_sets(dir: &Path, sets: &[(&str, &Path)]) -> Vec<Vec<PathBuf>> {
    let mut files = vec![Vec::new(); sets.len()];
    for run in 0..RUNS_PER_SIDE {
        for ((label, binary), files) in sets.iter().zip(&mut files) {
            let out = dir.join(format!("{label}{run}.pb.gz"));
            record_one(binary, &out);
            files.push(out);
        }
    }
    files
}

fn check(base: &[PathBuf], head: &[PathBuf]) -> Output {
    brasa()
        .arg("check")
        .arg("--base")
        .args(base)
        .arg("--head")
        .args(head)
        .args(["--format", "json"])
        .output()
        .unwrap()
}

#[test]
fn check_tells_a_slower_build_apart_and_passes_the_same_build() {
    let dir = tempfile::tempdir().unwrap();
    let base_bin = build(dir.path(), "base", &[]);
    let head_bin = build(dir.path(), "head", &["-DREGRESS"]);
    let mut sets = record_sets(
        dir.path(),
        &[
            ("base", &base_bin),
            ("again", &base_bin),
            ("head", &head_bin),
        ],
    )
    .into_iter();
    let (base, base_again, head) = (
        sets.next().unwrap(),
        sets.next().unwrap(),
        sets.next().unwrap(),
    );

    let slower = check(&base, &head);
    let report = String::from_utf8_lossy(&slower.stdout);
    eprintln!("base vs head:\n{report}");
    assert_eq!(slower.status.code(), Some(1), "{report}");
    assert!(report.contains("\"method\": \"welch_per_run\""), "{report}");
    assert!(report.contains("\"function\": \"checksum\""), "{report}");

    let same = check(&base, &base_again);
    let report = String::from_utf8_lossy(&same.stdout);
    eprintln!("base vs base:\n{report}");
    assert_eq!(same.status.code(), Some(0), "{report}");

    // The diff of the same recordings names checksum as the biggest riser.
    let svg = dir.path().join("diff.svg");
    let diff = brasa()
        .arg("diff")
        .arg(&base[0])
        .arg(&head[0])
        .arg("-o")
        .arg(&svg)
        .output()
        .unwrap();
    assert!(diff.status.success());
    let table = String::from_utf8_lossy(&diff.stdout);
    let risers: Vec<&str> = table
        .lines()
        .skip(2)
        .filter(|l| l.trim_end().ends_with('%') && l.contains(" +"))
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert_eq!(risers.first(), Some(&"checksum"), "{table}");
    assert!(std::fs::read_to_string(&svg).unwrap().contains("checksum"));
}
