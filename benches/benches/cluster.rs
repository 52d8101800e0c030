//! A server on a shared bucket (a 1-node Garage cluster on loopback) and
//! a sled server, side by side, fed the same hour of agent-like data: 100
//! series x 360 profiles (one per 10 s), 36,000 profiles.
//!
//! Prints, for each: acknowledged profiles per second with `WRITERS`
//! pushes in flight, and the ack latency (p50/p99). Then, for the bucket:
//! bytes per sampled event once compaction is done (the blocks' sizes in
//! the catalog), against the sled directory's; how long a new server takes
//! to read the bucket before it listens (cold) and the merge of all 36,000
//! profiles on it, first and second time, against the same merge on sled.
//!
//! Run through `benches/server/cluster.sh [WRITERS]`, which builds the
//! release binary. Garage comes from `scripts/setup.sh`.

use std::{
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc, Mutex,
    },
    time::{Duration, Instant, SystemTime},
};

use brasa_benches::{
    agent_like::{events, Program, INTERVAL_NANOS},
    server::Server,
};
use brasa_profile::codec;
use brasa_test_support::{garage::Garage, wait_until};

const SERIES: u64 = 100;
const INTERVALS: u64 = 360;
const TIMEOUT: Duration = Duration::from_secs(30);

struct Push {
    url_path: String,
    body: Vec<u8>,
}

/// The hour of data, as pushes, and its sampled events.
fn hour(t0: i64) -> (Vec<Push>, i64) {
    let programs: Vec<Program> = (0..SERIES).map(Program::new).collect();
    let mut pushes = Vec::new();
    let mut sampled = 0;
    for interval in 0..INTERVALS {
        let time = t0 + interval as i64 * INTERVAL_NANOS;
        for (s, program) in programs.iter().enumerate() {
            let profile = program.profile(interval, time);
            sampled += events(&profile);
            pushes.push(Push {
                url_path: format!(
                    "/api/v1/ingest?host=host-{}&comm=service_{s}&exe=%2Fusr%2Flocal%2Fbin%2Fservice_{s}",
                    s % 10
                ),
                body: codec::encode(&profile),
            });
        }
    }
    (pushes, sampled)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// Pushes everything to `url` with `writers` pushes in flight; prints the
/// rate and the latencies.
fn feed(name: &str, url: &str, pushes: &Arc<Vec<Push>>, writers: usize) {
    let next = Arc::new(AtomicUsize::new(0));
    let latencies = Arc::new(Mutex::new(Vec::with_capacity(pushes.len())));
    let started = Instant::now();
    let threads: Vec<_> = (0..writers)
        .map(|_| {
            let (next, latencies, pushes, url) = (
                next.clone(),
                latencies.clone(),
                pushes.clone(),
                url.to_owned(),
            );
            std::thread::spawn(move || {
                let agent: ureq::Agent = ureq::Agent::config_builder()
                    .http_status_as_error(false)
                    .timeout_global(Some(TIMEOUT))
                    .build()
                    .into();
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(push) = pushes.get(i) else { return };
                    loop {
                        let sent = Instant::now();
                        let status = agent
                            .post(format!("{url}{}", push.url_path))
                            .send(&push.body[..])
                            .map(|r| r.status().as_u16());
                        if status.as_ref().is_ok_and(|s| *s == 200) {
                            latencies.lock().unwrap().push(sent.elapsed());
                            break;
                        }
                        // Refused (429/503): the agent would retry later.
                        std::thread::sleep(Duration::from_millis(100));
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let took = started.elapsed();
    let mut latencies = Arc::try_unwrap(latencies).unwrap().into_inner().unwrap();
    latencies.sort();
    println!(
        "{name}: {} profiles acknowledged in {:.1} s: {:.0} profiles/s; ack latency p50 {:.0} ms, p99 {:.0} ms ({writers} in flight)",
        latencies.len(),
        took.as_secs_f64(),
        latencies.len() as f64 / took.as_secs_f64(),
        percentile(&latencies, 0.5).as_secs_f64() * 1e3,
        percentile(&latencies, 0.99).as_secs_f64() * 1e3,
    );
}

/// Times the merge of everything on `url`, as a pprof download.
fn merge(url: &str) -> (Duration, usize) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(120)))
        .build()
        .into();
    let started = Instant::now();
    let body = agent
        .get(format!(
            "{url}/api/v1/profile?query=%7B__name__%3D%22process_cpu%22%7D&from=now-3h&to=now%2B1h&format=pprof"
        ))
        .call()
        .unwrap()
        .body_mut()
        .read_to_vec()
        .unwrap();
    (started.elapsed(), body.len())
}

fn dir_bytes(path: &std::path::Path) -> u64 {
    std::fs::read_dir(path)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let meta = e.metadata().unwrap();
            if meta.is_dir() {
                dir_bytes(&e.path())
            } else {
                meta.len()
            }
        })
        .sum()
}

fn main() {
    let writers: usize = std::env::args()
        .nth(1)
        .filter(|a| !a.starts_with('-'))
        .map_or(800, |a| a.parse().expect("WRITERS is a number"));
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as i64;
    let (pushes, sampled) = hour(now - 2 * 3600 * 1_000_000_000);
    let pushes = Arc::new(pushes);
    let garage = Garage::start(1);
    let work = tempfile::tempdir().unwrap();
    let credentials = garage.credentials_file(work.path());
    let url = garage.storage_url("bench");
    let credentials = credentials.display().to_string();
    let shared_args = [
        "--storage",
        &url,
        "--storage-credentials",
        &credentials,
        "--compaction-interval",
        "5s",
        "--grace",
        "2s",
    ];
    let in_flight = writers.to_string();
    let sled_dir = work.path().join("sled");
    let sled = Server::start(&sled_dir, &["--ingest-in-flight", &in_flight]);
    let shared = Server::start(&work.path().join("a"), &shared_args);
    println!(
        "{} profiles, {sampled} sampled events; {} CPUs",
        pushes.len(),
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    feed("sled", &sled.url, &pushes, writers);
    feed("bucket", &shared.url, &pushes, writers);

    wait_until("the bucket compacted", Duration::from_secs(600), || {
        garage.keys("bench/segments/").is_empty() && !garage.keys("bench/blocks/").is_empty()
    });
    let catalogs = garage.keys("bench/catalog/");
    let catalog: serde_json::Value =
        serde_json::from_slice(&garage.get(0, catalogs.last().unwrap())).unwrap();
    let blocks = catalog["blocks"].as_array().unwrap();
    let block_bytes: u64 = blocks.iter().map(|b| b["bytes"].as_u64().unwrap()).sum();
    let sled_bytes = dir_bytes(&sled_dir);
    println!(
        "bytes per sampled event: bucket {:.2} ({} blocks, {block_bytes} B), sled directory {:.2} ({sled_bytes} B): {:.2}x",
        block_bytes as f64 / sampled as f64,
        blocks.len(),
        sled_bytes as f64 / sampled as f64,
        block_bytes as f64 / sled_bytes as f64,
    );

    let (sled_first, size) = merge(&sled.url);
    let (sled_second, _) = merge(&sled.url);
    println!(
        "merge of {} profiles on sled: {:.0} ms, then {:.0} ms ({size} B of pprof)",
        pushes.len(),
        sled_first.as_secs_f64() * 1e3,
        sled_second.as_secs_f64() * 1e3
    );
    let started = Instant::now();
    let fresh = Server::start(&work.path().join("fresh"), &shared_args);
    let loaded = started.elapsed();
    let (cold, size) = merge(&fresh.url);
    let (warm, _) = merge(&fresh.url);
    println!(
        "a new server on the bucket: read the bucket and listening after {:.0} ms; merge {:.0} ms, then {:.0} ms ({size} B of pprof)",
        loaded.as_secs_f64() * 1e3,
        cold.as_secs_f64() * 1e3,
        warm.as_secs_f64() * 1e3
    );
}
