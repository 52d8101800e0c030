//! Pull mode against a real Go program: `brasa server --config FILE`
//! scrapes the six profiles of `testdata/go-pprof-server/` (Go's
//! `net/http/pprof`), stores snapshots as they come and Go's cumulative
//! counts as deltas, and keeps scraping it while two other targets of the
//! same job, one that hangs and one that answers garbage, are down.

use std::{
    io::{Read, Write},
    net::{TcpListener, TcpStream},
    process::{Child, Command, Stdio},
    time::Duration,
};

use brasa_profile::{codec, sample_type::sample_type_index, top::total, Profile};
use brasa_test_support::{
    scrape as metrics, server::*, url_in, wait_until, workloads::build_go_pprof_server, Lines,
};
use serde_json::Value;

/// The job's scrape interval: a CPU profile is then `?seconds=1`.
const INTERVAL_SECONDS: u64 = 2;
/// How long everything this test waits for may take: a few scrapes, on a
/// busy machine.
const LIMIT: Duration = Duration::from_secs(90);
/// Stored profiles of each kind awaited before checking sums and averages.
const SCRAPES: u64 = 3;
/// Most connections a fake peer serves before it stops by itself.
const PEER_CONNECTIONS: usize = 500;
/// The job of every target.
const JOB: &str = "goapp";

/// The Go program, killed when dropped.
struct GoServer {
    child: Child,
    _stdout: Lines,
    /// `host:port`.
    address: String,
}

impl GoServer {
    fn start() -> Self {
        let binary = build_go_pprof_server("go-pprof-server");
        let mut child = Command::new(binary)
            .args(["-listen", "127.0.0.1:0", "-lifetime", "5m"])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the Go program starts");
        let stdout = Lines::read(child.stdout.take().unwrap());
        let url = url_in(&stdout.wait_for(START_TIMEOUT, |l| l.contains("http://")));
        Self {
            child,
            _stdout: stdout,
            address: url.trim_start_matches("http://").to_owned(),
        }
    }

    /// One of its profiles, fetched directly (`heap`, `mutex`, ...).
    fn profile(&self, agent: &ureq::Agent, name: &str) -> Profile {
        let (status, body) = get(
            agent,
            &format!("http://{}/debug/pprof/{name}", self.address),
            &[],
        );
        assert_eq!(status, 200, "{name}");
        codec::decode(&body).unwrap()
    }
}

impl Drop for GoServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A loopback peer that handles each connection with `answer` on a
/// thread of its own, for at most [`PEER_CONNECTIONS`] connections;
/// its `host:port`.
fn peer(answer: fn(TcpStream)) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(PEER_CONNECTIONS) {
            let Ok(stream) = stream else { return };
            std::thread::spawn(move || answer(stream));
        }
    });
    address
}

/// Reads the request and never answers (the connection stays open until
/// the scraper gives up on it).
fn hang(mut stream: TcpStream) {
    let mut request = [0u8; 4096];
    while matches!(stream.read(&mut request), Ok(n) if n > 0) {}
}

/// Answers 200 with a body that is not a profile.
fn garbage(mut stream: TcpStream) {
    let mut request = [0u8; 4096];
    let _ = stream.read(&mut request);
    let body = "<html>this is not a pprof profile</html>";
    let _ = write!(
        stream,
        "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
}

/// The profile type of Go's profile `name` in `sample_type`, as its ID
/// (the units and period types Go's runtime writes).
fn profile_type(name: &str, sample_type: &str) -> String {
    let (unit, period) = match sample_type {
        "cpu" => ("nanoseconds", "cpu:nanoseconds"),
        "alloc_space" | "inuse_space" => ("bytes", "space:bytes"),
        "alloc_objects" | "inuse_objects" => ("count", "space:bytes"),
        "goroutine" => ("count", "goroutine:count"),
        "delay" => ("nanoseconds", "contentions:count"),
        "contentions" => ("count", "contentions:count"),
        other => panic!("no profile type for {other}"),
    };
    format!("{name}:{sample_type}:{unit}:{period}")
}

/// A query of the merged profile of `name` of the job, in `sample_type`,
/// selected by its profile type.
fn profile_url(server: &Server, name: &str, sample_type: &str, format: &str) -> String {
    format!(
        "{}/api/v1/profile?query={}&profile_type={}&from=0&to=now%2B1h&format={format}",
        server.url,
        enc(&format!(r#"{{job="{JOB}"}}"#)),
        profile_type(name, sample_type)
    )
}

/// The `format=json` answer for `name` in `sample_type`, `None` while
/// nothing is stored.
fn profile_json(
    agent: &ureq::Agent,
    server: &Server,
    name: &str,
    sample_type: &str,
) -> Option<Value> {
    let (status, body) = get(agent, &profile_url(server, name, sample_type, "json"), &[]);
    match status {
        200 => Some(serde_json::from_slice(&body).unwrap()),
        404 => None,
        other => panic!("{name}: {other}: {}", String::from_utf8_lossy(&body)),
    }
}

fn json(agent: &ureq::Agent, url: &str) -> Value {
    let (status, body) = get(agent, url, &[]);
    assert_eq!(status, 200, "{url}: {}", String::from_utf8_lossy(&body));
    serde_json::from_slice(&body).unwrap()
}

/// The total of `sample_type` in `profile`.
fn total_of(profile: &Profile, sample_type: &str) -> i64 {
    total(
        profile,
        sample_type_index(profile, Some(sample_type)).unwrap(),
    )
}

/// The total of `sample_type` under stacks through `function`.
fn total_under(profile: &Profile, sample_type: &str, function: &str) -> i64 {
    let index = sample_type_index(profile, Some(sample_type)).unwrap();
    let names = brasa_profile::strings::FrameNames::new(profile);
    profile
        .sample
        .iter()
        .filter(|s| names.leaf_first(s).any(|f| f == function))
        .map(|s| s.value[index])
        .sum()
}

/// The health entries of `instance` in `/api/v1/targets`.
fn target(targets: &Value, instance: &str) -> Value {
    targets["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["instance"] == instance)
        .unwrap_or_else(|| panic!("no target {instance} in {targets}"))
        .clone()
}

#[test]
fn pulls_every_go_profile_and_survives_broken_targets() {
    let go = GoServer::start();
    let agent = client();
    let hung = peer(hang);
    let junk = peer(garbage);
    // Go's counts before the server's first scrape: what the deltas may add
    // up to at most is what Go counts from here on.
    let before: Vec<(&str, &str, i64)> = [
        ("allocs", "alloc_space"),
        ("mutex", "delay"),
        ("block", "delay"),
    ]
    .into_iter()
    .map(|(name, sample_type)| {
        (
            name,
            sample_type,
            total_of(&go.profile(&agent, name), sample_type),
        )
    })
    .collect();

    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("brasa.yaml");
    std::fs::write(
        &config,
        format!(
            "scrape_configs:
  - job_name: {JOB}
    scrape_interval: {INTERVAL_SECONDS}s
    scrape_timeout: 1s
    static_configs:
      - targets: ['{go}']
        labels: {{team: core}}
      - targets: ['{hung}', '{junk}']
        labels: {{team: broken}}
",
            go = go.address
        ),
    )
    .unwrap();
    let mut server = Server::start(
        &tmp.path().join("data"),
        &["--config", config.to_str().unwrap()],
    );

    // Every profile of the Go program, each in a sample type of its own
    // and under the function that makes it.
    let kinds = [
        ("process_cpu", "cpu", "main.burnCPU"),
        ("memory", "inuse_space", "main.retainMemory"),
        ("allocs", "alloc_space", "main.allocateGarbage"),
        ("goroutine", "goroutine", "main.parkedWorker"),
        ("mutex", "delay", "main.contendMutex"),
        ("block", "delay", "main.blockOnChannel"),
    ];
    for (name, sample_type, _) in kinds {
        wait_until(
            &format!("{SCRAPES} scrapes of {name} stored"),
            LIMIT,
            || {
                profile_json(&agent, &server, name, sample_type)
                    .is_some_and(|p| p["profiles"].as_u64().unwrap() >= SCRAPES)
            },
        );
    }
    for (name, sample_type, function) in kinds {
        let folded = folded(&agent, &server, name, sample_type);
        assert!(
            folded.contains(function),
            "{name}: no {function} in:\n{folded}"
        );
    }

    // Series: one kind of profile each, labelled with the job, the
    // instance and the static labels; nothing from the broken targets.
    let types = json(
        &agent,
        &format!(
            "{}/api/v1/profile_types?query={}&from=now-1h&to=now%2B1m",
            server.url,
            enc(&format!(r#"{{job="{JOB}"}}"#))
        ),
    );
    let mut names: Vec<String> = types["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_owned())
        .collect();
    names.dedup();
    for name in &names {
        let series = json(
            &agent,
            &format!(
                "{}/api/v1/series?query={}&from=now-1h&to=now%2B1m",
                server.url,
                enc(&format!(r#"{name}{{job="{JOB}"}}"#))
            ),
        );
        let lines = series["data"].as_array().unwrap();
        assert!(!lines.is_empty(), "{name}: {series}");
        for s in lines {
            let labels = &s["labels"];
            assert_eq!(labels["instance"], go.address.as_str(), "{s}");
            assert_eq!(labels["team"], "core", "{s}");
            assert_eq!(labels["job"], JOB, "{s}");
            assert_eq!(labels["__name__"], name.as_str(), "{s}");
        }
    }
    names.sort();
    assert_eq!(
        names,
        [
            "allocs",
            "block",
            "goroutine",
            "memory",
            "mutex",
            "process_cpu"
        ]
    );

    // In-use memory over several scrapes is one scrape's worth (averaged),
    // not the sum of them: the 32 MiB that main.retainMemory keeps.
    let heap = profile_json(&agent, &server, "memory", "inuse_space").unwrap();
    assert_eq!(heap["aggregation"], "average", "{heap}");
    assert!(heap["profiles"].as_u64().unwrap() >= SCRAPES);
    let stored_inuse = heap["total"].as_i64().unwrap() as f64;
    let direct_inuse = total_of(&go.profile(&agent, "heap"), "inuse_space") as f64;
    let ratio = stored_inuse / direct_inuse;
    assert!(
        (0.7..1.4).contains(&ratio),
        "stored in-use memory {stored_inuse} vs {direct_inuse} from Go directly"
    );

    // Allocations, contentions and blocking are deltas: over all the
    // scrapes they add up to no more than what Go counted since the test
    // began, where cumulative profiles would add up to several times it.
    for (name, sample_type, first) in before {
        let stored = profile_json(&agent, &server, name, sample_type).unwrap();
        assert_eq!(stored["aggregation"], "sum", "{name}");
        let stored_total = stored["total"].as_i64().unwrap();
        let now = total_of(&go.profile(&agent, name), sample_type);
        assert!(
            stored_total > 0 && stored_total <= now - first,
            "{name}: stored {sample_type} {stored_total} over {} profiles, but Go counted {} since the start ({first} then {now})",
            stored["profiles"],
            now - first
        );
    }
    // main.retainMemory allocated once, before the first scrape: Go's
    // cumulative profile still shows it, the deltas never do.
    let allocs = pprof(&agent, &server, "allocs", "alloc_space");
    assert_eq!(total_under(&allocs, "alloc_space", "main.retainMemory"), 0);
    assert!(total_under(&allocs, "alloc_space", "main.allocateGarbage") > 0);
    // (Go samples allocations and scales them up: an estimate of 32 MiB.)
    let direct = go.profile(&agent, "allocs");
    assert!(total_under(&direct, "alloc_space", "main.retainMemory") > 16 << 20);

    // Health: the Go program is up, the other two are down and say why.
    let targets_url = format!("{}/api/v1/targets", server.url);
    wait_until("the broken targets are down", LIMIT, || {
        let targets = json(&agent, &targets_url);
        [&hung, &junk].iter().all(|instance| {
            target(&targets, instance)["profiles"]
                .as_array()
                .unwrap()
                .iter()
                .all(|p| p["health"] == "down")
        })
    });
    let targets = json(&agent, &targets_url);
    assert_eq!(targets["status"], "success");
    let up = target(&targets, &go.address);
    assert_eq!(up["job"], JOB);
    assert_eq!(up["labels"]["team"], "core");
    assert_eq!(up["profiles"].as_array().unwrap().len(), 6);
    for p in up["profiles"].as_array().unwrap() {
        assert_eq!(p["health"], "up", "{p}");
        assert!(p["last_error"].is_null(), "{p}");
        assert!(p["last_scrape"].is_string(), "{p}");
        assert!(p["last_duration_seconds"].as_f64().unwrap() >= 0.0, "{p}");
        assert!(p["url"]
            .as_str()
            .unwrap()
            .starts_with(&format!("http://{}/debug/pprof/", go.address)));
    }
    for (instance, error) in [
        (&hung, "no answer within"),
        (&junk, "cannot be read as a profile"),
    ] {
        let down = target(&targets, instance);
        assert_eq!(down["labels"]["team"], "broken");
        for p in down["profiles"].as_array().unwrap() {
            let message = p["last_error"].as_str().unwrap_or_else(|| panic!("{p}"));
            assert!(message.contains(error), "{instance}: {message}");
        }
    }
    let cpu_url = target(&targets, &go.address)["profiles"][0]["url"].clone();
    assert_eq!(
        cpu_url,
        format!("http://{}/debug/pprof/profile?seconds=1", go.address).as_str()
    );

    // The same on /metrics.
    let samples = metrics(&agent, &format!("{}/metrics", server.url));
    let key = |metric: &str, instance: &str, profile: &str| {
        format!(r#"brasa_scrape_{metric}{{job="{JOB}",instance="{instance}",profile="{profile}"}}"#)
    };
    for (name, _, _) in kinds {
        assert_eq!(
            samples.get(&key("up", &go.address, name)),
            Some(&1.0),
            "{name}"
        );
        assert!(samples[&key("last_success_timestamp_seconds", &go.address, name)] > 1e9);
        assert!(samples.contains_key(&key("duration_seconds", &go.address, name)));
        assert_eq!(samples.get(&key("up", &hung, name)), Some(&0.0), "{name}");
        assert!(
            samples[&key("failures_total", &hung, name)] >= 1.0,
            "{name}"
        );
        assert!(
            samples[&key("failures_total", &junk, name)] >= 1.0,
            "{name}"
        );
    }

    // And the Go program's data keeps coming while the others are down.
    let stored = |agent: &ureq::Agent| {
        profile_json(agent, &server, "goroutine", "goroutine").unwrap()["profiles"]
            .as_u64()
            .unwrap()
    };
    let so_far = stored(&agent);
    wait_until("another goroutine scrape stored", LIMIT, || {
        stored(&agent) > so_far
    });

    // SIGTERM ends the scrapes, the hung ones in flight included, and the
    // server with them.
    let status = server.terminate(LIMIT);
    assert!(status.success(), "{status:?}");
}

/// The folded stacks of `name` in `sample_type`.
fn folded(agent: &ureq::Agent, server: &Server, name: &str, sample_type: &str) -> String {
    let (status, body) = get(
        agent,
        &profile_url(server, name, sample_type, "folded"),
        &[],
    );
    assert_eq!(status, 200, "{name}");
    String::from_utf8(body).unwrap()
}

/// The merged pprof of `name` in `sample_type`.
fn pprof(agent: &ureq::Agent, server: &Server, name: &str, sample_type: &str) -> Profile {
    let (status, body) = get(agent, &profile_url(server, name, sample_type, "pprof"), &[]);
    assert_eq!(status, 200, "{name}");
    codec::decode(&body).unwrap()
}
