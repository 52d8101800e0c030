//! Server time to produce the web UI's first flame graph: the JSON of
//! `GET /api/v1/profile?format=json` for a selection holding 50,000 unique
//! stacks (target: under 300 ms), measured over loopback HTTP against the
//! real router, the whole answer read.
//!
//! The selection is 10 profiles of 5,000 distinct stacks each, 12 to 20
//! frames deep, as an agent would upload for one busy service.
//!
//! `cargo bench -p brasa-benches --bench ui_flamegraph`

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::{body::Bytes, http::Request};
use brasa_profile::{builder::FunctionInfo, codec, pprof::Line, ProfileBuilder};
use brasa_store::{matcher::Matcher, Store, StoreOptions};
use brasa_web::{serve, AppState, ServerOptions};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use http_body_util::{BodyExt, Full};
use hyper_util::{
    client::legacy::{connect::HttpConnector, Client},
    rt::TokioExecutor,
};

/// Unique stacks in the selection.
const UNIQUE_STACKS: usize = 50_000;
/// Profiles the stacks are spread over.
const PROFILES: usize = 10;
/// Distinct function names the middle of the stacks draws from.
const FUNCTION_POOL: usize = 2_000;
/// Leaves per handler: `(handler, leaf)` makes every stack unique.
const LEAVES: usize = 1_000;
const PERIOD_NANOS: i64 = 52_631_578; // 19 Hz, the agent's default.

type HttpClient = Client<HttpConnector, Full<Bytes>>;

/// A deterministic pseudo-random sequence (64-bit LCG), so runs compare.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, below: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 33) % below as u64) as usize
    }
}

fn stack(id: usize, pool: &[String]) -> Vec<String> {
    let mut rng = Lcg(id as u64);
    let mut frames = vec![
        "main".to_owned(),
        "runtime::worker".to_owned(),
        format!("service::handler_{}", id / LEAVES),
    ];
    let middle = 9 + rng.next(9);
    frames.extend((0..middle).map(|_| pool[rng.next(pool.len())].clone()));
    frames.push(format!("leaf::compute_{}", id % LEAVES));
    frames
}

fn profile(index: usize, pool: &[String], time_nanos: i64) -> Vec<u8> {
    let mut builder = ProfileBuilder::new(&[("samples", "count"), ("cpu", "nanoseconds")]);
    builder.set_period("cpu", "nanoseconds", PERIOD_NANOS);
    builder.set_time(time_nanos, 10_000_000_000);
    let per_profile = UNIQUE_STACKS / PROFILES;
    let mut rng = Lcg(index as u64 + 7);
    for id in index * per_profile..(index + 1) * per_profile {
        let locations: Vec<u64> = stack(id, pool)
            .iter()
            .rev()
            .map(|name| {
                let function_id = builder.function(FunctionInfo {
                    name,
                    ..FunctionInfo::default()
                });
                let line = Line {
                    function_id,
                    ..Line::default()
                };
                builder.location(0, 0, &[line])
            })
            .collect();
        let count = 1 + rng.next(20) as i64;
        builder.add_sample(&locations, &[count, count * PERIOD_NANOS], &[]);
    }
    codec::encode(&builder.build())
}

async fn send(client: &HttpClient, request: Request<Full<Bytes>>) -> Bytes {
    let response = client.request(request).await.expect("server answers");
    let status = response.status();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert!(status.is_success(), "{status}: {body:?}");
    body
}

fn flamegraph_json(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let data = tempfile::tempdir().unwrap();
    let client: HttpClient = Client::builder(TokioExecutor::new()).build_http();
    let store = Store::open(data.path(), StoreOptions::default()).unwrap();
    let state = AppState::new(store, ServerOptions::default());
    let base = runtime.block_on(async {
        let state = state.clone();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(serve(listener, state, std::future::pending()));
        let pool: Vec<String> = (0..FUNCTION_POOL)
            .map(|i| format!("crate_{}::module_{}::function_{i}", i % 37, i % 11))
            .collect();
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos() as i64;
        for index in 0..PROFILES {
            let time = now - (index as i64 + 1) * 10_000_000_000;
            let request = Request::post(format!("{base}/api/v1/ingest?service=bench"))
                .body(Full::new(Bytes::from(profile(index, &pool, time))))
                .unwrap();
            send(&client, request).await;
        }
        base
    });
    let url = |format: &str| {
        format!("{base}/api/v1/profile?query=%7Bservice%3D%22bench%22%7D&from=now-1h&to=now&format={format}")
    };
    let get = |url: &str| {
        runtime.block_on(async {
            let request = Request::get(url).body(Full::default()).unwrap();
            send(&client, request).await
        })
    };
    let json_url = url("json");
    let fetch = || get(&json_url);

    let started = Instant::now();
    let body = fetch();
    let first = started.elapsed();
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let stacks = json["stacks"].as_array().map_or(0, Vec::len);
    assert_eq!(
        stacks, UNIQUE_STACKS,
        "the selection has every unique stack"
    );
    eprintln!(
        "first request after ingest: {first:?} for {stacks} unique stacks, {} KiB of JSON",
        body.len() / 1024
    );

    let mut group = c.benchmark_group("ui");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(10));
    group.throughput(Throughput::Elements(UNIQUE_STACKS as u64));
    group.bench_function("flamegraph_json_50k_stacks", |b| b.iter(fetch));
    // The same selection in the other formats, to show where the time goes:
    // pprof is the merge plus encoding, folded adds the stack strings.
    for format in ["pprof", "folded"] {
        let format_url = url(format);
        group.bench_function(format!("{format}_50k_stacks"), |b| {
            b.iter(|| get(&format_url))
        });
    }
    // The store's part: scanning and merging the ten profiles.
    let matchers = [Matcher::equal("service", "bench")];
    group.bench_function("store_merge_50k_stacks", |b| {
        b.iter(|| state.store().merge(&matchers, 0, u64::MAX).unwrap())
    });
    group.finish();
}

criterion_group!(benches, flamegraph_json);
criterion_main!(benches);
