//! Fleet mode end to end: `brasa agent` sampling the host and pushing to
//! `brasa server`, through outages and restarts. The CPU time the server
//! ends up with for a workload must match what the workload really used.
//!
//! Needs root (or CAP_BPF + CAP_PERFMON); CI runs as root.

use std::{
    net::TcpListener,
    path::Path,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use brasa_test_support::{
    brasa, scrape,
    server::{client, enc, get, Server, START_TIMEOUT},
    url_in, wait_until, Lines,
};

/// Push interval of the agents under test: short, so tests are quick.
const INTERVAL: &str = "1s";
/// A high rate keeps the sampling error of a few seconds of CPU near 2%.
const FREQUENCY: &str = "99";

fn free_addr() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().to_string()
}

/// A running `brasa agent`.
struct Agent {
    child: Child,
    /// Its `/metrics` URL.
    metrics: String,
    _stderr: Lines,
}

impl Agent {
    /// Delivery attempts that failed so far.
    fn push_failures(&mut self) -> f64 {
        if let Some(status) = self.child.try_wait().unwrap() {
            panic!("the agent exited with {status}: {:?}", self._stderr.all());
        }
        scrape(&client(), &self.metrics)
            .get("brasa_agent_push_failures_total")
            .copied()
            .unwrap_or(0.0)
    }
}

fn start_agent(server: &str, spool: &Path) -> Agent {
    let mut child = brasa()
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
        .stderr(Stdio::piped())
        .spawn()
        .expect("brasa agent starts");
    let stderr = Lines::read(child.stderr.take().unwrap());
    let line = stderr.wait_for(START_TIMEOUT, |l| l.contains("metrics on"));
    Agent {
        child,
        metrics: url_in(&line),
        _stderr: stderr,
    }
}

fn terminate(agent: &mut Agent) {
    let child = &mut agent.child;
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

/// Profiles waiting in the spool folder.
fn spooled(spool: &Path) -> usize {
    std::fs::read_dir(spool).unwrap().count()
}

fn start_workload(name: &str, cpu_ms: u64) -> Child {
    let binary = brasa_test_support::workloads::build_c(name);
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
        .filter(|l| !l.starts_with('#'))
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

    // The server goes down once it holds some of the workload, and stays
    // down while the agent spools five intervals' profiles.
    wait_for_cpu(&server.url, "fleet-outage", 1, Duration::from_secs(30));
    server.kill9();
    let before = spooled(spool.path());
    wait_until("five profiles spooled", Duration::from_secs(60), || {
        spooled(spool.path()) >= before + 5
    });
    let server = Server::start_at(&addr, data.path(), &[]);

    assert!(workload.wait().unwrap().success());
    let expected = CPU_MS as i64 * 1_000_000;
    let got = wait_for_cpu(
        &server.url,
        "fleet-outage",
        expected * 95 / 100,
        Duration::from_secs(30),
    );
    assert_within_10_percent(got, expected, "through an outage of five intervals");
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
    // SIGTERM: the agent spools what it sampled since its last interval.
    terminate(&mut agent);
    assert!(
        spooled(spool.path()) > 0,
        "profiles wait in the spool while the server is down"
    );

    // The agent comes back first, the server later: the spool is delivered.
    let mut agent = start_agent(&url, spool.path());
    wait_until("a failed delivery", Duration::from_secs(30), || {
        agent.push_failures() >= 1.0
    });
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
