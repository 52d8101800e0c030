//! `brasa diff` as a user runs it.

use brasa_test_support::{brasa, testdata};

#[test]
fn writes_a_differential_svg_and_prints_the_biggest_changes() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("base.folded");
    let head = dir.path().join("head.folded");
    std::fs::write(&base, "main;parse 30\nmain;eval 60\nmain;gc 10\n").unwrap();
    std::fs::write(&head, "main;parse 100\nmain;eval 70\nmain;jit 30\n").unwrap();
    let svg = dir.path().join("diff.svg");
    let out = brasa()
        .arg("diff")
        .arg(&base)
        .arg(&head)
        .arg("-o")
        .arg(&svg)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let table = String::from_utf8(out.stdout).unwrap();
    let rows: Vec<&str> = table
        .lines()
        .skip(2)
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    assert_eq!(rows, ["eval", "parse", "jit", "gc"], "{table}");
    assert!(table.contains("+66.7%"), "{table}");
    let svg = std::fs::read_to_string(&svg).unwrap();
    assert!(svg.contains("base.folded vs head.folded"));
    assert!(
        svg.contains("<title>parse (100 samples, 50.00%; +20.00%)</title>"),
        "{svg}"
    );
}

#[test]
fn compares_pprof_profiles_and_limits_the_table() {
    let go = testdata("go/cpu.pb.gz");
    let out = brasa()
        .arg("diff")
        .arg(&go)
        .arg(&go)
        .args(["--top", "3"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("cpu/nanoseconds:"), "{text}");
    // A profile against itself: nothing changed, only the header row.
    assert_eq!(text.lines().count(), 2, "{text}");
}

#[test]
fn errors_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("base.folded");
    std::fs::write(&base, "main;a 1\n").unwrap();
    let missing = dir.path().join("nope.folded");
    let out = brasa()
        .arg("diff")
        .arg(&base)
        .arg(&missing)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("nope.folded"));
    let go = testdata("go/cpu.pb.gz");
    let mismatch = brasa().arg("diff").arg(&base).arg(&go).output().unwrap();
    assert_eq!(mismatch.status.code(), Some(2));
}
