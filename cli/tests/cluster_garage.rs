//! `brasa server --storage s3://...` on a real Garage cluster: several
//! servers share one bucket, lose nothing that they acknowledged when one
//! of them is killed and a Garage node goes down, count nothing twice, and
//! give the same answers as one sled server fed the same profiles.
//!
//! The clusters are started by `scripts/garage-cluster.sh` (through
//! `brasa_test_support::garage`); `scripts/setup.sh` installs Garage.

use std::{
    collections::BTreeMap,
    path::Path,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc, Mutex,
    },
    time::{Duration, Instant, SystemTime},
};

use brasa_test_support::{
    garage::Garage,
    scrape,
    server::{client, enc, get, post, pprof_gz, Server},
    wait_until,
};

const SERVICES: [&str; 3] = ["checkout", "search", "ledger"];
/// Longest the servers may take to agree once the load stops.
const CONVERGE: Duration = Duration::from_secs(60);

/// The flags of a server on `garage`, under `prefix`, with short intervals
/// so that compaction and garbage collection happen within a test.
fn cluster_args(garage: &Garage, prefix: &str, credentials: &Path) -> Vec<String> {
    [
        "--storage",
        &garage.storage_url(prefix),
        "--storage-credentials",
        &credentials.display().to_string(),
        "--flush-interval",
        "100ms",
        "--poll-interval",
        "200ms",
        "--heartbeat-interval",
        "1s",
        "--compaction-interval",
        "2s",
        "--grace",
        "1s",
    ]
    .map(str::to_owned)
    .to_vec()
}

fn start(garage: &Garage, prefix: &str, credentials: &Path, data: &Path) -> Server {
    let args = cluster_args(garage, prefix, credentials);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    Server::start(data, &args)
}

/// One push of the load: its service, stack, value and time.
#[derive(Debug, Clone)]
struct Push {
    service: &'static str,
    stack: String,
    value: u64,
    time_nanos: i64,
}

impl Push {
    fn new(i: usize, base: i64) -> Self {
        Self {
            service: SERVICES[i % SERVICES.len()],
            stack: format!("main;handle;work_{}", i % 7),
            value: i as u64 + 1,
            time_nanos: base + i as i64 * 1_000_000,
        }
    }

    fn body(&self) -> Vec<u8> {
        pprof_gz(&format!("{} {}\n", self.stack, self.value), self.time_nanos)
    }

    fn send(&self, agent: &ureq::Agent, url: &str) -> bool {
        let uri = format!("{url}/api/v1/ingest?service={}", self.service);
        matches!(post(agent, &uri, &[], &self.body()), Ok((200, _)))
    }
}

/// The folded answer the acknowledged `pushes` of `service` make.
fn expected(pushes: &[Push], service: &str) -> String {
    let mut sums: BTreeMap<&str, u64> = BTreeMap::new();
    for p in pushes.iter().filter(|p| p.service == service) {
        *sums.entry(&p.stack).or_default() += p.value;
    }
    sums.iter().map(|(s, v)| format!("{s} {v}\n")).collect()
}

fn now_nanos() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as i64
}

/// Each server's folded answer for `service` over all time, `""` when it
/// has nothing.
fn answers(servers: &[&Server], service: &str) -> Vec<String> {
    let agent = client();
    servers
        .iter()
        .map(|s| {
            let (status, body) = get(
                &agent,
                &format!(
                    "{}/api/v1/profile?query={}&from=0&to=now%2B1h&format=folded",
                    s.url,
                    enc(&format!("{{service=\"{service}\"}}"))
                ),
                &[],
            );
            match status {
                // Without the header line that names the sample type.
                200 => String::from_utf8(body)
                    .unwrap()
                    .lines()
                    .filter(|l| !l.starts_with("# "))
                    .map(|l| format!("{l}\n"))
                    .collect(),
                404 => String::new(),
                _ => panic!("{status}: {}", String::from_utf8_lossy(&body)),
            }
        })
        .collect()
}

/// Pushes `count` profiles from three threads, round-robin over the
/// servers in `targets` that are still up, moving to the next one when a
/// push fails; calls `at(acknowledged)` from this thread as acks arrive.
fn load(
    targets: &Arc<Mutex<Vec<String>>>,
    count: usize,
    base: i64,
    mut at: impl FnMut(usize),
) -> Vec<Push> {
    let acked = Arc::new(Mutex::new(Vec::new()));
    let done = Arc::new(AtomicUsize::new(0));
    let next = Arc::new(AtomicUsize::new(0));
    let workers: Vec<_> = (0..3)
        .map(|_| {
            let (targets, acked, done, next) =
                (targets.clone(), acked.clone(), done.clone(), next.clone());
            std::thread::spawn(move || {
                let agent = client();
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    if i >= count {
                        return;
                    }
                    let push = Push::new(i, base);
                    let started = Instant::now();
                    for attempt in 0.. {
                        let url = {
                            let t = targets.lock().unwrap();
                            t[(i + attempt) % t.len()].clone()
                        };
                        if push.send(&agent, &url) {
                            acked.lock().unwrap().push(push);
                            break;
                        }
                        assert!(
                            started.elapsed() < Duration::from_secs(60),
                            "push {i} was refused by every server for a minute"
                        );
                    }
                    done.fetch_add(1, Ordering::SeqCst);
                }
            })
        })
        .collect();
    let mut seen = 0;
    while workers.iter().any(|w| !w.is_finished()) {
        let now = done.load(Ordering::SeqCst);
        if now != seen {
            seen = now;
            at(now);
        }
        std::thread::yield_now();
    }
    for w in workers {
        w.join().unwrap();
    }
    Arc::try_unwrap(acked).unwrap().into_inner().unwrap()
}

/// A metric's value on `server`'s /metrics.
fn metric(server: &Server, name: &str) -> f64 {
    let page = scrape(&client(), &format!("{}/metrics", server.url));
    *page
        .get(name)
        .unwrap_or_else(|| panic!("{name} is not in /metrics"))
}

#[test]
fn three_servers_on_three_garage_nodes_lose_nothing_and_count_nothing_twice() {
    let garage = Garage::start(3);
    let dir = tempfile::tempdir().unwrap();
    let credentials = garage.credentials_file(dir.path());
    let data = |n: &str| dir.path().join(n);
    let mut servers: Vec<Server> = ["a", "b", "c"]
        .iter()
        .map(|n| start(&garage, "load", &credentials, &data(n)))
        .collect();
    let targets = Arc::new(Mutex::new(
        servers.iter().map(|s| s.url.clone()).collect::<Vec<_>>(),
    ));

    let total = 600;
    let base = now_nanos();
    let mut killed = false;
    let mut node_down = false;
    let mut node_back = false;
    let acked = load(&targets, total, base, |done| {
        if done >= total / 5 && !killed {
            // Mid-load, with pushes in flight on it.
            servers[2].kill9();
            targets.lock().unwrap().retain(|u| *u != servers[2].url);
            killed = true;
        }
        if done >= 2 * total / 5 && !node_down {
            garage.stop_node(1);
            node_down = true;
        }
        if done >= 3 * total / 5 && !node_back {
            garage.start_node(1);
            node_back = true;
        }
    });
    assert!(killed && node_down && node_back);
    assert_eq!(
        acked.len(),
        total,
        "every push is acknowledged by some server"
    );

    // Every acknowledged profile, exactly once, from both servers left.
    let alive = [&servers[0], &servers[1]];
    for service in SERVICES {
        let want = expected(&acked, service);
        wait_until(&format!("{service} converges"), CONVERGE, || {
            answers(&alive, service).iter().all(|a| *a == want)
        });
    }

    // One sled server fed the same acknowledged profiles answers the same.
    let sled = Server::start(&data("sled"), &[]);
    let agent = client();
    for push in &acked {
        assert!(push.send(&agent, &sled.url));
    }
    for service in SERVICES {
        assert_eq!(
            answers(&[&sled], service),
            answers(&alive, service)[..1],
            "{service}"
        );
    }

    // Compaction leaves a handful of objects where there were hundreds of
    // segments, and the answers do not change.
    let uploads: f64 = alive
        .iter()
        .map(|s| metric(s, "brasa_cluster_segment_uploads_total"))
        .sum();
    assert!(uploads >= 100.0, "{uploads} segments");
    // Garage can keep listing a key whose upload it gave up on while a node
    // was down (a GET of it is a 404): only segments that can be read
    // count.
    let readable = |prefix: &str| -> Vec<String> {
        garage
            .keys(prefix)
            .into_iter()
            .filter(|k| garage.request(0, "GET", k, None).0 == 200)
            .collect()
    };
    let deadline = Instant::now() + CONVERGE;
    loop {
        let left = readable("load/segments/");
        if left.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "segments left after compaction: {left:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    println!(
        "after compaction: {} keys listed under segments/, none readable",
        garage.keys("load/segments/").len()
    );
    let blocks = garage.keys("load/blocks/");
    assert!(
        (1..=16).contains(&blocks.len()),
        "{} blocks: {blocks:?}",
        blocks.len()
    );
    // A server that starts now reads the blocks alone.
    servers[2] = start(&garage, "load", &credentials, &data("fresh"));
    let all = [&servers[0], &servers[1], &servers[2]];
    for service in SERVICES {
        let want = expected(&acked, service);
        for answer in answers(&all, service) {
            assert_eq!(answer, want, "{service}");
        }
    }
}

#[test]
fn a_profile_acknowledged_by_one_server_is_answered_by_another() {
    let garage = Garage::start(1);
    let dir = tempfile::tempdir().unwrap();
    let credentials = garage.credentials_file(dir.path());
    let a = start(&garage, "seen", &credentials, &dir.path().join("a"));
    let b = start(&garage, "seen", &credentials, &dir.path().join("b"));
    let agent = client();
    let base = now_nanos();
    let mut delays = Vec::new();
    for i in 0..30 {
        let push = Push {
            service: "checkout",
            stack: "main;pay".to_owned(),
            value: 1,
            time_nanos: base + i * 1_000,
        };
        assert!(push.send(&agent, &a.url));
        let acked = Instant::now();
        let want = format!("main;pay {}\n", i + 1);
        wait_until(
            "the other server answers it",
            Duration::from_secs(30),
            || answers(&[&b], "checkout")[0] == want,
        );
        delays.push(acked.elapsed());
    }
    delays.sort();
    println!(
        "visibility over {} pushes: p50 {:?}, max {:?}",
        delays.len(),
        delays[delays.len() / 2],
        delays[delays.len() - 1]
    );
}

#[test]
fn retention_removes_old_objects_from_the_bucket() {
    let garage = Garage::start(1);
    let dir = tempfile::tempdir().unwrap();
    let credentials = garage.credentials_file(dir.path());
    let mut args = cluster_args(&garage, "old", &credentials);
    args.extend(["--retention".to_owned(), "30s".to_owned()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let a = Server::start(&dir.path().join("a"), &args);
    let agent = client();
    // 20 s old: kept by the first compactions, past retention 10 s later.
    let push = Push {
        service: "ledger",
        stack: "main;close".to_owned(),
        value: 5,
        time_nanos: now_nanos() - 20_000_000_000,
    };
    assert!(push.send(&agent, &a.url));
    wait_until("a block holds it", CONVERGE, || {
        !garage.keys("old/blocks/").is_empty() && garage.keys("old/segments/").is_empty()
    });
    wait_until("the block past retention is deleted", CONVERGE, || {
        garage.keys("old/blocks/").is_empty()
    });
    // Nothing in the bucket holds it any more: a new server does not have it.
    let b = Server::start(&dir.path().join("b"), &args);
    assert_eq!(answers(&[&b], "ledger"), [String::new()]);
}
