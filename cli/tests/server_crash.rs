//! `kill -9` during a stream of ingests, then a restart: every profile the
//! server acknowledged is there.

use std::{
    collections::BTreeSet,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc, Mutex,
    },
    time::{Duration, Instant},
};

use brasa_test_support::server::*;

/// Concurrent writers, so acknowledgements go through group commit.
const WRITERS: usize = 4;
/// Acknowledged ingests to wait for before the kill.
const ACKED_BEFORE_KILL: usize = 120;
/// Ingests each writer sends at most (the kill stops them much earlier).
const MAX_PER_WRITER: usize = 5_000;
/// Give up waiting for acknowledgements after this long.
const DEADLINE: Duration = Duration::from_secs(60);

#[test]
fn acknowledged_profiles_survive_kill_9() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let mut server = Server::start(&data, &[]);
    let acked = Arc::new(Mutex::new(BTreeSet::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let (url, acked, stop) = (server.url.clone(), acked.clone(), stop.clone());
            std::thread::spawn(move || {
                let agent = client();
                for i in 0..MAX_PER_WRITER {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let body = pprof_gz(&format!("main;writer_{w};seq_{i} 1\n"), 0);
                    let uri = format!("{url}/api/v1/ingest?service=crash&writer={w}");
                    match post(&agent, &uri, &[], &body) {
                        Ok((200, _)) => {
                            acked
                                .lock()
                                .unwrap()
                                .insert(format!("main;writer_{w};seq_{i}"));
                        }
                        // Refused or cut off by the kill: not acknowledged.
                        _ => break,
                    }
                }
            })
        })
        .collect();
    let started = Instant::now();
    while acked.lock().unwrap().len() < ACKED_BEFORE_KILL {
        assert!(started.elapsed() < DEADLINE, "ingests too slow");
        std::thread::sleep(Duration::from_millis(5));
    }
    server.kill9();
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.join().unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    assert!(acked.len() >= ACKED_BEFORE_KILL);

    let server = Server::start(&data, &[]);
    let agent = client();
    let folded = folded_all(&agent, &server.url, r#"{service="crash"}"#);
    let stored: BTreeSet<String> = folded
        .lines()
        .map(|l| {
            let (stack, count) = l.rsplit_once(' ').unwrap();
            assert_eq!(count, "1", "each profile is stored once: {l}");
            stack.to_owned()
        })
        .collect();
    let missing: Vec<_> = acked.difference(&stored).collect();
    assert!(
        missing.is_empty(),
        "{} acknowledged profiles lost: {missing:?}",
        missing.len()
    );

    // The restarted server keeps accepting ingests into the same series.
    let (status, body) = post(
        &agent,
        &format!("{}/api/v1/ingest?service=crash&writer=0", server.url),
        &[],
        &pprof_gz("main;after_restart 1\n", 0),
    )
    .unwrap();
    assert_eq!(status, 200, "{body}");
}
