//! `brasa up`: the server and a host agent in one process.
//!
//! The first test needs root (or CAP_BPF + CAP_PERFMON), as CI has; the
//! second drops every privilege on purpose.

#[path = "../../profiler-agent/tests/common/mod.rs"]
mod common;
mod server_support;

use std::{
    io::{BufRead, BufReader},
    os::unix::fs::PermissionsExt,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use server_support::{client, enc, get, post, pprof_gz};

/// Starts `brasa up` (through `wrapper` when given) and returns it with its URL.
fn start_up(wrapper: &[&str], data: &std::path::Path) -> (Child, String) {
    let brasa = env!("CARGO_BIN_EXE_brasa");
    let (program, args): (&str, Vec<&str>) = match wrapper.split_first() {
        Some((w, rest)) => (w, rest.iter().copied().chain([brasa]).collect()),
        None => (brasa, vec![]),
    };
    let mut child = Command::new(program)
        .args(args)
        .args([
            "up",
            "--listen",
            "127.0.0.1:0",
            "--interval",
            "1s",
            "--frequency",
            "99",
        ])
        .args(["--metrics-listen", "127.0.0.1:0", "--data"])
        .arg(data)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("brasa up starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .to_owned();
    (child, url)
}

fn stop(child: Child) -> String {
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "brasa up exits cleanly: {output:?}"
    );
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Folded stacks of `comm`, or "" while the server has none.
fn folded(url: &str, comm: &str) -> String {
    let selector = enc(&format!("{{comm=\"{comm}\"}}"));
    let query =
        format!("{url}/api/v1/profile?query={selector}&from=now-1h&to=now%2B1h&format=folded");
    let (status, body) = get(&client(), &query, &[]);
    if status == 404 {
        return String::new();
    }
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    String::from_utf8(body).unwrap()
}

fn total(folded: &str, frame: &str) -> i64 {
    folded
        .lines()
        .filter(|l| l.contains(frame))
        .filter_map(|l| l.rsplit_once(' '))
        .map(|(_, v)| v.parse::<i64>().unwrap())
        .sum()
}

#[test]
fn up_profiles_this_host_into_its_own_server() {
    let workload = common::build_c("up-cpu");
    // Started after the agent, without frame pointers: it gets unwind
    // tables while the agent runs.
    let no_frame_pointers = common::nofp::build_nofp_c("up-nofp");
    let data = tempfile::tempdir().unwrap();
    let (up, url) = start_up(&[], data.path());

    let started = Instant::now();
    let mut child = Command::new(&workload)
        .args(["cpu", "2500"])
        .spawn()
        .unwrap();
    let mut nofp_child = Command::new(&no_frame_pointers)
        .args(["cpu", "2500"])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    // Two 1 s intervals, plus room for a busy CI machine to schedule us.
    let deadline = Duration::from_secs(2 + 8);
    let first_seen = loop {
        if total(&folded(&url, "up-cpu"), "spin_leaf") > 0 {
            break started.elapsed();
        }
        assert!(
            started.elapsed() < deadline,
            "no stacks of up-cpu after {deadline:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    eprintln!("up-cpu stacks queryable {first_seen:?} after the workload started");
    assert!(child.wait().unwrap().success());
    assert!(nofp_child.wait().unwrap().success());
    std::thread::sleep(Duration::from_secs(2));

    let stacks = folded(&url, "up-cpu");
    let hot = total(&stacks, "main;run_workload;hot_branch;spin_leaf");
    let cold = total(&stacks, "main;run_workload;cold_branch;spin_leaf");
    let share = hot as f64 / (hot + cold) as f64;
    eprintln!("hot branch share {:.1}% (designed: 75%)", share * 100.0);
    assert!((0.65..=0.85).contains(&share), "{stacks}");

    let stacks = folded(&url, "up-nofp");
    let at_leaf = total(&stacks, "spin_leaf ");
    // From the process's first frame down to the leaf (with symbol
    // tables only, libc's internal functions may show as offsets).
    let chained: i64 = ["hot_branch", "cold_branch"]
        .iter()
        .map(|branch| {
            total(
                &stacks
                    .lines()
                    .filter(|l| l.starts_with("_start;"))
                    .collect::<Vec<_>>()
                    .join("\n"),
                &format!(";main;run_workload;{branch};spin_leaf "),
            )
        })
        .sum();
    eprintln!("up-nofp: {chained} of {at_leaf} samples at spin_leaf hold the whole chain");
    assert!(at_leaf > 100, "{stacks}");
    assert!(chained as f64 >= 0.95 * at_leaf as f64, "{stacks}");
    stop(up);
}

#[test]
fn up_without_privileges_says_what_is_missing_and_still_serves() {
    let data = tempfile::tempdir().unwrap();
    std::fs::set_permissions(data.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let nobody = [
        "setpriv",
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
        "--inh-caps=-all",
        "--bounding-set=-all",
    ];
    let (up, url) = start_up(&nobody, data.path());
    let agent = client();
    let (status, _) = get(&agent, &format!("{url}/healthz"), &[]);
    assert_eq!(status, 200);
    let (status, body) = post(
        &agent,
        &format!("{url}/api/v1/ingest?service=manual"),
        &[],
        &pprof_gz("main;work 5\n", 0),
    )
    .unwrap();
    assert_eq!(status, 200, "{body}");
    let (status, _) = get(&agent, &format!("{url}/"), &[]);
    assert_eq!(status, 200, "the UI is served");
    let stderr = stop(up);
    assert!(stderr.contains("not profiling this host"), "{stderr}");
    assert!(
        stderr.contains("CAP_BPF") && stderr.contains("CAP_PERFMON"),
        "{stderr}"
    );
}
