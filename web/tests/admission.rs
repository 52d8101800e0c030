//! Admission control: past its ingest capacity the server answers 429 with
//! `Retry-After` instead of making clients wait, and a client that waits
//! as told gets every profile in.

mod common;

use std::{sync::Arc, time::Duration};

use axum::http::{Method, StatusCode};
use brasa_web::{limits::Lane, ServerOptions};
use common::*;

/// Clients pushing at once, and profiles each pushes.
const CLIENTS: usize = 16;
const EACH: usize = 2;
const T0: i64 = 1_700_000_000_000_000_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_saturated_server_says_when_to_retry_and_loses_nothing() {
    let mut options = ServerOptions::default();
    options.limits.ingest = Lane {
        in_flight: 1,
        queued: 2,
        max_wait: Duration::from_secs(5),
    };
    let app = Arc::new(app_with(options));
    let mut clients = Vec::new();
    for client in 0..CLIENTS {
        let app = app.clone();
        clients.push(tokio::spawn(async move {
            let mut refusals = Vec::new();
            for n in 0..EACH {
                let body = pprof_gz(&format!("main;client{client} {}\n", n + 1), T0 + n as i64);
                let uri = format!("/api/v1/ingest?service=load&client=c{client}");
                loop {
                    let reply = app.request(Method::POST, &uri, &[], body.clone()).await;
                    if reply.status == StatusCode::OK {
                        break;
                    }
                    assert_eq!(
                        reply.status,
                        StatusCode::TOO_MANY_REQUESTS,
                        "{}",
                        reply.text()
                    );
                    let wait: u64 = reply.headers["retry-after"]
                        .to_str()
                        .unwrap()
                        .parse()
                        .unwrap();
                    refusals.push(reply.error());
                    // Waiting as the server asks is the protocol under test.
                    tokio::time::sleep(Duration::from_secs(wait)).await;
                }
            }
            refusals
        }));
    }
    let mut refusals = Vec::new();
    for client in clients {
        refusals.extend(client.await.unwrap());
    }
    assert!(
        !refusals.is_empty(),
        "{CLIENTS} clients at once against one turn and a queue of 2 meet a refusal"
    );
    assert!(
        refusals[0].contains("busy with ingest") && refusals[0].contains("Retry-After"),
        "{}",
        refusals[0]
    );
    // Every profile is in, exactly once: each client's samples add up.
    let reply = app
        .get(&format!(
            "/api/v1/profile?query={}&from=0&to=now&format=folded",
            enc(r#"{service="load"}"#)
        ))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let folded = reply.text();
    let expected: usize = (1..=EACH).sum();
    for client in 0..CLIENTS {
        let line = folded
            .lines()
            .find(|l| l.starts_with(&format!("main;client{client} ")))
            .unwrap_or_else(|| panic!("client {client} missing in\n{folded}"));
        assert_eq!(
            line.rsplit(' ').next().unwrap(),
            expected.to_string(),
            "{line}"
        );
    }
    let metrics = app.get("/metrics").await.text();
    let refused: f64 = metrics
        .lines()
        .filter(|l| l.starts_with("brasa_requests_refused_total{lane=\"ingest\""))
        .map(|l| l.rsplit(' ').next().unwrap().parse::<f64>().unwrap())
        .sum();
    assert_eq!(refused as usize, refusals.len(), "{metrics}");
}
