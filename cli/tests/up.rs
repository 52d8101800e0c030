//! `brasa up`: the server and a host agent in one process.
//!
//! The first test needs root (or CAP_BPF + CAP_PERFMON), as CI has; the
//! second drops every privilege on purpose.

use std::{
    os::unix::fs::PermissionsExt,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use brasa_test_support::{
    brasa_binary, go_tool_pprof, scrape,
    server::{client, enc, get, post, pprof_gz, START_TIMEOUT},
    url_in, wait_until, Lines,
};

/// A running `brasa up`.
struct Up {
    child: Child,
    /// `http://127.0.0.1:PORT`
    url: String,
    stderr: Lines,
}

/// Starts `brasa up` (through `wrapper` when given).
fn start_up(wrapper: &[&str], data: &std::path::Path) -> Up {
    let brasa = brasa_binary();
    let mut command = match wrapper.split_first() {
        Some((w, rest)) => {
            let mut command = Command::new(w);
            command.args(rest).arg(&brasa);
            command
        }
        None => Command::new(&brasa),
    };
    let mut child = command
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
    let stdout = Lines::read(child.stdout.take().unwrap());
    let stderr = Lines::read(child.stderr.take().unwrap());
    let url = url_in(&stdout.wait_for(START_TIMEOUT, |l| l.contains("http://")));
    Up { child, url, stderr }
}

fn stop(up: Up) -> String {
    let Up {
        mut child, stderr, ..
    } = up;
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let status = child.wait().unwrap();
    let stderr = stderr.until_closed().join("\n");
    assert!(
        status.success(),
        "brasa up exits cleanly: {status:?}, {stderr}"
    );
    stderr
}

/// A metric of the agent of `up` (0 until it is reported).
fn metric(metrics_url: &str, name: &str) -> f64 {
    scrape(&client(), metrics_url)
        .get(name)
        .copied()
        .unwrap_or(0.0)
}

/// Profiles the agent of `up` has delivered.
fn pushes(metrics_url: &str) -> f64 {
    metric(metrics_url, "brasa_agent_pushes_total")
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
    let workload = brasa_test_support::workloads::build_c("up-cpu");
    // Started after the agent, without frame pointers: it gets unwind
    // tables while the agent runs.
    let no_frame_pointers = brasa_test_support::nofp::build_nofp_c("up-nofp");
    let data = tempfile::tempdir().unwrap();
    let up = start_up(&[], data.path());
    let url = up.url.clone();
    let metrics = url_in(
        &up.stderr
            .wait_for(START_TIMEOUT, |l| l.contains("metrics on")),
    );

    let started = Instant::now();
    // The workloads start once the agent samples: it has scanned the
    // processes already running and follows every exec from then on.
    wait_until("the agent samples", START_TIMEOUT, || {
        metric(&metrics, "brasa_agent_samples_total") > 0.0
    });
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
    // The interval in which they ended and the one after it are delivered.
    let delivered = pushes(&metrics);
    wait_until("two more pushes", Duration::from_secs(30), || {
        pushes(&metrics) >= delivered + 2.0
    });

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

    // `go tool pprof` reads the query URLs as they are: no request for
    // remote symbolization, the program named after the workload.
    let pprof_url = |comm: &str| {
        let selector = enc(&format!("{{comm=\"{comm}\"}}"));
        format!("{url}/api/v1/profile?query={selector}&from=now-1h&to=now%2B1h")
    };
    let (cpu, nofp) = (pprof_url("up-cpu"), pprof_url("up-nofp"));
    let home = tempfile::tempdir().unwrap();
    let top = go_tool_pprof(&["-top", &cpu], home.path());
    assert!(top.contains("File: up-cpu"), "{top}");
    assert!(
        top.contains("spin_leaf") && top.contains("hot_branch"),
        "{top}"
    );
    let traces = go_tool_pprof(&["-traces", &cpu], home.path());
    assert!(traces.contains("run_workload"), "{traces}");
    // Both run spin_leaf for 2.5 s: the difference is near nothing, but
    // pprof reads both URLs and reports it.
    let diff = go_tool_pprof(&["-top", "-diff_base", &nofp, &cpu], home.path());
    assert!(
        diff.contains("Type: cpu") && diff.contains("flat%"),
        "{diff}"
    );
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
    let up = start_up(&nobody, data.path());
    let url = up.url.clone();
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
