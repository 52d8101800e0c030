//! Durable ingest throughput of `brasa server` under a loopback load
//! generator sending agent-like profiles (gzip pprof, one per series per
//! 10 s interval, `POST /api/v1/ingest`).
//!
//! Run through `benches/server/ingest.sh`, which builds the release
//! `brasa` binary first (or set `BRASA_BIN`). Prints requests/s, sample
//! records/s and sampled events/s, and the same per second of server CPU
//! time (read from /proc), which is the per-core figure.

use std::{
    process::Command,
    sync::atomic::{AtomicUsize, Ordering},
    time::Instant,
};

use brasa_benches::{
    agent_like::{events, Program, INTERVAL_NANOS},
    server::Server,
};
use brasa_profile::codec;

/// Series (processes across hosts) the generator impersonates.
const SERIES: u64 = 200;
/// Intervals per series pre-generated; requests cycle through them.
const INTERVALS: u64 = 5;
/// Concurrent connections: several agents pushing at once.
const CONNECTIONS: usize = 8;
/// Requests sent in total.
const REQUESTS: usize = 6_000;

/// utime + stime of a process, in seconds.
fn cpu_seconds(pid: &str) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .unwrap()
        .1
        .split_whitespace()
        .collect();
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    let hz = Command::new("getconf").arg("CLK_TCK").output().unwrap();
    ticks
        / String::from_utf8_lossy(&hz.stdout)
            .trim()
            .parse::<f64>()
            .unwrap()
}

fn main() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path(), &[]);
    let url = server.url.clone();
    let pid = server.child.id().to_string();

    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as i64;
    let mut bodies = Vec::new();
    let (mut records, mut sampled, mut bytes) = (0usize, 0i64, 0usize);
    for series in 0..SERIES {
        let program = Program::new(series);
        for interval in 0..INTERVALS {
            let p = program.profile(
                interval,
                now - (INTERVALS - interval) as i64 * INTERVAL_NANOS,
            );
            let body = codec::encode(&p);
            bodies.push((
                format!(
                    "{url}/api/v1/ingest?host=host-{}&comm=service_{series}",
                    series % 20
                ),
                body,
                p.sample.len(),
                events(&p),
            ));
        }
    }
    let next = AtomicUsize::new(0);
    let cpu_before = cpu_seconds(&pid);
    let started = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..CONNECTIONS {
            scope.spawn(|| {
                let agent = ureq::Agent::config_builder()
                    .http_status_as_error(true)
                    .build()
                    .new_agent();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= REQUESTS {
                        break;
                    }
                    let (uri, body, _, _) = &bodies[i % bodies.len()];
                    agent.post(uri).send(&body[..]).expect("ingest succeeds");
                }
            });
        }
    });
    let wall = started.elapsed().as_secs_f64();
    let cpu = cpu_seconds(&pid) - cpu_before;
    for i in 0..REQUESTS {
        let (_, body, r, e) = &bodies[i % bodies.len()];
        records += r;
        sampled += e;
        bytes += body.len();
    }
    let metrics = ureq::get(format!("{url}/metrics"))
        .call()
        .unwrap()
        .body_mut()
        .read_to_string()
        .unwrap();
    let flushes = metrics
        .lines()
        .find(|l| l.starts_with("brasa_store_flushes "))
        .unwrap_or("brasa_store_flushes ?")
        .to_owned();
    drop(server);

    println!(
        "ingest: {REQUESTS} durable requests over {CONNECTIONS} connections in {wall:.2} s ({:.0} req/s, {:.1} MB/s of gzip pprof)",
        REQUESTS as f64 / wall,
        bytes as f64 / wall / 1e6
    );
    println!(
        "  {records} sample records ({:.0}/s), {sampled} sampled events ({:.0}/s)",
        records as f64 / wall,
        sampled as f64 / wall
    );
    println!(
        "  server CPU {cpu:.2} s: {:.0} sample records per CPU-second, {:.0} sampled events per CPU-second; {flushes}",
        records as f64 / cpu,
        sampled as f64 / cpu
    );
}
