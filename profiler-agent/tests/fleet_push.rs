//! Delivery through the spool against a scripted HTTP server on loopback:
//! outages are ridden out, nothing acknowledged is lost or sent twice, and
//! profiles the server refuses for good are not retried forever.

use std::{
    io::{BufRead, BufReader, Read, Write},
    net::TcpListener,
    sync::{Arc, Condvar, Mutex},
    time::{Duration, Instant},
};

use brasa_agent::fleet::{
    backoff::BackoffOptions,
    push::{PushOptions, Pusher},
    spool::{Spool, SpooledProfile},
};

#[derive(Debug, Clone)]
struct Received {
    target: String,
    authorization: Option<String>,
    body: Vec<u8>,
    /// What it was answered; `None` while unanswered.
    status: Option<u16>,
}

/// Status that makes [`FakeServer`] read the request and then never
/// answer, holding the connection until the statuses change.
const HANG: u16 = 0;

/// A server answering each request with the next status of `statuses`
/// (the last one repeats), recording what it received.
struct FakeServer {
    url: String,
    received: Arc<Mutex<Vec<Received>>>,
    statuses: Arc<Statuses>,
}

#[derive(Default)]
struct Statuses {
    next: Mutex<Vec<u16>>,
    changed: Condvar,
}

impl Statuses {
    /// The status for the next request; a [`HANG`] waits for a change.
    fn take(&self) -> u16 {
        let mut next = self.next.lock().unwrap();
        let status = if next.len() > 1 {
            next.remove(0)
        } else {
            next[0]
        };
        if status == HANG {
            drop(self.changed.wait_while(next, |n| n == &[HANG]).unwrap());
        }
        status
    }
}

impl FakeServer {
    fn start(statuses: &[u16]) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let received = Arc::new(Mutex::new(Vec::new()));
        let statuses = Arc::new(Statuses {
            next: Mutex::new(statuses.to_vec()),
            changed: Condvar::new(),
        });
        let (r, s) = (received.clone(), statuses.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                let (r, s) = (r.clone(), s.clone());
                std::thread::spawn(move || serve(stream, &r, &s));
            }
        });
        Self {
            url,
            received,
            statuses,
        }
    }

    fn set_statuses(&self, statuses: &[u16]) {
        *self.statuses.next.lock().unwrap() = statuses.to_vec();
        self.statuses.changed.notify_all();
    }

    fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }
}

fn serve(stream: std::net::TcpStream, received: &Mutex<Vec<Received>>, statuses: &Statuses) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut stream = stream;
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
            return;
        }
        let target = request_line
            .split_whitespace()
            .nth(1)
            .unwrap_or("")
            .to_owned();
        let (mut length, mut authorization) = (0usize, None);
        loop {
            let mut header = String::new();
            reader.read_line(&mut header).unwrap();
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            let (name, value) = header.split_once(':').unwrap();
            match name.to_ascii_lowercase().as_str() {
                "content-length" => length = value.trim().parse().unwrap(),
                "authorization" => authorization = Some(value.trim().to_owned()),
                _ => {}
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).unwrap();
        let at = {
            let mut received = received.lock().unwrap();
            received.push(Received {
                target,
                authorization,
                body,
                status: None,
            });
            received.len() - 1
        };
        let status = statuses.take();
        received.lock().unwrap()[at].status = Some(status);
        if status == HANG {
            // Released: the connection closes without an answer.
            return;
        }
        let reply = format!("HTTP/1.1 {status} X\r\ncontent-length: 2\r\n\r\nno");
        stream.write_all(reply.as_bytes()).unwrap();
    }
}

fn profile(i: u8) -> SpooledProfile {
    SpooledProfile {
        labels: vec![
            ("comm".into(), format!("app {i}")),
            ("host".into(), "h&1".into()),
        ],
        body: vec![i; 64],
    }
}

fn options(url: &str) -> PushOptions {
    options_for(&[url])
}

/// Options for `urls`, tried in order, with short timeouts and backoff.
fn options_for(urls: &[&str]) -> PushOptions {
    let mut options = PushOptions::new(urls);
    options.token = Some("s3cret".into());
    options.timeout = Duration::from_secs(2);
    options.backoff = BackoffOptions::default();
    options.backoff.initial = Duration::from_millis(20);
    options.backoff.max = Duration::from_millis(40);
    options
}

#[test]
fn outage_is_spooled_then_delivered_oldest_first_exactly_once() {
    let server = FakeServer::start(&[503]);
    let dir = tempfile::tempdir().unwrap();
    let mut pusher = Pusher::new(
        options(&server.url),
        Spool::open(dir.path(), 1 << 20).unwrap(),
    );
    for i in 0..5 {
        pusher.submit(&profile(i)).unwrap();
    }
    assert_eq!(pusher.spool().len(), 5);
    assert_eq!(pusher.stats().pushed, 0);
    assert!(pusher.stats().failures >= 1);
    // Backing off: not every submit hammered the server.
    assert!(server.received().len() < 5, "{}", server.received().len());

    server.set_statuses(&[200]);
    // Nothing is sent until the backoff window has passed; then all of it.
    let mut delivered = 0;
    brasa_test_support::wait_until("the spool is delivered", Duration::from_secs(10), || {
        delivered += pusher.flush();
        delivered > 0
    });
    assert_eq!(delivered, 5);
    assert!(pusher.spool().is_empty());
    // The last five requests are the successful ones, each profile once,
    // the oldest first (the rest go several at a time).
    let received = server.received();
    let ok = &received[received.len() - 5..];
    let mut bodies: Vec<u8> = ok.iter().map(|r| r.body[0]).collect();
    assert_eq!(bodies[0], 0);
    bodies.sort_unstable();
    assert_eq!(bodies, vec![0, 1, 2, 3, 4]);
    assert_eq!(ok[0].target, "/api/v1/ingest?comm=app%200&host=h%261");
    assert_eq!(ok[0].authorization.as_deref(), Some("Bearer s3cret"));
    assert_eq!(pusher.stats().pushed, 5);
}

#[test]
fn spool_survives_an_agent_restart() {
    let server = FakeServer::start(&[500]);
    let dir = tempfile::tempdir().unwrap();
    {
        let mut pusher = Pusher::new(
            options(&server.url),
            Spool::open(dir.path(), 1 << 20).unwrap(),
        );
        pusher.submit(&profile(7)).unwrap();
        pusher.submit(&profile(8)).unwrap();
        assert_eq!(pusher.spool().len(), 2);
    }
    server.set_statuses(&[200]);
    let mut pusher = Pusher::new(
        options(&server.url),
        Spool::open(dir.path(), 1 << 20).unwrap(),
    );
    assert_eq!(pusher.flush(), 2);
    let bodies: Vec<u8> = server
        .received()
        .iter()
        .rev()
        .take(2)
        .map(|r| r.body[0])
        .collect();
    assert_eq!(bodies, vec![8, 7]);
}

#[test]
fn refused_profiles_are_dropped_not_retried() {
    let server = FakeServer::start(&[400, 200]);
    let dir = tempfile::tempdir().unwrap();
    let mut pusher = Pusher::new(
        options(&server.url),
        Spool::open(dir.path(), 1 << 20).unwrap(),
    );
    pusher.submit(&profile(1)).unwrap();
    pusher.submit(&profile(2)).unwrap();
    assert_eq!(pusher.stats().rejected, 1);
    assert_eq!(pusher.stats().pushed, 1);
    assert!(pusher.spool().is_empty());
    assert!(pusher.last_error().unwrap().contains("HTTP 400"));
    assert_eq!(server.received().len(), 2);
}

#[test]
fn unreachable_server_keeps_memory_and_disk_bounded() {
    // Nothing listens on this port: every attempt fails to connect.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let limit = 4_096;
    let mut pusher = Pusher::new(
        options(&format!("http://127.0.0.1:{port}")),
        Spool::open(dir.path(), limit).unwrap(),
    );
    for i in 0..200 {
        pusher.submit(&profile(i as u8)).unwrap();
    }
    assert!(pusher.spool().bytes() <= limit);
    assert!(pusher.spool().dropped() > 100);
    assert_eq!(pusher.stats().pushed, 0);
}

#[test]
fn a_hanging_server_costs_one_timeout_per_attempt() {
    let server = FakeServer::start(&[HANG]);
    let dir = tempfile::tempdir().unwrap();
    let mut options = options(&server.url);
    options.timeout = Duration::from_millis(300);
    let mut pusher = Pusher::new(options, Spool::open(dir.path(), 1 << 20).unwrap());
    let started = Instant::now();
    pusher.submit(&profile(1)).unwrap();
    // The attempt gave up on its own: the server never answers.
    assert!(started.elapsed() < Duration::from_secs(30));
    assert_eq!(pusher.stats().failures, 1);
    assert_eq!(pusher.spool().len(), 1);
    assert!(
        pusher.last_error().unwrap().contains("timeout"),
        "{:?}",
        pusher.last_error()
    );
    server.set_statuses(&[200]);
}

#[test]
fn queueing_never_waits_for_a_request_on_the_wire() {
    let server = FakeServer::start(&[HANG]);
    let dir = tempfile::tempdir().unwrap();
    let mut options = options(&server.url);
    // Long enough that a queue waiting on the request would see it fail.
    options.timeout = Duration::from_secs(60);
    let delivery = Pusher::new(options, Spool::open(dir.path(), 1 << 20).unwrap())
        .start()
        .unwrap();
    let outbox = delivery.outbox().clone();
    outbox.submit(&profile(0)).unwrap();
    brasa_test_support::wait_until(
        "the server holds a request",
        Duration::from_secs(10),
        || !server.received().is_empty(),
    );
    for i in 1..6 {
        outbox.submit(&profile(i)).unwrap();
    }
    assert_eq!(outbox.spool().len(), 6);
    assert_eq!(
        outbox.stats().failures,
        0,
        "the request is still on the wire"
    );

    // The server lets go and recovers: everything arrives, the first
    // profile again first, the rest several at a time.
    server.set_statuses(&[200]);
    brasa_test_support::wait_until("the spool is delivered", Duration::from_secs(10), || {
        outbox.spool().is_empty()
    });
    assert_eq!(outbox.stats().pushed, 6);
    assert_eq!(outbox.stats().failures, 1);
    let received = server.received();
    let mut bodies: Vec<u8> = received[1..].iter().map(|r| r.body[0]).collect();
    assert_eq!(bodies[0], 0);
    bodies.sort_unstable();
    assert_eq!(bodies, vec![0, 1, 2, 3, 4, 5]);
    delivery.finish();
}

#[test]
fn stopping_delivery_while_the_server_hangs_keeps_the_spool() {
    let server = FakeServer::start(&[HANG]);
    let dir = tempfile::tempdir().unwrap();
    let mut options = options(&server.url);
    options.timeout = Duration::from_millis(500);
    let delivery = Pusher::new(options, Spool::open(dir.path(), 1 << 20).unwrap())
        .start()
        .unwrap();
    delivery.outbox().submit(&profile(0)).unwrap();
    brasa_test_support::wait_until(
        "the server holds a request",
        Duration::from_secs(10),
        || !server.received().is_empty(),
    );
    delivery.finish();
    server.set_statuses(&[200]);
    assert_eq!(Spool::open(dir.path(), 1 << 20).unwrap().len(), 1);
}

#[test]
fn a_flapping_server_gets_every_profile_exactly_once() {
    // Up, down (503), up, down (500), up, over and over.
    let flapping: Vec<u16> = (0..200)
        .map(|i| match i % 5 {
            1 => 503,
            3 => 500,
            _ => 200,
        })
        .collect();
    let server = FakeServer::start(&flapping);
    let dir = tempfile::tempdir().unwrap();
    let delivery = Pusher::new(
        options(&server.url),
        Spool::open(dir.path(), 1 << 20).unwrap(),
    )
    .start()
    .unwrap();
    let outbox = delivery.outbox().clone();
    for i in 0..30 {
        outbox.submit(&profile(i)).unwrap();
    }
    brasa_test_support::wait_until("the spool is delivered", Duration::from_secs(60), || {
        outbox.spool().is_empty()
    });
    delivery.finish();
    let stats = outbox.stats();
    assert_eq!((stats.pushed, stats.rejected), (30, 0));
    assert!(stats.failures >= 5, "{stats:?}");
    // Each profile was taken (answered 200) once: what failed was sent
    // again, what was taken never was.
    let mut taken: Vec<u8> = server
        .received()
        .iter()
        .filter(|r| r.status == Some(200))
        .map(|r| r.body[0])
        .collect();
    taken.sort_unstable();
    assert_eq!(taken, (0..30).collect::<Vec<u8>>());
}

/// The bodies' first bytes (the profiles' numbers) of what `server`
/// received, with the status each was answered.
fn answered(server: &FakeServer) -> Vec<(u8, Option<u16>)> {
    server
        .received()
        .iter()
        .map(|r| (r.body[0], r.status))
        .collect()
}

/// Options for `urls` whose backoff, were it taken, would stall the test.
fn failover_options(urls: &[&str]) -> PushOptions {
    let mut options = options_for(urls);
    options.backoff.initial = Duration::from_secs(600);
    options.backoff.max = Duration::from_secs(600);
    options
}

#[test]
fn a_failing_server_hands_over_to_the_next_at_once_which_then_keeps_the_profiles() {
    // The first server takes one profile, then fails.
    let primary = FakeServer::start(&[200, 503]);
    let fallback = FakeServer::start(&[200]);
    let dir = tempfile::tempdir().unwrap();
    let mut pusher = Pusher::new(
        failover_options(&[&primary.url, &fallback.url]),
        Spool::open(dir.path(), 1 << 20).unwrap(),
    );
    for i in 0..4 {
        pusher.submit(&profile(i)).unwrap();
    }
    // Profile 1 failed on the first server and went to the second without
    // a backoff; the second keeps the rest: each profile acknowledged once.
    assert!(pusher.spool().is_empty());
    assert_eq!(answered(&primary), [(0, Some(200)), (1, Some(503))]);
    assert_eq!(
        answered(&fallback),
        [(1, Some(200)), (2, Some(200)), (3, Some(200))]
    );
    let stats = pusher.stats();
    assert_eq!((stats.pushed, stats.failures, stats.failovers), (4, 1, 1));
    assert_eq!(pusher.server(), fallback.url);
}

#[test]
fn when_every_server_fails_the_agent_backs_off_and_keeps_the_profile() {
    let first = FakeServer::start(&[503]);
    let second = FakeServer::start(&[500]);
    let dir = tempfile::tempdir().unwrap();
    let mut pusher = Pusher::new(
        failover_options(&[&first.url, &second.url]),
        Spool::open(dir.path(), 1 << 20).unwrap(),
    );
    pusher.submit(&profile(0)).unwrap();
    pusher.submit(&profile(1)).unwrap();
    // One attempt on each server, then the backoff holds every later one.
    assert_eq!(answered(&first), [(0, Some(503))]);
    assert_eq!(answered(&second), [(0, Some(500))]);
    assert_eq!(pusher.spool().len(), 2);
    let stats = pusher.stats();
    assert_eq!((stats.pushed, stats.failures, stats.failovers), (0, 2, 2));
    // The next round starts where the first began.
    assert_eq!(pusher.server(), first.url);
}
