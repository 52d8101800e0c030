//! `brasa record` tells the truth about the command it ran: its exit
//! status becomes record's, a bad output fails before the command runs, and
//! a line says what is being recorded.
//!
//! Needs root (or CAP_BPF + CAP_PERFMON); CI runs as root.

use std::process::Output;

use brasa_test_support::brasa;

fn record(output: &std::path::Path, command: &str) -> Output {
    brasa()
        .args(["record", "-o"])
        .arg(output)
        .args(["--", "sh", "-c", command])
        .output()
        .expect("run brasa")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn the_commands_exit_status_is_records_and_the_profile_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("y.pb.gz");
    // Enough work to be sampled, then a failure.
    let output = record(
        &out,
        "i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done; exit 7",
    );
    let text = stderr(&output);
    assert_eq!(output.status.code(), Some(7), "{text}");
    assert!(
        text.contains("brasa: the command exited with status 7"),
        "{text}"
    );
    assert!(out.metadata().unwrap().len() > 0, "the profile is written");
    let start = text.lines().next().unwrap_or_default();
    assert!(
        start.starts_with("brasa: recording sh (pid ")
            && start.ends_with(" at 99 Hz until it exits or Ctrl-C"),
        "{text}"
    );
}

#[test]
fn a_killed_command_gives_128_plus_the_signal() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("y.pb.gz");
    let output = record(&out, "kill -9 $$");
    let text = stderr(&output);
    assert_eq!(output.status.code(), Some(128 + 9), "{text}");
    assert!(
        text.contains("brasa: the command was killed by signal 9 (exit status 137)"),
        "{text}"
    );
    assert!(out.exists());
}

#[test]
fn an_unwritable_output_fails_before_the_command_runs() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("ran");
    let command = format!("touch {}", marker.display());
    let output = record(&dir.path().join("missing/dir/x.pb.gz"), &command);
    let text = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{text}");
    assert!(text.contains("missing/dir/x.pb.gz"), "{text}");
    assert!(!marker.exists(), "the command must not run: {text}");
}
