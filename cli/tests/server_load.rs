//! Concurrent ingests and queries on loopback: every request succeeds, and
//! the final answer accounts for every ingested profile.

use std::fmt::Write;

use brasa_test_support::server::*;

const INGEST_THREADS: usize = 4;
const INGESTS_PER_THREAD: usize = 50;
const QUERY_THREADS: usize = 2;
const QUERIES_PER_THREAD: usize = 25;
/// Distinct stacks per profile, about what an agent sends per process.
const STACKS: usize = 100;

/// An agent-sized profile: `STACKS` stacks of depth 12, one sample each.
fn agent_profile(thread: usize) -> Vec<u8> {
    let mut text = String::new();
    for s in 0..STACKS {
        let frames: Vec<String> = (0..12)
            .map(|d| format!("mod{}::func_{}", d % 4, (s * 7 + d) % 61))
            .collect();
        writeln!(text, "main;thread_{thread};{} 1", frames.join(";")).unwrap();
    }
    pprof_gz(&text, 0)
}

#[test]
fn concurrent_ingest_and_queries_all_succeed() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(&tmp.path().join("data"), &[]);
    let url = server.url.clone();
    // One profile first, so queries have something to merge from the start.
    let (status, _) = post(
        &client(),
        &format!("{url}/api/v1/ingest?service=load&thread=seed"),
        &[],
        &agent_profile(99),
    )
    .unwrap();
    assert_eq!(status, 200);

    let ingests: Vec<_> = (0..INGEST_THREADS)
        .map(|t| {
            let url = url.clone();
            std::thread::spawn(move || {
                let agent = client();
                let body = agent_profile(t);
                for _ in 0..INGESTS_PER_THREAD {
                    let (status, text) = post(
                        &agent,
                        &format!("{url}/api/v1/ingest?service=load&thread={t}"),
                        &[],
                        &body,
                    )
                    .unwrap();
                    assert_eq!(status, 200, "{text}");
                }
            })
        })
        .collect();
    let queries: Vec<_> = (0..QUERY_THREADS)
        .map(|_| {
            let url = url.clone();
            std::thread::spawn(move || {
                let agent = client();
                let selector = enc(r#"{service="load"}"#);
                for i in 0..QUERIES_PER_THREAD {
                    let uri = match i % 4 {
                        0 => format!("{url}/api/v1/profile?query={selector}&format=folded"),
                        1 => format!("{url}/api/v1/profile?query={selector}"),
                        2 => format!("{url}/api/v1/series?query={selector}&step=1s&from=now-10m"),
                        _ => format!("{url}/api/v1/labels/thread/values"),
                    };
                    let (status, body) = get(&agent, &uri, &[]);
                    assert_eq!(status, 200, "{uri}: {}", String::from_utf8_lossy(&body));
                }
            })
        })
        .collect();
    for t in ingests.into_iter().chain(queries) {
        t.join().unwrap();
    }

    let agent = client();
    let folded = folded_all(&agent, &url, r#"{service="load"}"#);
    let total: i64 = folded
        .lines()
        .map(|l| l.rsplit_once(' ').unwrap().1.parse::<i64>().unwrap())
        .sum();
    let profiles = INGEST_THREADS * INGESTS_PER_THREAD + 1;
    assert_eq!(total, (profiles * STACKS) as i64);
    let (_, metrics) = get(&agent, &format!("{url}/metrics"), &[]);
    let metrics = String::from_utf8(metrics).unwrap();
    assert!(
        metrics.contains(&format!(
            "brasa_ingest_profiles_total{{endpoint=\"ingest\"}} {profiles}"
        )),
        "{metrics}"
    );
    assert!(!metrics.contains("brasa_query_errors_total{"), "{metrics}");
}
