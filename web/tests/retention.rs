//! The retention task of a served app deletes old profiles in the
//! background and keeps recent ones.

mod common;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use brasa_store::{Store, StoreOptions};
use brasa_web::{serve, AppState, ServerOptions};
use common::pprof_gz;

/// One HTTP/1.1 request over a fresh connection; returns status and body.
async fn http(addr: std::net::SocketAddr, method: &str, path: &str, body: &[u8]) -> (u16, String) {
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    let body = body.to_vec();
    tokio::task::spawn_blocking(move || {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(addr).unwrap();
        stream.write_all(head.as_bytes()).unwrap();
        stream.write_all(&body).unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        let status = response[9..12].parse().unwrap();
        let body = response
            .split_once("\r\n\r\n")
            .map_or("", |(_, b)| b)
            .to_owned();
        (status, body)
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn old_profiles_are_deleted_in_the_background() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), StoreOptions::default()).unwrap();
    let mut options = ServerOptions::default();
    options.retention = Duration::from_secs(3600);
    options.retention_interval = Duration::from_millis(50);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve(listener, AppState::new(store, options), async {
        let _ = stopped.await;
    }));

    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as i64;
    let two_hours_ago = now - 7_200_000_000_000;
    let (status, body) = http(
        addr,
        "POST",
        "/api/v1/ingest?service=r",
        &pprof_gz("old 1\n", two_hours_ago),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, _) = http(
        addr,
        "POST",
        "/api/v1/ingest?service=r",
        &pprof_gz("new 1\n", now),
    )
    .await;
    assert_eq!(status, 200);

    let query = "/api/v1/profile?from=now-3h&format=folded";
    let mut folded = String::new();
    for _ in 0..100 {
        folded = http(addr, "GET", query, b"").await.1;
        if folded == "new 1\n" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(folded, "new 1\n", "the old profile is still there");
    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
}
