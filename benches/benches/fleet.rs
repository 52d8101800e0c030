//! A fleet against `brasa server` on loopback: agents posting
//! 6,000-sample CPU profiles (a few hundred functions, stacks that share
//! their callers) with labels of their own, each once a second,
//! while a person queries one service over the last 5 minutes. For each
//! fleet size it prints what was offered and accepted per second, ingest
//! latency (p50/p99) of accepted pushes and of refused ones (429), pushes
//! that timed out, query latency (p50/p99) under that load, and the
//! server's RSS (peak during the step, and after it).
//!
//! Run through `benches/server/fleet.sh [SECONDS_PER_STEP] [SIZES...]`,
//! which builds the release binary; extra `brasa server` arguments go in
//! `BRASA_SERVER_ARGS` (e.g. to compare admission settings).

use std::{
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc, Mutex,
    },
    time::{Duration, Instant},
};

use brasa_benches::server::{fleet_profile, Server};

/// Samples (distinct stacks) per profile.
const SAMPLES: usize = 6_000;
/// Distinct profiles pre-generated; agents cycle through them.
const BODIES: usize = 16;
/// Time limit of one request, as the agent's.
const TIMEOUT: Duration = Duration::from_secs(10);
/// Pause between two queries.
const QUERY_EVERY: Duration = Duration::from_millis(500);

fn percentile(sorted: &[Duration], p: f64) -> String {
    if sorted.is_empty() {
        return "-".to_owned();
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    format!("{:.0} ms", sorted[i].as_secs_f64() * 1e3)
}

#[derive(Default)]
struct Outcomes {
    accepted: Vec<Duration>,
    refused: Vec<Duration>,
    failed: usize,
    timed_out: usize,
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(TIMEOUT))
        .build()
        .new_agent()
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let seconds: u64 = args.first().map_or(20, |s| s.parse().unwrap());
    let sizes: Vec<usize> = if args.len() > 1 {
        args[1..].iter().map(|s| s.parse().unwrap()).collect()
    } else {
        vec![100, 300, 600, 1000]
    };
    let data = tempfile::tempdir().unwrap();
    let extra = std::env::var("BRASA_SERVER_ARGS").unwrap_or_default();
    let server = Server::start(data.path(), &extra.split_whitespace().collect::<Vec<_>>());
    let url = server.url.clone();
    let bodies: Arc<Vec<Vec<u8>>> = Arc::new(
        (0..BODIES as u64)
            .map(|seed| fleet_profile(seed, SAMPLES))
            .collect(),
    );
    println!(
        "fleet: {SAMPLES}-sample profiles ({} KiB gzip), one push per agent per second, {seconds} s per step, \
         a 5-minute one-service query every {} ms; {} CPUs; server args: {:?}",
        bodies[0].len() / 1024,
        QUERY_EVERY.as_millis(),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        extra
    );
    for &agents in &sizes {
        let stop = Arc::new(AtomicBool::new(false));
        let outcomes = Arc::new(Mutex::new(Outcomes::default()));
        let queries = Arc::new(Mutex::new((Vec::new(), 0usize)));
        let started = Instant::now();
        let mut threads = Vec::new();
        for a in 0..agents {
            let (stop, outcomes, bodies, url) =
                (stop.clone(), outcomes.clone(), bodies.clone(), url.clone());
            threads.push(std::thread::spawn(move || {
                let client = agent();
                // Agents start spread over the first second, as a fleet does.
                std::thread::sleep(Duration::from_millis((a as u64 * 1000) / agents as u64));
                let mut next = Instant::now();
                let mut n = a;
                while !stop.load(Ordering::Relaxed) {
                    let uri = format!("{url}/api/v1/ingest?host=host-{a}&comm=svc{}", a % 50);
                    let sent = Instant::now();
                    let result = client.post(&uri).send(&bodies[n % BODIES][..]);
                    let took = sent.elapsed();
                    n += 1;
                    let mut o = outcomes.lock().unwrap();
                    match result.map(|r| r.status().as_u16()) {
                        Ok(200) => o.accepted.push(took),
                        Ok(429) => o.refused.push(took),
                        Ok(_) => o.failed += 1,
                        Err(_) if took >= TIMEOUT => o.timed_out += 1,
                        Err(_) => o.failed += 1,
                    }
                    drop(o);
                    next += Duration::from_secs(1);
                    if let Some(wait) = next.checked_duration_since(Instant::now()) {
                        std::thread::sleep(wait);
                    } else {
                        next = Instant::now();
                    }
                }
            }));
        }
        {
            let (stop, queries, url) = (stop.clone(), queries.clone(), url.clone());
            threads.push(std::thread::spawn(move || {
                let client = agent();
                let query = format!(
                    "{url}/api/v1/profile?query=%7Bcomm%3D%22svc1%22%7D&from=now-5m&to=now&format=json"
                );
                while !stop.load(Ordering::Relaxed) {
                    let sent = Instant::now();
                    let ok = client
                        .get(&query)
                        .call()
                        .map(|mut r| {
                            let status = r.status().as_u16();
                            let _ = r.body_mut().with_config().limit(1 << 30).read_to_vec();
                            status == 200
                        })
                        .unwrap_or(false);
                    let mut q = queries.lock().unwrap();
                    if ok {
                        q.0.push(sent.elapsed());
                    } else {
                        q.1 += 1;
                    }
                    drop(q);
                    std::thread::sleep(QUERY_EVERY);
                }
            }));
        }
        let mut peak = 0.0f64;
        while started.elapsed() < Duration::from_secs(seconds) {
            std::thread::sleep(Duration::from_millis(250));
            peak = peak.max(server.rss_mib());
        }
        stop.store(true, Ordering::Relaxed);
        for t in threads {
            t.join().unwrap();
        }
        let wall = started.elapsed().as_secs_f64();
        let mut o = std::mem::take(&mut *outcomes.lock().unwrap());
        let (mut q, q_failed) = std::mem::take(&mut *queries.lock().unwrap());
        o.accepted.sort();
        o.refused.sort();
        q.sort();
        println!(
            "{agents:>5} agents: accepted {:6.1}/s (p50 {}, p99 {}), refused 429 {:6} (p99 {}), timed out {}, other errors {}; \
             query p50 {} p99 {} ({} ok, {} failed); RSS peak {:.0} MiB, after {:.0} MiB",
            o.accepted.len() as f64 / wall,
            percentile(&o.accepted, 0.5),
            percentile(&o.accepted, 0.99),
            o.refused.len(),
            percentile(&o.refused, 0.99),
            o.timed_out,
            o.failed,
            percentile(&q, 0.5),
            percentile(&q, 0.99),
            q.len(),
            q_failed,
            peak,
            server.rss_mib(),
        );
    }
}
