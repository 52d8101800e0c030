//! The server's memory around a query over everything for a day: a store
//! of SERIES agents (each its own series) with PROFILES 6,000-sample CPU
//! profiles each, spread over the last day, is written through the store
//! library; then `brasa server` opens it, and this prints its RSS before,
//! the peak while CONCURRENT "everything over 24 hours" queries run (pprof
//! and flame-graph JSON), what they answered and how long they took, and
//! the RSS 2 and 10 seconds after.
//!
//! Run through `benches/server/query_memory.sh [SERIES] [PROFILES]
//! [CONCURRENT]`, which builds the release binary; extra `brasa server`
//! arguments go in `BRASA_SERVER_ARGS`.

use std::{
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use brasa_benches::server::{fleet_profile, Server};
use brasa_profile::codec;
use brasa_store::{labels::Labels, Store, StoreOptions};

/// Samples (distinct stacks) per profile, as the fleet bench's.
const SAMPLES: usize = 6_000;
/// Distinct profiles generated; series cycle through them.
const BODIES: u64 = 16;
const DAY_NANOS: u64 = 24 * 3600 * 1_000_000_000;

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .map(|a| a.parse().expect("arguments are numbers"))
        .collect();
    let series = args.first().copied().unwrap_or(1000);
    let per_series = args.get(1).copied().unwrap_or(5);
    let concurrent = args.get(2).copied().unwrap_or(4);
    let data = tempfile::tempdir().unwrap();

    let written = Instant::now();
    {
        let store = Store::open(data.path(), StoreOptions::default()).unwrap();
        let bodies: Vec<_> = (0..BODIES)
            .map(|seed| codec::decode(&fleet_profile(seed, SAMPLES)).unwrap())
            .collect();
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64;
        let mut last = None;
        for s in 0..series {
            let labels = Labels::new([
                ("__name__".to_owned(), "process_cpu".to_owned()),
                ("host".to_owned(), format!("host-{s}")),
                ("comm".to_owned(), format!("svc{}", s % 50)),
            ])
            .unwrap();
            for p in 0..per_series {
                let time = now - DAY_NANOS + (p as u64 * DAY_NANOS) / per_series as u64;
                let profile = &bodies[(s * per_series + p) % BODIES as usize];
                last = Some(store.insert(&labels, profile, time + s as u64).unwrap());
            }
        }
        store.commit(&last.unwrap()).unwrap();
        println!(
            "store: {series} series x {per_series} profiles of {SAMPLES} samples, {:.0} MiB on disk, written in {:.1} s",
            store.size_on_disk().unwrap() as f64 / (1 << 20) as f64,
            written.elapsed().as_secs_f64()
        );
    }

    let extra = std::env::var("BRASA_SERVER_ARGS").unwrap_or_default();
    let server = Server::start(data.path(), &extra.split_whitespace().collect::<Vec<_>>());
    println!(
        "server args: {extra:?}; RSS after start {:.0} MiB",
        server.rss_mib()
    );
    let client = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(600)))
        .build()
        .new_agent();
    for format in ["pprof", "json"] {
        let url = format!(
            "{}/api/v1/profile?query=%7B%7D&from=now-24h&to=now&format={format}",
            server.url
        );
        let stop = Arc::new(AtomicBool::new(false));
        let started = Instant::now();
        let queries: Vec<_> = (0..concurrent)
            .map(|_| {
                let (client, url) = (client.clone(), url.clone());
                std::thread::spawn(move || {
                    let sent = Instant::now();
                    let mut reply = client.get(&url).call().unwrap();
                    let status = reply.status().as_u16();
                    let body = reply
                        .body_mut()
                        .with_config()
                        .limit(1 << 32)
                        .read_to_vec()
                        .unwrap();
                    let note = if status == 200 {
                        format!("{} KiB", body.len() / 1024)
                    } else {
                        String::from_utf8_lossy(&body).into_owned()
                    };
                    (status, note, sent.elapsed())
                })
            })
            .collect();
        let peak = {
            let stop = stop.clone();
            let pid = server.child.id();
            std::thread::spawn(move || {
                let mut peak = 0.0f64;
                while !stop.load(Ordering::Relaxed) {
                    peak = peak.max(brasa_benches::server::rss_mib(pid));
                    std::thread::sleep(Duration::from_millis(20));
                }
                peak
            })
        };
        let answers: Vec<_> = queries.into_iter().map(|q| q.join().unwrap()).collect();
        stop.store(true, Ordering::Relaxed);
        let peak = peak.join().unwrap();
        let wall = started.elapsed();
        std::thread::sleep(Duration::from_secs(2));
        let after_2 = server.rss_mib();
        std::thread::sleep(Duration::from_secs(8));
        let after_10 = server.rss_mib();
        println!(
            "{concurrent} x everything over 24 h, format={format}: {:.1} s; RSS peak {peak:.0} MiB, after 2 s {after_2:.0} MiB, after 10 s {after_10:.0} MiB",
            wall.as_secs_f64()
        );
        for (status, note, took) in answers {
            println!("  {status} in {:.1} s: {note}", took.as_secs_f64());
        }
    }
}
