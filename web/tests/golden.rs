//! The JSON answers the web UI reads (`web/ui/api.js`, `app.js`), compared
//! with golden files under `tests/golden/`: labels, label values, a merged
//! profile (`format=json`), a diff, the series chart, and an error. The
//! store is seeded with fixed profiles at fixed times, so every answer is
//! the same on every run. `BRASA_BLESS=1` rewrites the files after an
//! intended change; review their diff like code.

mod common;

use axum::http::StatusCode;
use brasa_profile::{
    builder::{FunctionInfo, MappingInfo},
    codec,
    pprof::Line,
    ProfileBuilder,
};
use common::*;

/// A range around the seeded profiles (unix seconds).
const RANGE: &str = "from=1699999990&to=1700000300";
/// Sampling period of the seeded profiles (100 Hz).
const PERIOD_NANOS: i64 = 10_000_000;
/// A second, in nanoseconds.
const SECOND: i64 = 1_000_000_000;

/// One frame of a seeded stack.
#[derive(Clone, Copy)]
enum Frame {
    /// A symbolized function.
    Function(&'static str),
    /// One location holding `callee` inlined into `caller`.
    Inlined {
        callee: &'static str,
        caller: &'static str,
    },
    /// An address in `libshop.so` with no symbol.
    Address(u64),
}

use Frame::{Address, Function as F, Inlined};

const PARSE: &[Frame] = &[
    F("main"),
    F("serve"),
    Inlined {
        callee: "decode",
        caller: "handle",
    },
    F("parse"),
];
const RENDER: &[Frame] = &[F("main"), F("serve"), F("render")];
const GC: &[Frame] = &[F("main"), F("gc")];
const NATIVE: &[Frame] = &[F("main"), F("serve"), Address(0x7f00_0000_1234)];
const SCAN: &[Frame] = &[F("main"), F("query"), F("scan")];
const VACUUM: &[Frame] = &[F("main"), F("vacuum")];

/// A profile with `samples/count` and `cpu/nanoseconds`; each stack is
/// split over two pids, which the JSON answer merges into one stack.
fn pprof(stacks: &[(&[Frame], i64)], time_nanos: i64) -> Vec<u8> {
    let mut b = ProfileBuilder::new(&[("samples", "count"), ("cpu", "nanoseconds")]);
    b.set_period("cpu", "nanoseconds", PERIOD_NANOS);
    b.set_time(time_nanos, 10 * SECOND);
    let mapping = b.mapping(MappingInfo {
        memory_start: 0x7f00_0000_0000,
        memory_limit: 0x7f00_0010_0000,
        file_offset: 0x1000,
        filename: "/usr/lib/libshop.so",
        ..MappingInfo::default()
    });
    for (frames, count) in stacks {
        let mut locations: Vec<u64> = Vec::new();
        for frame in frames.iter().rev() {
            let mut line = |name| Line {
                function_id: b.function(FunctionInfo {
                    name,
                    ..FunctionInfo::default()
                }),
                ..Line::default()
            };
            locations.push(match *frame {
                F(name) => {
                    let line = line(name);
                    b.location(0, 0, &[line])
                }
                Inlined { callee, caller } => {
                    let lines = [line(callee), line(caller)];
                    b.location(0, 0, &lines)
                }
                Address(address) => b.location(mapping, address, &[]),
            });
        }
        for (pid, share) in [(100, count / 2), (200, count - count / 2)] {
            let label = b.label_num("pid", pid, "");
            b.add_sample(&locations, &[share, share * PERIOD_NANOS], &[label]);
        }
    }
    codec::encode(&b.build())
}

/// Version 1.4 on host a; version 1.5, where render grew, on hosts a and
/// b a minute apart; and a database with two uploads.
async fn seeded() -> App {
    let app = app();
    let shop_14: &[(&[Frame], i64)] = &[(PARSE, 60), (RENDER, 20), (GC, 20), (NATIVE, 4)];
    let shop_15: &[(&[Frame], i64)] = &[(PARSE, 30), (RENDER, 50), (GC, 20), (NATIVE, 4)];
    let uploads = [
        ("service=shop&version=1.4&host=a", pprof(shop_14, T0)),
        (
            "service=shop&version=1.5&host=a",
            pprof(shop_15, T0 + 60 * SECOND),
        ),
        (
            "service=shop&version=1.5&host=b",
            pprof(shop_15, T0 + 120 * SECOND),
        ),
        ("service=db&host=a", pprof(&[(SCAN, 7)], T0)),
        (
            "service=db&host=a",
            pprof(&[(SCAN, 3), (VACUUM, 2)], T0 + 60 * SECOND),
        ),
    ];
    for (labels, body) in uploads {
        let reply = app.post(&format!("/api/v1/ingest?{labels}"), body).await;
        assert_eq!(reply.status, StatusCode::OK, "{labels}: {}", reply.text());
    }
    app
}

/// The answer at `uri`, with `status`, compared with golden file `name`.
async fn check(app: &App, name: &str, uri: &str, status: StatusCode) {
    let reply = app.get(uri).await;
    assert_eq!(reply.status, status, "{uri}: {}", reply.text());
    assert_eq!(reply.headers["content-type"], "application/json", "{uri}");
    golden_json(name, &reply);
}

#[tokio::test]
async fn labels_and_values() {
    let app = seeded().await;
    check(&app, "labels", "/api/v1/labels", StatusCode::OK).await;
    for name in ["service", "version"] {
        let uri = format!("/api/v1/labels/{name}/values");
        check(&app, &format!("label_values_{name}"), &uri, StatusCode::OK).await;
    }
}

#[tokio::test]
async fn merged_profiles() {
    let app = seeded().await;
    let shop = enc(r#"{service="shop"}"#);
    let base = format!("/api/v1/profile?query={shop}&{RANGE}&format=json");
    check(&app, "profile", &base, StatusCode::OK).await;
    // The last sample type is the default; `samples` picks the first.
    let samples = format!("{base}&sample_type=samples");
    check(&app, "profile_samples", &samples, StatusCode::OK).await;
    let all = format!("/api/v1/profile?{RANGE}&format=json");
    check(&app, "profile_all", &all, StatusCode::OK).await;
}

#[tokio::test]
async fn diffs() {
    let app = seeded().await;
    let (v14, v15) = (enc(r#"{version="1.4"}"#), enc(r#"{version="1.5"}"#));
    let versions = format!("/api/v1/diff?base={v14}&head={v15}&{RANGE}");
    check(&app, "diff_versions", &versions, StatusCode::OK).await;
    let samples = format!("{versions}&sample_type=samples&format=json");
    check(&app, "diff_versions_samples", &samples, StatusCode::OK).await;
    // One selector at two times: host a's upload against host b's.
    let ranges = format!(
        "/api/v1/diff?base={v15}&head={v15}&base_from=1700000050&base_to=1700000100\
         &head_from=1700000100&head_to=1700000200"
    );
    check(&app, "diff_time_ranges", &ranges, StatusCode::OK).await;
}

#[tokio::test]
async fn series_chart() {
    let app = seeded().await;
    let uri = format!("/api/v1/series?{RANGE}&step=60s");
    check(&app, "series", &uri, StatusCode::OK).await;
    let samples = format!(
        "/api/v1/series?query={}&{RANGE}&step=120s&sample_type=samples",
        enc(r#"{service="shop"}"#)
    );
    check(&app, "series_samples", &samples, StatusCode::OK).await;
    // Grouped by a label that lives on samples.
    let by_pid = format!(
        "/api/v1/series?query={}&{RANGE}&step=1h&group_by=pid",
        enc(r#"{service="shop"}"#)
    );
    check(&app, "series_by_pid", &by_pid, StatusCode::OK).await;
}

#[tokio::test]
async fn profile_types() {
    let app = seeded().await;
    let uri = format!("/api/v1/profile_types?{RANGE}");
    check(&app, "profile_types", &uri, StatusCode::OK).await;
}

#[tokio::test]
async fn errors() {
    let app = seeded().await;
    let nothing = format!(
        "/api/v1/profile?query={}&{RANGE}&format=json",
        enc(r#"{service="none"}"#)
    );
    check(&app, "error_no_match", &nothing, StatusCode::NOT_FOUND).await;
    let bad = format!("/api/v1/series?{RANGE}&step=soon");
    check(&app, "error_bad_parameter", &bad, StatusCode::BAD_REQUEST).await;
}
