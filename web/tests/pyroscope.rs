//! Pyroscope's Connect push and legacy `/ingest`, in process.

mod common;

use axum::http::{Method, StatusCode};
use brasa_proto::pyroscope::{
    push::v1::{PushRequest, RawProfileSeries, RawSample},
    types::v1::LabelPair,
};
use brasa_web::{limits::Limits, ServerOptions};
use common::*;
use prost::Message;

const RANGE: &str = "from=1699999990&to=1700000100";
const PROTO: (&str, &str) = ("content-type", "application/proto");

fn pair(name: &str, value: &str) -> LabelPair {
    LabelPair {
        name: name.into(),
        value: value.into(),
    }
}

fn push_request(service: &str, profiles: &[&str]) -> PushRequest {
    PushRequest {
        series: vec![RawProfileSeries {
            labels: vec![
                pair("__name__", "process_cpu"),
                pair("service_name", service),
                pair("__session_id__", "abc"),
                pair("process.runtime.name", "cpython"),
            ],
            samples: profiles
                .iter()
                .map(|text| RawSample {
                    raw_profile: pprof_gz(text, T0),
                    id: String::new(),
                })
                .collect(),
        }],
    }
}

async fn folded(app: &App, selector: &str) -> String {
    let reply = app
        .get(&format!(
            "/api/v1/profile?query={}&{RANGE}&format=folded",
            enc(selector)
        ))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    reply.text()
}

#[tokio::test]
async fn connect_push_gzip_and_plain() {
    let app = app();
    let body = brasa_profile::codec::gzip(
        &push_request("shop", &["main;checkout 3\n", "main;browse 1\n"]).encode_to_vec(),
    );
    let reply = app
        .request(
            Method::POST,
            "/push.v1.PusherService/Push",
            &[PROTO, ("content-encoding", "gzip")],
            body,
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(reply.headers["content-type"], "application/proto");
    assert!(
        reply.body.is_empty(),
        "an empty PushResponse encodes to nothing"
    );

    let plain = push_request("shop", &["main;checkout 2\n"]).encode_to_vec();
    let reply = app
        .request(Method::POST, "/push.v1.PusherService/Push", &[PROTO], plain)
        .await;
    assert_eq!(reply.status, StatusCode::OK);

    assert_eq!(
        folded(&app, r#"{service_name="shop"}"#).await,
        "main;browse 1\nmain;checkout 5\n"
    );
    let labels = app.get("/api/v1/labels").await.json();
    assert_eq!(
        labels["data"],
        serde_json::json!(["__name__", "process_runtime_name", "service_name"])
    );
}

#[tokio::test]
async fn bad_pushes_are_refused() {
    let mut options = ServerOptions::default();
    let mut limits = Limits::default();
    limits.max_series_per_push = 1;
    options.limits = limits;
    let app = app_with(options);
    let push = "/push.v1.PusherService/Push";

    let json = app
        .request(
            Method::POST,
            push,
            &[("content-type", "application/json")],
            b"{}".to_vec(),
        )
        .await;
    assert_eq!(json.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(json.error().contains("application/proto"));

    let garbage = app
        .request(Method::POST, push, &[PROTO], b"\xff\xff\xff\xff".to_vec())
        .await;
    assert_eq!(garbage.status, StatusCode::BAD_REQUEST);
    assert!(
        garbage.error().contains("PushRequest"),
        "{}",
        garbage.error()
    );

    let mut two = push_request("a", &["x 1\n"]);
    two.series
        .push(push_request("b", &["x 1\n"]).series.remove(0));
    let reply = app
        .request(Method::POST, push, &[PROTO], two.encode_to_vec())
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(reply.error().contains("at most 1"), "{}", reply.error());

    let mut bad_profile = push_request("a", &[]);
    bad_profile.series[0].samples.push(RawSample {
        raw_profile: b"not pprof".to_vec(),
        id: String::new(),
    });
    let reply = app
        .request(Method::POST, push, &[PROTO], bad_profile.encode_to_vec())
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(app.state.store().series_count(), 0);
}

#[tokio::test]
async fn legacy_ingest_folded_and_pprof() {
    let app = app();
    let folded_reply = app
        .post(
            "/ingest?name=shop.cpu%7Benv%3Dprod%7D&from=1700000000&until=1700000010&sampleRate=100&format=folded&spyName=pyspy",
            b"main;checkout 3\nmain;browse 2\n".to_vec(),
        )
        .await;
    assert_eq!(
        folded_reply.status,
        StatusCode::OK,
        "{}",
        folded_reply.text()
    );
    // The sample rate becomes the period: 100 Hz is 10 ms per sample, and
    // the counts are CPU time too, as from any other CPU profiler.
    assert_eq!(
        folded(&app, r#"process_cpu{service_name="shop",env="prod"}"#).await,
        "# brasa: sample_type=cpu unit=nanoseconds\nmain;browse 20000000\nmain;checkout 30000000\n"
    );
    let counts = app
        .get(&format!(
            "/api/v1/profile?query={}&{RANGE}&format=folded&profile_type=process_cpu:samples:count:cpu:nanoseconds",
            enc(r#"{service_name="shop"}"#)
        ))
        .await;
    assert_eq!(counts.text(), "main;browse 2\nmain;checkout 3\n");
    // A suffix names the type of amounts.
    let heap = app
        .post(
            "/ingest?name=shop.inuse_space&from=1700000000&format=folded",
            b"main;cache 4096\n".to_vec(),
        )
        .await;
    assert_eq!(heap.status, StatusCode::OK, "{}", heap.text());
    let heap = app
        .get(&format!(
            "/api/v1/profile?{RANGE}&format=folded&profile_type=memory:inuse_space:bytes:space:bytes"
        ))
        .await;
    assert_eq!(
        heap.text(),
        "# brasa: sample_type=inuse_space unit=bytes\nmain;cache 4096\n"
    );
    let pprof = app
        .get(&format!(
            "/api/v1/profile?query={}&{RANGE}",
            enc(r#"{env="prod"}"#)
        ))
        .await;
    let profile = brasa_profile::codec::decode(&pprof.body).unwrap();
    assert_eq!(profile.period, 10_000_000);

    let pprof_reply = app
        .post(
            "/ingest?name=other&from=1700000000&format=pprof",
            pprof_gz("main;run 4\n", 0),
        )
        .await;
    assert_eq!(pprof_reply.status, StatusCode::OK, "{}", pprof_reply.text());
    assert_eq!(
        folded(&app, r#"{service_name="other"}"#).await,
        "main;run 4\n"
    );

    // Multipart, as Pyroscope's Go client sends it.
    let boundary = "XBRASAX";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"profile\"; filename=\"profile.pprof\"\r\nContent-Type: application/octet-stream\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(&pprof_gz("main;multi 6\n", 0));
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let content_type = format!("multipart/form-data; boundary={boundary}");
    let multipart = app
        .request(
            Method::POST,
            "/ingest?name=multi.cpu&from=1700000000&format=pprof",
            &[("content-type", &content_type)],
            body,
        )
        .await;
    assert_eq!(multipart.status, StatusCode::OK, "{}", multipart.text());
    assert_eq!(
        folded(&app, r#"{service_name="multi"}"#).await,
        "main;multi 6\n"
    );

    for (uri, hint) in [
        ("/ingest?from=1", "missing `name`"),
        ("/ingest?name=a.cpu%7Bx", "closing"),
        ("/ingest?name=a&format=trie", "format=pprof"),
        ("/ingest?name=a&from=soon", "unix seconds"),
        ("/ingest?name=a&sampleRate=0", "sampleRate"),
    ] {
        let reply = app.post(uri, b"main 1\n".to_vec()).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{uri}");
        assert!(reply.error().contains(hint), "{uri}: {}", reply.error());
    }
}

#[tokio::test]
async fn legacy_pprof_uploads_of_several_kinds_under_one_name_stay_apart() {
    let app = app();
    for (text, r#type, unit) in [
        ("main;sleep 9\n", "wall", "nanoseconds"),
        ("main;alloc 3\n", "inuse_space", "bytes"),
        ("main;work 4\n", "cpu", "nanoseconds"),
    ] {
        let body = typed_pprof(text, r#type, unit, 0);
        let reply = app
            .post(
                "/ingest?name=shop&from=1700000000&until=1700000010&format=pprof",
                body,
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    }
    assert!(folded(&app, "process_cpu").await.ends_with("main;work 4\n"));
    assert!(folded(&app, r#"wall{service_name="shop"}"#)
        .await
        .ends_with("main;sleep 9\n"));
    assert!(folded(&app, r#"memory{service_name="shop"}"#)
        .await
        .ends_with("main;alloc 3\n"));
}

#[tokio::test]
async fn pushed_wall_and_heap_under_one_name_are_separate_types() {
    let app = app();
    // One application pushes wall and heap profiles in one series (as a
    // client that names no profile type does), and CPU in another.
    let mut heap = brasa_profile::folded::Folded::parse("main;cache 64\n")
        .unwrap()
        .to_profile();
    // Two sample types in one pprof, as Go's heap profile has.
    heap.string_table
        .extend(["alloc_space".into(), "inuse_space".into(), "bytes".into()]);
    let n = heap.string_table.len() as i64;
    heap.sample_type = vec![
        brasa_proto::pprof::ValueType {
            r#type: n - 3,
            unit: n - 1,
        },
        brasa_proto::pprof::ValueType {
            r#type: n - 2,
            unit: n - 1,
        },
    ];
    heap.sample[0].value = vec![4096, 64];
    heap.time_nanos = T0;
    let mut request = PushRequest {
        series: vec![RawProfileSeries {
            labels: vec![pair("service_name", "shop")],
            samples: vec![
                RawSample {
                    raw_profile: typed_pprof("main;sleep 9\n", "wall", "nanoseconds", T0),
                    id: String::new(),
                },
                RawSample {
                    raw_profile: brasa_profile::codec::encode(&heap),
                    id: String::new(),
                },
            ],
        }],
    };
    request
        .series
        .extend(push_request("shop", &["main;work 4\n"]).series);
    let reply = app
        .request(
            Method::POST,
            "/push.v1.PusherService/Push",
            &[PROTO],
            request.encode_to_vec(),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());

    let types = app
        .get(&format!("/api/v1/profile_types?{RANGE}"))
        .await
        .json();
    let ids: Vec<&str> = types["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "process_cpu:samples:count:samples:count",
            "memory:alloc_space:bytes:alloc_space:bytes",
            "memory:inuse_space:bytes:inuse_space:bytes",
            "wall:wall:nanoseconds:wall:nanoseconds",
        ]
    );
    // Each type alone, by ID.
    for (id, expected) in [
        (
            "memory:alloc_space:bytes:alloc_space:bytes",
            "main;cache 4096\n",
        ),
        (
            "memory:inuse_space:bytes:inuse_space:bytes",
            "main;cache 64\n",
        ),
        ("wall:wall:nanoseconds:wall:nanoseconds", "main;sleep 9\n"),
    ] {
        let reply = app
            .get(&format!(
                "/api/v1/profile?{RANGE}&format=folded&profile_type={id}"
            ))
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{id}: {}", reply.text());
        assert!(reply.text().ends_with(expected), "{id}: {}", reply.text());
    }
    // The CPU query of the application, and what the page loads by
    // default (the page, the chart, the profile), keep working.
    assert_eq!(
        folded(&app, r#"process_cpu{service_name="shop"}"#).await,
        "main;work 4\n"
    );
    assert_eq!(app.get("/").await.status, StatusCode::OK);
    for uri in [
        format!("/api/v1/series?query=process_cpu&{RANGE}"),
        format!("/api/v1/profile?query=process_cpu&{RANGE}&format=json"),
        format!(
            "/api/v1/profile?query={}&{RANGE}&format=json",
            enc(r#"{service_name="shop"}"#)
        ),
    ] {
        let reply = app.get(&uri).await;
        assert_eq!(reply.status, StatusCode::OK, "{uri}: {}", reply.text());
    }
}
