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

/// A query over more than the store allows is a 422 that names the
/// limit; the same store answers queries within its limits.
#[tokio::test]
async fn queries_over_a_limit_are_refused_naming_it() {
    let mut store_options = brasa_store::StoreOptions::default();
    store_options.query.max_profiles = 4;
    store_options.query.max_stacks = 3;
    store_options.query.max_series = 2;
    let app = app_with_store(ServerOptions::default(), store_options);
    for (series, stacks) in [
        ("a", "main;x 1\nmain;y 1\n"),
        ("b", "main;z 1\n"),
        ("c", "main;w 1\n"),
    ] {
        for n in 0..2 {
            let uri = format!("/api/v1/ingest?service={series}");
            let reply = app.post(&uri, pprof_gz(stacks, T0 + n)).await;
            assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
        }
    }
    let query = |selector: &str| {
        format!(
            "/api/v1/profile?query={}&from=0&to=now&format=folded",
            enc(selector)
        )
    };
    // Within every limit: two series, four profiles, three stacks.
    let ok = app.get(&query(r#"{service=~"a|b"}"#)).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.text());
    assert_eq!(ok.text().lines().count(), 3);
    // Three series.
    let all = app.get(&query(r#"{service=~".+"}"#)).await;
    assert_eq!(all.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        all.error().contains("more than 2 series"),
        "{}",
        all.error()
    );
    let chart = app
        .get(&format!(
            "/api/v1/series?query={}&from=1699990000&to=1700010000&step=1h",
            enc(r#"{service=~".+"}"#)
        ))
        .await;
    assert_eq!(chart.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(chart.error().contains("more than 2 series"));
    // More profiles and stacks than allowed, in few series.
    for n in 2..5 {
        app.post("/api/v1/ingest?service=b", pprof_gz("main;z 1\n", T0 + n))
            .await;
    }
    let profiles = app.get(&query(r#"{service=~"b"}"#)).await;
    assert_eq!(profiles.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        profiles.error().contains("more than 4 profiles"),
        "{}",
        profiles.error()
    );
    for n in 0..2 {
        app.post(
            "/api/v1/ingest?service=d",
            pprof_gz("main;p 1\nmain;q 1\nmain;r 1\nmain;s 1\n", T0 + n),
        )
        .await;
    }
    let stacks = app.get(&query(r#"{service="d"}"#)).await;
    assert_eq!(stacks.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        stacks.error().contains("more than 3 stacks"),
        "{}",
        stacks.error()
    );
}

/// A query whose merge would hold more than the queries' share of the
/// memory budget is a 422 naming it.
#[tokio::test]
async fn a_query_over_the_memory_budget_is_refused_naming_it() {
    let mut store_options = brasa_store::StoreOptions::default();
    // 128 KiB for queries.
    store_options.memory_budget = 512 << 10;
    let app = app_with_store(ServerOptions::default(), store_options);
    let stacks: String = (0..3_000).map(|i| format!("main;f{i} 1\n")).collect();
    let reply = app
        .post("/api/v1/ingest?service=big", pprof_gz(&stacks, T0))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let reply = app
        .post("/api/v1/ingest?service=small", pprof_gz("main;x 1\n", T0))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let query = |service: &str| {
        format!(
            "/api/v1/profile?query={}&from=0&to=now&format=folded",
            enc(&format!("{{service=\"{service}\"}}"))
        )
    };
    let big = app.get(&query("big")).await;
    assert_eq!(big.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        big.error().contains("131072 bytes of memory"),
        "{}",
        big.error()
    );
    let small = app.get(&query("small")).await;
    assert_eq!(small.status, StatusCode::OK, "{}", small.text());
}
