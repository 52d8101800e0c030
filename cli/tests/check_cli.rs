//! `brasa check` as a CI job runs it: exit status 0 (pass), 1 (regression),
//! 2 (error), and the three report formats.

use std::{
    path::{Path, PathBuf},
    process::Output,
};

use brasa_test_support::{brasa, testdata};

/// Three runs per side of a program whose `parse` takes 10% of the time in
/// base; `slow_factor` multiplies parse's samples in head.
fn write_runs(dir: &Path, slow_factor: f64) -> (Vec<PathBuf>, Vec<PathBuf>) {
    let mut base = Vec::new();
    let mut head = Vec::new();
    for (i, jitter) in [0i64, 7, -5].into_iter().enumerate() {
        let b = dir.join(format!("base{i}.folded"));
        std::fs::write(
            &b,
            format!(
                "main;parse {}\nmain;eval {}\n",
                1000 + jitter,
                9000 - jitter
            ),
        )
        .unwrap();
        base.push(b);
        let h = dir.join(format!("head{i}.folded"));
        let parse = ((1000 + jitter) as f64 * slow_factor) as i64;
        std::fs::write(
            &h,
            format!("main;parse {parse}\nmain;eval {}\n", 9000 + jitter),
        )
        .unwrap();
        head.push(h);
    }
    (base, head)
}

fn check(base: &[PathBuf], head: &[PathBuf], extra: &[&str]) -> Output {
    brasa()
        .arg("check")
        .arg("--base")
        .args(base)
        .arg("--head")
        .args(head)
        .args(extra)
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn exit_0_when_nothing_regressed() {
    let dir = tempfile::tempdir().unwrap();
    let (base, head) = write_runs(dir.path(), 1.0);
    let out = check(&base, &head, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(
        stdout(&out).starts_with("brasa check: PASS"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn exit_1_and_the_function_named_on_a_regression() {
    let dir = tempfile::tempdir().unwrap();
    let (base, head) = write_runs(dir.path(), 1.5);
    let out = check(&base, &head, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let text = stdout(&out);
    assert!(text.contains("REGRESSION: 1 function got slower"), "{text}");
    assert!(text.contains("  parse "), "{text}");
    assert!(text.contains("Welch"), "{text}");
}

#[test]
fn a_threshold_above_the_growth_passes() {
    let dir = tempfile::tempdir().unwrap();
    let (base, head) = write_runs(dir.path(), 1.5);
    let out = check(&base, &head, &["--threshold", "60%"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
}

#[test]
fn markdown_and_json_formats() {
    let dir = tempfile::tempdir().unwrap();
    let (base, head) = write_runs(dir.path(), 1.5);
    let md = check(&base, &head, &["--format", "markdown"]);
    assert_eq!(md.status.code(), Some(1));
    assert!(
        stdout(&md).starts_with("### :x: brasa check"),
        "{}",
        stdout(&md)
    );
    assert!(stdout(&md).contains("| <code>parse</code> | self |"));
    let json = check(&base, &head, &["--format", "json"]);
    assert_eq!(json.status.code(), Some(1));
    let text = stdout(&json);
    for key in [
        "\"verdict\": \"regression\"",
        "\"function\": \"parse\"",
        "\"base_share\"",
        "\"head_share\"",
        "\"relative_change\"",
        "\"p_value\"",
        "\"q_value\"",
    ] {
        assert!(text.contains(key), "no {key} in {text}");
    }
}

#[test]
fn one_profile_per_side_says_it_compares_counts() {
    let dir = tempfile::tempdir().unwrap();
    let (base, head) = write_runs(dir.path(), 1.5);
    let out = check(&base[..1], &head[..1], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains("two-proportion z test"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn exit_2_on_unreadable_input() {
    let dir = tempfile::tempdir().unwrap();
    let (base, _) = write_runs(dir.path(), 1.0);
    let missing = dir.path().join("missing.pb.gz");
    let out = check(&base, &[missing], &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("missing.pb.gz"), "{err}");
    let garbage = dir.path().join("garbage.pb.gz");
    std::fs::write(&garbage, [0x1f, 0x8b, 0, 1, 2, 3]).unwrap();
    assert_eq!(check(&base, &[garbage], &[]).status.code(), Some(2));
}

#[test]
fn exit_2_on_mismatched_sample_types_unless_one_is_chosen() {
    let dir = tempfile::tempdir().unwrap();
    let (base, _) = write_runs(dir.path(), 1.0);
    // Go's CPU profile defaults to cpu/nanoseconds; folded input is samples/count.
    let go = testdata("go/cpu.pb.gz");
    let out = check(&base[..1], std::slice::from_ref(&go), &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("sample types differ"), "{err}");
    let chosen = check(&base[..1], &[go], &["--sample-type", "samples"]);
    assert_ne!(
        chosen.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&chosen.stderr)
    );
}

#[test]
fn exit_2_on_bad_arguments() {
    let dir = tempfile::tempdir().unwrap();
    let (base, head) = write_runs(dir.path(), 1.0);
    for bad in [
        &["--threshold", "-3"][..],
        &["--threshold", "five"],
        &["--alpha", "1.5"],
        &["--format", "yaml"],
    ] {
        let out = check(&base, &head, bad);
        assert_eq!(out.status.code(), Some(2), "{bad:?}");
    }
    let no_head = brasa()
        .arg("check")
        .arg("--base")
        .args(&base)
        .output()
        .unwrap();
    assert_eq!(no_head.status.code(), Some(2));
}
