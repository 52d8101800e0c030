//! `brasa record` end to end: the real binary, the real sampler, the C
//! workload of `testdata/workloads/`, and `go tool pprof` reading the output.
//!
//! Needs root (or CAP_BPF + CAP_PERFMON); CI runs as root.

use std::{
    os::unix::process::CommandExt,
    path::Path,
    process::{Command, Output, Stdio},
    time::{Duration, Instant},
};

use brasa_test_support::{wait_until, workloads::build_c, Lines};

fn brasa(args: &[&std::ffi::OsStr]) -> Output {
    brasa_test_support::brasa()
        .args(args)
        .output()
        .expect("run brasa")
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

/// User and system CPU time of process `pid`, in clock ticks (1/100 s).
fn cpu_ticks(pid: &str) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the parenthesised name, from the 3rd (state) on.
    let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let field = |n: usize| {
        fields
            .get(n - 3)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // utime and stime.
    field(14) + field(15)
}

#[test]
fn ctrl_c_stops_early_and_still_writes_the_output() {
    let workload = build_c("cli-ctrl-c");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("cpu.folded");
    // Its own process group, like a foreground job: Ctrl-C reaches brasa and
    // the command alike.
    let mut recorder = brasa_test_support::brasa()
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
    let stderr = Lines::read(recorder.stderr.take().unwrap());
    let start = stderr.wait_for(Duration::from_secs(30), |l| {
        l.starts_with("brasa: recording")
    });
    // Interrupted once the command has used half a second of CPU time.
    let pid = start
        .split("(pid ")
        .nth(1)
        .and_then(|rest| rest.split(')').next())
        .unwrap_or_else(|| panic!("no pid in {start:?}"))
        .to_owned();
    wait_until("half a second of CPU", Duration::from_secs(30), || {
        cpu_ticks(&pid) >= 50
    });
    // SAFETY: kill(2) with a negative pid signals that process group.
    let rc = unsafe { libc::kill(-(recorder.id() as libc::pid_t), libc::SIGINT) };
    assert_eq!(rc, 0, "{}", std::io::Error::last_os_error());
    let status = recorder.wait().unwrap();
    // The command died of the SIGINT, and `record` says so as a shell does.
    assert_eq!(status.code(), Some(130), "{:?}", stderr.until_closed());
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
            brasa_test_support::brasa_binary().to_str().unwrap(),
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
