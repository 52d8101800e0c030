//! `brasa record` end to end: the real binary, the real sampler, the C
//! workload of `testdata/workloads/`, and `go tool pprof` reading the output.
//!
//! Needs root (or CAP_BPF + CAP_PERFMON); CI runs as root.

#[path = "../../profiler-agent/tests/common/mod.rs"]
mod common;

use std::{
    os::unix::process::CommandExt,
    path::Path,
    process::{Command, Output, Stdio},
    time::{Duration, Instant},
};

use common::build_c;

const BRASA: &str = env!("CARGO_BIN_EXE_brasa");

fn brasa(args: &[&std::ffi::OsStr]) -> Output {
    Command::new(BRASA).args(args).output().expect("run brasa")
}

fn assert_ok(output: &Output) {
    assert!(
        output.status.success(),
        "brasa failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn record_command_writes_pprof_that_go_tool_pprof_reads() {
    let workload = build_c("cli-cpu");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("cpu.pb.gz");
    let output = brasa(&[
        "record".as_ref(),
        "--frequency".as_ref(),
        "499".as_ref(),
        "-o".as_ref(),
        out.as_os_str(),
        "--".as_ref(),
        workload.as_os_str(),
        "cpu".as_ref(),
        "1500".as_ref(),
    ]);
    assert_ok(&output);
    let top = Command::new("go")
        .args(["tool", "pprof", "-top", "-nodecount=20"])
        .arg(&out)
        .output()
        .expect("go tool pprof");
    let text = String::from_utf8_lossy(&top.stdout);
    assert!(
        top.status.success(),
        "{}",
        String::from_utf8_lossy(&top.stderr)
    );
    for name in [
        "spin_leaf",
        "hot_branch",
        "cold_branch",
        "run_workload",
        "main",
    ] {
        assert!(
            text.lines().any(|l| l.ends_with(&format!(" {name}"))),
            "{name} missing:\n{text}"
        );
    }
    assert!(text.contains("Type: cpu"), "{text}");
}

#[test]
fn record_pid_with_duration_writes_a_flame_graph() {
    let workload = build_c("cli-pid");
    let mut child = Command::new(&workload)
        .args(["cpu", "20000"])
        .spawn()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("cpu.svg");
    let output = brasa(&[
        "record".as_ref(),
        "--pid".as_ref(),
        child.id().to_string().as_ref(),
        "--duration".as_ref(),
        "1s".as_ref(),
        "-o".as_ref(),
        out.as_os_str(),
    ]);
    let still_running = child.try_wait().unwrap().is_none();
    child.kill().ok();
    child.wait().ok();
    assert_ok(&output);
    assert!(
        still_running,
        "the recording waited for the process to exit"
    );
    let svg = std::fs::read_to_string(&out).unwrap();
    assert!(
        svg.starts_with("<?xml") && svg.contains("hot_branch"),
        "not a flame graph of the workload"
    );
}

#[test]
fn ctrl_c_stops_early_and_still_writes_the_output() {
    let workload = build_c("cli-ctrl-c");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("cpu.folded");
    // Its own process group, like a foreground job: Ctrl-C reaches brasa and
    // the command alike.
    let recorder = Command::new(BRASA)
        .args(["record", "-o"])
        .arg(&out)
        .arg("--")
        .arg(&workload)
        .args(["cpu", "30000"])
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .unwrap();
    let started = Instant::now();
    std::thread::sleep(Duration::from_millis(1500));
    // SAFETY: kill(2) with a negative pid signals that process group.
    let rc = unsafe { libc::kill(-(recorder.id() as libc::pid_t), libc::SIGINT) };
    assert_eq!(rc, 0, "{}", std::io::Error::last_os_error());
    let output = recorder.wait_with_output().unwrap();
    assert_ok(&output);
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "did not stop early"
    );
    let folded = std::fs::read_to_string(&out).unwrap();
    assert!(
        folded
            .lines()
            .any(|l| l.contains("main;run_workload;hot_branch;spin_leaf ")),
        "{folded}"
    );
}

#[test]
fn without_privileges_the_error_names_the_capabilities() {
    if !Path::new("/usr/bin/setpriv").exists() {
        panic!("setpriv (util-linux) is needed to drop privileges");
    }
    let dir = tempfile::tempdir().unwrap();
    // The output must be writable by the unprivileged user, or `record`
    // rightly fails on that before it reaches the privilege check.
    std::fs::set_permissions(
        dir.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o777),
    )
    .unwrap();
    let output = Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--inh-caps=-all",
            BRASA,
        ])
        .args(["record", "-o"])
        .arg(dir.path().join("x.pb.gz"))
        .args(["--", "true"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    for needle in ["CAP_BPF", "CAP_PERFMON", "root"] {
        assert!(stderr.contains(needle), "{needle} missing: {stderr}");
    }
}

#[test]
fn record_needs_a_target_and_a_known_output_format() {
    let output = brasa(&["record".as_ref(), "-o".as_ref(), "x.pb.gz".as_ref()]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--pid"));
    let output = brasa(&[
        "record".as_ref(),
        "-o".as_ref(),
        "x.unknown".as_ref(),
        "--".as_ref(),
        "true".as_ref(),
    ]);
    assert_eq!(output.status.code(), Some(2));
}
