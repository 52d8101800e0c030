//! Fleet mode end to end: `brasa agent` sampling the host and pushing to
//! `brasa server`, through outages and restarts. The CPU time the server
//! ends up with for a workload must match what the workload really used.
//!
//! Needs root (or CAP_BPF + CAP_PERFMON); CI runs as root.

use std::{
    io::Read,
    net::{TcpListener, TcpStream},
    path::Path,
    process::{Child, Command, Stdio},
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc, Mutex,
    },
    time::{Duration, Instant},
};

use brasa_test_support::{
    brasa,
    garage::Garage,
    scrape,
    server::{client, enc, get, Server, START_TIMEOUT},
    url_in, wait_until, Lines,
};

/// Push interval of the agents under test: short, so tests are quick.
const INTERVAL: &str = "1s";
/// How long an agent may take from its first line to its first sample.
const SAMPLING_TIMEOUT: Duration = Duration::from_secs(120);
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
    /// Its metrics now; panics when it has exited.
    fn metrics(&mut self) -> std::collections::HashMap<String, f64> {
        if let Some(status) = self.child.try_wait().unwrap() {
            panic!("the agent exited with {status}: {:?}", self._stderr.all());
        }
        scrape(&client(), &self.metrics)
    }

    /// Delivery attempts that failed so far.
    fn push_failures(&mut self) -> f64 {
        metric(&self.metrics(), "brasa_agent_push_failures_total")
    }

    /// Its resident memory, MiB.
    fn rss_mib(&self) -> f64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        let kib: f64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmRSS in /proc/PID/status");
        kib / 1024.0
    }
}

/// One sample of a scraped page, 0 when absent.
fn metric(page: &std::collections::HashMap<String, f64>, name: &str) -> f64 {
    page.get(name).copied().unwrap_or(0.0)
}

fn start_agent(server: &str, spool: &Path) -> Agent {
    start_agent_with(server, spool, &[])
}

fn start_agent_with(server: &str, spool: &Path, extra: &[&str]) -> Agent {
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
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("brasa agent starts");
    let stderr = Lines::read(child.stderr.take().unwrap());
    let line = stderr.wait_for(START_TIMEOUT, |l| l.contains("metrics on"));
    let mut agent = Agent {
        child,
        metrics: url_in(&line),
        _stderr: stderr,
    };
    // The line comes before the BPF program loads and the unwind tables of
    // the host's binaries are built, which takes seconds on a busy host:
    // a workload started earlier would run partly unsampled.
    wait_until("the agent samples", SAMPLING_TIMEOUT, || {
        metric(&agent.metrics(), "brasa_agent_samples_total") > 0.0
    });
    agent
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
    start_workload_in(name, "cpu", cpu_ms)
}

fn start_workload_in(name: &str, mode: &str, cpu_ms: u64) -> Child {
    let binary = brasa_test_support::workloads::build_c(name);
    Command::new(binary)
        .args([mode, &cpu_ms.to_string()])
        .spawn()
        .unwrap()
}

/// CPU nanoseconds the server holds for processes named `comm` (0 while
/// it holds none: the server answers 404).
fn recorded_cpu(url: &str, comm: &str) -> i64 {
    recorded_cpu_of(url, &format!("{{comm=\"{comm}\"}}"))
}

/// CPU nanoseconds the server holds for `selector` (0 for none).
fn recorded_cpu_of(url: &str, selector: &str) -> i64 {
    let selector = enc(selector);
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

/// Polls until `urls` hold at least `want` ns for `comm` together, or
/// `limit` passes; returns what they hold.
fn wait_for_cpu_on(urls: &[&str], comm: &str, want: i64, limit: Duration) -> i64 {
    let started = Instant::now();
    loop {
        let got = urls.iter().map(|url| recorded_cpu(url, comm)).sum();
        if got >= want || started.elapsed() > limit {
            return got;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

#[test]
fn an_agent_with_two_servers_loses_nothing_when_one_dies() {
    let (data_a, data_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let spool = tempfile::tempdir().unwrap();
    let addr_a = free_addr();
    let mut a = Server::start_at(&addr_a, data_a.path(), &[]);
    let b = Server::start(data_b.path(), &[]);
    let mut agent = start_agent_with(&a.url, spool.path(), &["--server", &b.url]);
    const CPU_MS: u64 = 12_000;
    let mut workload = start_workload("fleet-failover", CPU_MS);

    // The agent keeps to the first server while it takes profiles.
    wait_for_cpu(&a.url, "fleet-failover", 1, Duration::from_secs(30));
    assert_eq!(recorded_cpu(&b.url, "fleet-failover"), 0);
    a.kill9();
    assert!(workload.wait().unwrap().success());
    wait_until("the agent fails over", Duration::from_secs(30), || {
        metric(&agent.metrics(), "brasa_agent_push_failovers_total") >= 1.0
    });
    // What the first server acknowledged is on its disk: it comes back on
    // the same data, and both together hold all of the workload.
    let a = Server::start_at(&addr_a, data_a.path(), &[]);
    let expected = CPU_MS as i64 * 1_000_000;
    let got = wait_for_cpu_on(
        &[&a.url, &b.url],
        "fleet-failover",
        expected * 95 / 100,
        Duration::from_secs(30),
    );
    assert!(recorded_cpu(&b.url, "fleet-failover") > 0);
    assert_within_10_percent(got, expected, "across a server killed mid-run");
    terminate(&mut agent);
}

#[test]
fn an_agent_with_two_servers_on_one_bucket_loses_nothing_when_one_dies() {
    let garage = Garage::start(1);
    let dir = tempfile::tempdir().unwrap();
    let credentials = garage.credentials_file(dir.path());
    let storage = garage.storage_url("agents");
    let shared = [
        "--storage",
        &storage,
        "--storage-credentials",
        credentials.to_str().unwrap(),
    ];
    let mut a = Server::start(&dir.path().join("a"), &shared);
    let b = Server::start(&dir.path().join("b"), &shared);
    let spool = tempfile::tempdir().unwrap();
    let mut agent = start_agent_with(&a.url, spool.path(), &["--server", &b.url]);
    const CPU_MS: u64 = 12_000;
    let mut workload = start_workload("fleet-bucket", CPU_MS);

    // What the first server acknowledges, the second answers too.
    wait_for_cpu(&b.url, "fleet-bucket", 1, Duration::from_secs(30));
    a.kill9();
    assert!(workload.wait().unwrap().success());
    wait_until("the agent fails over", Duration::from_secs(30), || {
        metric(&agent.metrics(), "brasa_agent_push_failovers_total") >= 1.0
    });
    // The second server alone answers all of the workload, the first
    // server's part included, without it coming back.
    let expected = CPU_MS as i64 * 1_000_000;
    let got = wait_for_cpu(
        &b.url,
        "fleet-bucket",
        expected * 95 / 100,
        Duration::from_secs(30),
    );
    assert_within_10_percent(
        got,
        expected,
        "across a server of the bucket killed mid-run",
    );
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

/// A server that accepts connections and reads what comes, but never
/// answers, until dropped.
struct HangingServer {
    addr: String,
    stop: Arc<AtomicBool>,
    held: Arc<Mutex<Vec<TcpStream>>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl HangingServer {
    fn start(addr: &str) -> Self {
        let listener = TcpListener::bind(addr).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let held = Arc::new(Mutex::new(Vec::new()));
        let (s, h) = (Arc::clone(&stop), Arc::clone(&held));
        let thread = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if s.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(stream) = stream else { continue };
                let mut reader = stream.try_clone().unwrap();
                h.lock().unwrap().push(stream);
                // Drain the request so the client is left waiting for an
                // answer, not for room to send.
                std::thread::spawn(move || {
                    let mut sink = [0; 1 << 16];
                    while matches!(reader.read(&mut sink), Ok(n) if n > 0) {}
                });
            }
        });
        Self {
            addr: addr.to_owned(),
            stop,
            held,
            thread: Some(thread),
        }
    }

    /// Connections it holds.
    fn connections(&self) -> usize {
        self.held.lock().unwrap().len()
    }
}

impl Drop for HangingServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accept loop so that it sees the flag and lets go of the port.
        let _ = TcpStream::connect(&self.addr);
        if let Some(thread) = self.thread.take() {
            thread.join().unwrap();
        }
        for stream in self.held.lock().unwrap().drain(..) {
            let _ = stream.shutdown(std::net::Shutdown::Both);
        }
    }
}

#[test]
fn two_minutes_of_a_hanging_server_cost_no_samples_and_no_profiles() {
    /// How long the server hangs.
    const HANG: Duration = Duration::from_secs(120);
    /// How often the agent is looked at meanwhile.
    const LOOK_EVERY: Duration = Duration::from_secs(5);
    /// The workload's CPU time: longer than the hang, so that there is
    /// always something to sample (an idle host may give no sample in 5 s).
    const CPU_MS: u64 = 125_000;
    /// The agent's memory bound: what it holds is its program, the unwind
    /// tables of the binaries running on the host and one interval's
    /// stacks, never the backlog (that is on disk). Its peak on a quiet
    /// host is 27-37 MiB (benches/agent/overhead.py); on this 2-core host
    /// while it compiled Brasa (librustc_driver's tables), 67-124 MiB in
    /// four runs.
    const AGENT_RSS_BOUND_MIB: f64 = 256.0;
    let data = tempfile::tempdir().unwrap();
    let spool = tempfile::tempdir().unwrap();
    let addr = free_addr();
    let hanging = HangingServer::start(&addr);
    let url = format!("http://{addr}");
    let mut agent = start_agent_with(
        &url,
        spool.path(),
        &["--push-timeout", "5s", "--retry-max", "5s"],
    );
    let mut workload = start_workload("fleet-hang", CPU_MS);

    // The agent keeps sampling and draining every interval while each
    // delivery attempt hangs until its timeout.
    let started = Instant::now();
    let mut looks = Vec::new();
    while started.elapsed() < HANG {
        std::thread::sleep(LOOK_EVERY);
        let page = agent.metrics();
        looks.push((
            metric(&page, "brasa_agent_intervals_total"),
            metric(&page, "brasa_agent_samples_total"),
            agent.rss_mib(),
        ));
    }
    let page = agent.metrics();
    assert!(hanging.connections() >= 2, "the agent kept trying");
    assert_eq!(metric(&page, "brasa_agent_pushes_total"), 0.0);
    assert!(metric(&page, "brasa_agent_push_failures_total") >= 2.0);
    // From its first interval on (before it, the agent loads its program
    // and the unwind tables of the host's binaries), one interval a
    // second: at least 3 in every 5 s, with room for a loaded machine.
    let running = looks
        .iter()
        .position(|l| l.0 >= 1.0)
        .expect("an interval drained");
    for pair in looks[running..].windows(2) {
        let ((i0, s0, _), (i1, s1, _)) = (pair[0], pair[1]);
        assert!(
            i1 - i0 >= 3.0,
            "drained {} intervals in {LOOK_EVERY:?}: {looks:?}",
            i1 - i0
        );
        assert!(s1 > s0, "sampling paused: {looks:?}");
    }
    // Profiles wait on disk, not in memory.
    let peak = looks.iter().map(|l| l.2).fold(0.0, f64::max);
    eprintln!("agent RSS peak over two minutes of a hanging server: {peak:.1} MiB");
    assert!(
        peak <= AGENT_RSS_BOUND_MIB,
        "RSS reached {peak:.1} MiB: {looks:?}"
    );
    assert!(
        spooled(spool.path()) >= 100,
        "two minutes of profiles wait in the spool"
    );

    // A healthy server takes the hanging one's place: everything spooled
    // arrives, and so does the workload's CPU time.
    let backlog = metric(&page, "brasa_agent_profiles_spooled_total");
    drop(hanging);
    let server = Server::start_at(&addr, data.path(), &[]);
    let healthy = Instant::now();
    wait_until("the backlog is delivered", Duration::from_secs(300), || {
        metric(&agent.metrics(), "brasa_agent_pushes_total") >= backlog
    });
    eprintln!(
        "{backlog} profiles spooled while the server hung, delivered in {:.1} s",
        healthy.elapsed().as_secs_f64()
    );
    let page = agent.metrics();
    for lost in [
        "brasa_agent_spool_dropped_total",
        "brasa_agent_profiles_lost_total",
        "brasa_agent_profiles_rejected_total",
    ] {
        assert_eq!(metric(&page, lost), 0.0, "{lost}");
    }
    let lost: Vec<_> = page
        .iter()
        .filter(|(name, _)| name.starts_with("brasa_agent_samples_lost_total"))
        .collect();
    eprintln!("samples lost (host-wide): {lost:?}");
    assert!(workload.wait().unwrap().success());
    let expected = CPU_MS as i64 * 1_000_000;
    let got = wait_for_cpu(
        &server.url,
        "fleet-hang",
        expected * 95 / 100,
        Duration::from_secs(30),
    );
    assert_within_10_percent(got, expected, "through two minutes of a hanging server");
    terminate(&mut agent);
}

/// The lines of `/api/v1/series` for `selector`, grouped by `group_by`
/// when given: each line's labels.
fn series_lines(url: &str, selector: &str, group_by: Option<&str>) -> Vec<serde_json::Value> {
    let mut query = format!(
        "{url}/api/v1/series?query={}&from=0&to=now%2B1h",
        enc(selector)
    );
    if let Some(label) = group_by {
        query.push_str(&format!("&group_by={label}"));
    }
    let (status, body) = get(&client(), &query, &[]);
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let answer: serde_json::Value = serde_json::from_slice(&body).unwrap();
    answer["data"]
        .as_array()
        .expect("a list of lines")
        .iter()
        .map(|line| line["labels"].clone())
        .collect()
}

/// A process of eight named threads is one series, named after the
/// process; each thread's samples carry its name as a sample label, and a
/// selector on that label picks the thread's samples alone.
#[test]
fn threads_of_one_process_are_one_series_and_thread_name_selects_one_thread() {
    const NAME: &str = "fleet-threads";
    const CPU_MS: u64 = 4_000;
    const THREADS: usize = 8;
    let data = tempfile::tempdir().unwrap();
    let spool = tempfile::tempdir().unwrap();
    let server = Server::start_at(&free_addr(), data.path(), &[]);
    let mut agent = start_agent(&server.url, spool.path());
    let mut workload = start_workload_in(NAME, "threads", CPU_MS);
    assert!(workload.wait().unwrap().success());
    let expected = CPU_MS as i64 * 1_000_000;
    let process = format!("{{exe=\"{NAME}\"}}");
    let got = wait_for_cpu(
        &server.url,
        NAME,
        expected * 90 / 100,
        Duration::from_secs(30),
    );
    assert_within_10_percent(got, expected, "eight threads");

    let series = series_lines(&server.url, &process, None);
    assert_eq!(series.len(), 1, "one series: {series:?}");
    assert_eq!(series[0]["comm"], NAME, "{series:?}");
    assert_eq!(series[0]["exe"], NAME, "{series:?}");

    let threads = series_lines(&server.url, &process, Some("thread_name"));
    let names: Vec<&str> = threads
        .iter()
        .filter_map(|l| l["thread_name"].as_str())
        .collect();
    for i in 0..THREADS {
        assert!(names.contains(&format!("worker-{i}").as_str()), "{names:?}");
    }
    // Each worker's CPU is its own: about an eighth, and together all of it.
    let total = recorded_cpu_of(&server.url, &process);
    let per_thread: Vec<i64> = (0..THREADS)
        .map(|i| {
            let selector = format!("{{exe=\"{NAME}\",thread_name=\"worker-{i}\"}}");
            recorded_cpu_of(&server.url, &selector)
        })
        .collect();
    let workers: i64 = per_thread.iter().sum();
    assert!(
        workers <= total && workers * 100 >= total * 95,
        "workers {per_thread:?} of {total}"
    );
    for cpu in &per_thread {
        assert!(
            *cpu > 0 && *cpu * 4 < total,
            "one worker's share: {per_thread:?} of {total}"
        );
    }
    terminate(&mut agent);
}
