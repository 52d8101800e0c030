//! The server under test and the data seeded into it through the ingest API.

use std::{
    path::Path,
    time::{SystemTime, UNIX_EPOCH},
};

use axum::{body::Bytes, http::Request};
use brasa_profile::{codec, pprof::Line, ProfileBuilder};
use brasa_store::{Store, StoreOptions};
use brasa_test_support::server::enc;
use brasa_web::{serve, AppState, ServerOptions};
use http_body_util::{BodyExt, Full};
use hyper_util::{client::legacy::Client as HttpClient, rt::TokioExecutor};

/// A function name that would run script if it ever reached the page as markup.
pub const HOSTILE: &str = "<img src=x onerror=alert(1)>";
/// Version 1.4 of the synthetic service: parse dominates.
const SHARES_14: &[(&[&str], i64)] = &[
    (&["main", "serve", "handler", "parse"], 60),
    (&["main", "serve", "handler", "render"], 20),
    (&["main", "gc"], 20),
    (&["main", "serve", HOSTILE], 5),
];
/// Version 1.5: render grew, parse shrank.
const SHARES_15: &[(&[&str], i64)] = &[
    (&["main", "serve", "handler", "parse"], 30),
    (&["main", "serve", "handler", "render"], 60),
    (&["main", "gc"], 20),
    (&["main", "serve", HOSTILE], 5),
];
/// In-use memory of version 1.5, in bytes, the same in every snapshot (so
/// its average over the range is these values).
const HEAP_15: &[(&[&str], i64)] = &[
    (&["main", "serve", "handler", "bufferPool.grow"], 3 << 20),
    (&["main", "cache", "lru.insert"], 768 << 10),
    (&["main", "serve", "decodeJSON"], 96 << 10),
];
/// Bytes per object in the synthetic heap profiles.
const OBJECT_BYTES: i64 = 512;
/// Sampling period of the synthetic heap profiles (Go's default rate).
const HEAP_PERIOD_BYTES: i64 = 512 * 1024;
/// Unique stacks of the large selection, and the profiles they are spread over.
pub const LARGE_STACKS: usize = 100_000;
pub const LARGE_PROFILES: usize = 10;
/// Sampling period of the synthetic profiles (100 Hz).
const PERIOD_NANOS: i64 = 10_000_000;

pub struct Server {
    pub base: String,
    _data: tempfile::TempDir,
}

pub async fn start_server() -> Server {
    start_server_with(ServerOptions::default()).await
}

pub async fn start_server_with(options: ServerOptions) -> Server {
    let data = tempfile::tempdir().unwrap();
    let store = Store::open(data.path(), StoreOptions::default()).unwrap();
    let state = AppState::new(store, options);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(serve(listener, state, std::future::pending()));
    Server { base, _data: data }
}

pub fn now_nanos() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as i64
}

/// A CPU profile: per stack, its samples and their CPU time.
pub fn synthetic(stacks: &[(&[&str], i64)], time_nanos: i64) -> Vec<u8> {
    let mut builder = ProfileBuilder::new(&[("samples", "count"), ("cpu", "nanoseconds")]);
    builder.set_period("cpu", "nanoseconds", PERIOD_NANOS);
    add_stacks(&mut builder, stacks, |count| {
        vec![count, count * PERIOD_NANOS]
    });
    builder.set_time(time_nanos, 10_000_000_000);
    codec::encode(&builder.build())
}

/// A heap profile as Go writes one (in-use objects and bytes, period
/// `space/bytes`): per stack, the bytes it holds.
pub fn heap(stacks: &[(&[&str], i64)], time_nanos: i64) -> Vec<u8> {
    let mut builder = ProfileBuilder::new(&[("inuse_objects", "count"), ("inuse_space", "bytes")]);
    builder.set_period("space", "bytes", HEAP_PERIOD_BYTES);
    add_stacks(&mut builder, stacks, |bytes| {
        vec![bytes / OBJECT_BYTES, bytes]
    });
    builder.set_time(time_nanos, 0);
    codec::encode(&builder.build())
}

/// Adds each stack (root first) with the values `values` makes of its number.
fn add_stacks(
    builder: &mut ProfileBuilder,
    stacks: &[(&[&str], i64)],
    values: impl Fn(i64) -> Vec<i64>,
) {
    for (frames, count) in stacks {
        let locations: Vec<u64> = frames
            .iter()
            .rev()
            .map(|name| named_location(builder, 0, 0, name))
            .collect();
        builder.add_sample(&locations, &values(*count), &[]);
    }
}

/// The location at `address` in mapping `mapping_id` of a function named `name`.
fn named_location(builder: &mut ProfileBuilder, mapping_id: u64, address: u64, name: &str) -> u64 {
    let function_id = builder.function(brasa_profile::builder::FunctionInfo {
        name,
        ..Default::default()
    });
    let line = Line {
        function_id,
        ..Line::default()
    };
    builder.location(mapping_id, address, &[line])
}

/// Frames of several runtimes, root first, each with the mapping the agent
/// puts it in.
pub const MIXED_RUNTIMES: &[(&str, Option<&str>)] = &[
    ("_start", Some("/usr/bin/python3.11")),
    ("<module>", Some("[python]")),
    ("handle_request", Some("[python]")),
    ("zlib_compress", Some("/usr/bin/python3.11")),
    ("JS:*render", Some("[jit]")),
    ("do_syscall_64", Some("[kernel.kallsyms]")),
];

/// One CPU profile of a stack through every frame of [`MIXED_RUNTIMES`].
pub fn mixed_runtimes(time_nanos: i64) -> Vec<u8> {
    let mut builder = ProfileBuilder::new(&[("samples", "count"), ("cpu", "nanoseconds")]);
    builder.set_period("cpu", "nanoseconds", PERIOD_NANOS);
    let locations: Vec<u64> = MIXED_RUNTIMES
        .iter()
        .enumerate()
        .rev()
        .map(|(depth, (name, mapping))| {
            let mapping_id = mapping.map_or(0, |filename| {
                builder.mapping(brasa_profile::builder::MappingInfo {
                    filename,
                    has_functions: true,
                    ..Default::default()
                })
            });
            named_location(&mut builder, mapping_id, 0x1000 + depth as u64, name)
        })
        .collect();
    builder.add_sample(&locations, &[10, 10 * PERIOD_NANOS], &[]);
    builder.set_time(time_nanos, 10_000_000_000);
    codec::encode(&builder.build())
}

pub async fn ingest(base: &str, labels: &str, body: Vec<u8>) {
    ingest_as(base, labels, body, None).await
}

/// Ingests with `token` as the bearer token, when given.
pub async fn ingest_as(base: &str, labels: &str, body: Vec<u8>, token: Option<&str>) {
    let client = HttpClient::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let mut request = Request::post(format!("{base}/api/v1/ingest?{labels}"));
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    let request = request.body(Full::new(Bytes::from(body))).unwrap();
    let response = client.request(request).await.unwrap();
    let status = response.status();
    let text = response.into_body().collect().await.unwrap().to_bytes();
    assert!(status.is_success(), "ingest {labels}: {status} {text:?}");
}

/// The Go fixture (re-stamped to a few minutes ago, so the default range
/// shows it), synthetic CPU profiles of two versions over the last hour,
/// and heap profiles (`__name__="memory"`) of version 1.5.
/// The Go fixture, stamped five minutes ago.
pub fn go_fixture() -> Vec<u8> {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/go/cpu.pb.gz");
    let mut go = codec::decode(&std::fs::read(fixture).unwrap()).unwrap();
    go.time_nanos = now_nanos() - 5 * 60 * 1_000_000_000;
    codec::encode(&go)
}

pub async fn seed(base: &str) {
    let now = now_nanos();
    ingest(base, "service=cpuwork&version=go", go_fixture()).await;
    for minutes in [50i64, 40, 30, 20, 10] {
        let time = now - minutes * 60 * 1_000_000_000;
        ingest(base, "service=shop&version=1.4", synthetic(SHARES_14, time)).await;
        ingest(
            base,
            "service=shop&version=1.5",
            synthetic(SHARES_15, time + 1),
        )
        .await;
        ingest(
            base,
            "__name__=memory&service=shop&version=1.5",
            heap(HEAP_15, time + 2),
        )
        .await;
    }
}

/// One profile's share of the large selection: every stack unique
/// (`handler_N` and `leaf_M` together), 14 frames deep.
pub fn large_profile(index: usize, time_nanos: i64) -> Vec<u8> {
    let per_profile = LARGE_STACKS / LARGE_PROFILES;
    let mut rng = index as u64 + 1;
    let mut stacks: Vec<(Vec<String>, i64)> = Vec::with_capacity(per_profile);
    for id in index * per_profile..(index + 1) * per_profile {
        let mut frames = vec!["main".to_owned(), format!("handler_{}", id / 1000)];
        for _ in 0..11 {
            rng = rng
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            frames.push(format!("module_{}::function", (rng >> 33) % 500));
        }
        frames.push(format!("leaf_{}", id % 1000));
        stacks.push((frames, 1 + (id % 7) as i64));
    }
    let borrowed: Vec<(Vec<&str>, i64)> = stacks
        .iter()
        .map(|(f, c)| (f.iter().map(String::as_str).collect(), *c))
        .collect();
    let refs: Vec<(&[&str], i64)> = borrowed.iter().map(|(f, c)| (f.as_slice(), *c)).collect();
    synthetic(&refs, time_nanos)
}

/// Frames of the deep profile's one stack, root first.
pub const DEEP_FRAMES: usize = 150;

/// The name of frame `depth` (0 the root) of the deep profile.
pub fn deep_frame(depth: usize) -> String {
    format!("deep_{depth:03}")
}

/// One CPU profile of a single stack [`DEEP_FRAMES`] deep.
pub fn deep_profile(time_nanos: i64) -> Vec<u8> {
    let names: Vec<String> = (0..DEEP_FRAMES).map(deep_frame).collect();
    let frames: Vec<&str> = names.iter().map(String::as_str).collect();
    synthetic(&[(&frames, 10)], time_nanos)
}

/// Processes of the group-by test, and the samples of each: every size
/// once, in an order unlike the names' (7 and 20 are coprime).
pub const GROUPED_PROCESSES: usize = 20;

/// The samples of process `index` of the group-by test.
pub fn grouped_samples(index: usize) -> i64 {
    ((index * 7) % GROUPED_PROCESSES + 1) as i64 * 10
}

/// The `process` label of process `index` of the group-by test.
pub fn grouped_process(index: usize) -> String {
    format!("proc-{:02}", index + 1)
}

/// A function reached from two callers, with two callees and time of
/// its own: `encode` runs 0.65 s, 0.40 s under `handlerA` and 0.25 s under
/// `handlerB`; it calls `compress` (0.50 s) and `checksum` (0.10 s).
pub const SANDWICH: &[(&[&str], i64)] = &[
    (&["main", "handlerA", "encode", "compress"], 30),
    (&["main", "handlerA", "encode", "checksum"], 10),
    (&["main", "handlerB", "encode", "compress"], 20),
    (&["main", "handlerB", "encode"], 5),
    (&["main", "idle"], 35),
];

/// The base of the moved-subtree diff: `work` under `callerA`.
pub const MOVED_BASE: &[(&[&str], i64)] = &[
    (&["main", "callerA", "work"], 50),
    (&["main", "steady"], 50),
];
/// The head: the same `work`, now under `callerB`.
pub const MOVED_HEAD: &[(&[&str], i64)] = &[
    (&["main", "callerB", "work"], 50),
    (&["main", "steady"], 50),
];

/// Seeds the profiles of the analysis views' steps, a minute ago.
pub async fn seed_views(base: &str) {
    let time = now_nanos() - 60_000_000_000;
    ingest(base, "__name__=deep_cpu", deep_profile(time)).await;
    for index in 0..GROUPED_PROCESSES {
        let process = grouped_process(index);
        let work = format!("work_{process}");
        let stacks: &[(&[&str], i64)] = &[(&["main", &work], grouped_samples(index))];
        ingest(
            base,
            &format!("__name__=grouped_cpu&process={process}"),
            synthetic(stacks, time),
        )
        .await;
    }
    ingest(base, "__name__=sandwich_cpu", synthetic(SANDWICH, time)).await;
    ingest(
        base,
        "__name__=moved_cpu&version=a",
        synthetic(MOVED_BASE, time),
    )
    .await;
    ingest(
        base,
        "__name__=moved_cpu&version=b",
        synthetic(MOVED_HEAD, time),
    )
    .await;
    let hostile: &[(&[&str], i64)] = &[(&["main", HOSTILE], 10)];
    ingest(
        base,
        &format!("__name__=hostile_cpu&process={}", enc(HOSTILE)),
        synthetic(hostile, time),
    )
    .await;
}
