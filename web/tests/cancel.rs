//! A merge whose client goes away stops: the server notices the closed
//! connection, drops the request, and the merge running on a blocking
//! thread ends at its next check instead of using CPU and memory for an
//! answer nobody reads.

mod common;

use std::{
    io::{Read, Write},
    net::TcpStream,
    time::{Duration, Instant},
};

use brasa_store::labels::Labels;
use common::profile;

/// Profiles stored, each with its own stacks: enough that the merge runs
/// far longer than the test needs to close its connection.
const PROFILES: usize = 3_000;
const STACKS: usize = 300;

/// The value of metric `name` on the server at `addr`.
fn metric(addr: std::net::SocketAddr, name: &str) -> f64 {
    let mut stream = TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).unwrap();
    text.lines()
        .find(|l| l.starts_with(name) && l[name.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {name} in\n{text}"))
}

/// Waits until `done`, failing after a generous deadline.
fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_merge_stops_when_its_client_goes_away() {
    let app = common::app();
    let labels = Labels::new([("service", "big")]).unwrap();
    let store = app.state.store();
    // Recent times: the server's retention pass leaves them alone.
    let t0 = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        - 60_000_000_000;
    let mut last = None;
    for p in 0..PROFILES {
        let folded: String = (0..STACKS).map(|s| format!("main;f{p};g{s} 1\n")).collect();
        last = Some(
            store
                .insert(&labels, &profile(&folded, 0), t0 + p as u64)
                .unwrap(),
        );
    }
    store.commit(&last.unwrap()).unwrap();

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let state = app.state.clone();
    runtime.spawn(brasa_web::serve(listener, state, std::future::pending()));

    let mut client = TcpStream::connect(addr).unwrap();
    write!(
        client,
        "GET /api/v1/profile?query=%7B%7D&from=0&to=now&format=folded HTTP/1.1\r\nHost: x\r\n\r\n"
    )
    .unwrap();
    wait_for("the merge to start", || {
        metric(addr, "brasa_queries_running") == 1.0
    });
    drop(client);
    wait_for("the merge to stop", || {
        metric(addr, "brasa_queries_running") == 0.0
    });
    assert_eq!(metric(addr, "brasa_queries_cancelled_total"), 1.0);
    // A query that stays for its answer gets one.
    let mut client = TcpStream::connect(addr).unwrap();
    write!(
        client,
        "GET /api/v1/profile?query=%7B%7D&from=0&to=now&format=folded HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    client.read_to_string(&mut answer).unwrap();
    assert!(
        answer.starts_with("HTTP/1.1 200"),
        "{}",
        &answer[..200.min(answer.len())]
    );
    assert!(
        answer.contains("\nmain;f1;g1 1\n"),
        "{}",
        &answer[..300.min(answer.len())]
    );
    assert_eq!(metric(addr, "brasa_queries_cancelled_total"), 1.0);
}
