//! Fleet mode end to end: `brasa agent` sampling the host and pushing to
//! `brasa server`, through outages and restarts. The CPU time the server
//! ends up with for a workload must match what the workload really used.
//!
//! Needs root (or CAP_BPF + CAP_PERFMON); CI runs as root.

#[path = "../../profiler-agent/tests/common/mod.rs"]
mod common;
mod server_support;

use std::{
    net::TcpListener,
    path::Path,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use server_support::{client, enc, get, Server};

/// Push interval of the agents under test: short, so tests are quick.
const INTERVAL: &str = "1s";
/// A high rate keeps the sampling error of a few seconds of CPU near 2%.
const FREQUENCY: &str = "99";

fn free_addr() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().to_string()
}

fn start_agent(server: &str, spool: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_brasa"))
        .args([
            "agent",
            "--server",
            server,
            "--interval",
            INTERVAL,
            "--frequency",
            FREQUENCY,
        ])
        .args(["--metrics-listen", "127.0.0.1:0", "--spool"])
        .arg(spool)
        .stdout(Stdio::null())
        .spawn()
        .expect("brasa agent starts")
}

fn terminate(child: &mut Child) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let status = child.wait().unwrap();
    assert!(
        status.success(),
        "agent exits cleanly on SIGTERM: {status:?}"
    );
}

/// Starts the C workload (copied to `name`, which becomes its comm) burning
/// `cpu_ms` of CPU time in its known call tree.
fn start_workload(name: &str, cpu_ms: u64) -> Child {
    let binary = common::build_c(name);
    Command::new(binary)
        .args(["cpu", &cpu_ms.to_string()])
        .spawn()
        .unwrap()
}

/// CPU nanoseconds the server holds for processes named `comm` (0 while
/// it holds none: the server answers 404).
fn recorded_cpu(url: &str, comm: &str) -> i64 {
    let selector = enc(&format!("{{comm=\"{comm}\"}}"));
    let query = format!("{url}/api/v1/profile?query={selector}&from=0&to=now%2B1h&format=folded");
    let (status, body) = get(&client(), &query, &[]);
    if status == 404 {
        return 0;
    }
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    String::from_utf8(body)
        .unwrap()
        .lines()
        .filter_map(|l| l.rsplit_once(' '))
        .map(|(_, v)| v.parse::<i64>().unwrap())
        .sum()
}

/// Polls until the server holds at least `want` ns for `comm`, or `limit` passes.
fn wait_for_cpu(url: &str, comm: &str, want: i64, limit: Duration) -> i64 {
    let started = Instant::now();
    loop {
        let got = recorded_cpu(url, comm);
        if got >= want || started.elapsed() > limit {
            return got;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

fn assert_within_10_percent(got: i64, expected: i64, what: &str) {
    let ratio = got as f64 / expected as f64;
    eprintln!(
        "{what}: recorded {got} ns of {expected} ns used ({:.1}%)",
        ratio * 100.0
    );
    assert!(
        (0.9..=1.1).contains(&ratio),
        "{what}: recorded {got} ns, used {expected} ns"
    );
}

#[test]
fn server_outage_loses_no_cpu_time() {
    let data = tempfile::tempdir().unwrap();
    let spool = tempfile::tempdir().unwrap();
    let addr = free_addr();
    let mut server = Server::start_at(&addr, data.path(), &[]);
    let mut agent = start_agent(&server.url, spool.path());
    const CPU_MS: u64 = 12_000;
    let mut workload = start_workload("fleet-outage", CPU_MS);

    std::thread::sleep(Duration::from_secs(3));
    server.kill9();
    std::thread::sleep(Duration::from_secs(10));
    let server = Server::start_at(&addr, data.path(), &[]);

    assert!(workload.wait().unwrap().success());
    let expected = CPU_MS as i64 * 1_000_000;
    let got = wait_for_cpu(
        &server.url,
        "fleet-outage",
        expected * 95 / 100,
        Duration::from_secs(30),
    );
    assert_within_10_percent(got, expected, "through a 10 s outage");
    terminate(&mut agent);
}

#[test]
fn spool_outlives_an_agent_restart_while_the_server_is_down() {
    let data = tempfile::tempdir().unwrap();
    let spool = tempfile::tempdir().unwrap();
    let addr = free_addr();
    let mut server = Server::start_at(&addr, data.path(), &[]);
    let url = server.url.clone();
    let mut agent = start_agent(&url, spool.path());
    server.kill9();

    const CPU_MS: u64 = 3_000;
    let mut workload = start_workload("fleet-spool", CPU_MS);
    assert!(workload.wait().unwrap().success());
    std::thread::sleep(Duration::from_secs(2));
    terminate(&mut agent);
    let spooled = std::fs::read_dir(spool.path()).unwrap().count();
    assert!(
        spooled > 0,
        "profiles wait in the spool while the server is down"
    );

    // The agent comes back first, the server later: the spool is delivered.
    let mut agent = start_agent(&url, spool.path());
    std::thread::sleep(Duration::from_secs(2));
    let server = Server::start_at(&addr, data.path(), &[]);
    let expected = CPU_MS as i64 * 1_000_000;
    let got = wait_for_cpu(
        &server.url,
        "fleet-spool",
        expected * 95 / 100,
        Duration::from_secs(60),
    );
    assert_within_10_percent(got, expected, "across an agent restart");
    terminate(&mut agent);
}
