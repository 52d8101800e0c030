//! Native ingest and every query endpoint, in process.

mod common;

use axum::http::{Method, StatusCode};
use brasa_profile::codec;
use common::*;
use prost::Message;

const RANGE: &str = "from=1699999990&to=1700000100";

async fn seeded() -> App {
    let app = app();
    let api_a = app
        .post(
            "/api/v1/ingest?service=api&host=a",
            pprof_gz("main;serve;parse 30\nmain;gc 10\n", T0),
        )
        .await;
    assert_eq!(api_a.status, StatusCode::OK, "{}", api_a.text());
    assert_eq!(api_a.json()["profiles"], 1);
    // Raw (not gzip) pprof is accepted too.
    let raw = profile("main;serve;parse 5\n", T0 + 10_000_000_000).encode_to_vec();
    let api_b = app.post("/api/v1/ingest?service=api&host=b", raw).await;
    assert_eq!(api_b.status, StatusCode::OK, "{}", api_b.text());
    let db = app
        .post(
            "/api/v1/ingest?service=db&host=a",
            pprof_gz("main;query 7\n", T0),
        )
        .await;
    assert_eq!(db.status, StatusCode::OK);
    app
}

#[tokio::test]
async fn profile_formats() {
    let app = seeded().await;
    let sel = enc(r#"process_cpu{service="api"}"#);

    let folded = app
        .get(&format!(
            "/api/v1/profile?query={sel}&{RANGE}&format=folded"
        ))
        .await;
    assert_eq!(folded.status, StatusCode::OK, "{}", folded.text());
    assert_eq!(folded.text(), "main;gc 10\nmain;serve;parse 35\n");

    let pprof = app
        .get(&format!("/api/v1/profile?query={sel}&{RANGE}"))
        .await;
    assert_eq!(pprof.status, StatusCode::OK);
    assert!(codec::is_gzip(&pprof.body));
    let merged = codec::decode(&pprof.body).unwrap();
    assert_eq!(brasa_profile::top::total(&merged, 0), 45);

    let json = app
        .get(&format!("/api/v1/profile?query={sel}&{RANGE}&format=json"))
        .await
        .json();
    assert_eq!(json["total"], 45);
    assert_eq!(json["profiles"], 2);
    assert_eq!(json["series"], 2);
    assert_eq!(json["sample_type"], "samples/count");
    assert_eq!(json["sample_types"], serde_json::json!(["samples/count"]));
    // Stacks are indexes into `names`, each name listed once, and the same
    // stack from two profiles is one entry.
    let names = json["names"].as_array().unwrap();
    let mut sorted: Vec<&str> = names.iter().map(|n| n.as_str().unwrap()).collect();
    sorted.sort_unstable();
    assert_eq!(sorted, ["gc", "main", "parse", "serve"]);
    let mut stacks: Vec<(String, i64)> = json["stacks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let frames: Vec<&str> = s["frames"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| names[i.as_u64().unwrap() as usize].as_str().unwrap())
                .collect();
            (frames.join(";"), s["value"].as_i64().unwrap())
        })
        .collect();
    stacks.sort();
    assert_eq!(
        stacks,
        [
            ("main;gc".to_owned(), 10),
            ("main;serve;parse".to_owned(), 35)
        ]
    );

    let svg = app
        .get(&format!("/api/v1/profile?query={sel}&{RANGE}&format=svg"))
        .await;
    assert_eq!(svg.status, StatusCode::OK);
    assert_eq!(svg.headers["content-type"], "image/svg+xml");
    assert!(svg.text().contains("<svg") && svg.text().contains("parse"));

    // The time range excludes host b's later profile.
    let early = app
        .get(&format!(
            "/api/v1/profile?query={sel}&from=1699999990&to=1700000005&format=folded"
        ))
        .await;
    assert_eq!(early.text(), "main;gc 10\nmain;serve;parse 30\n");

    let regex = app
        .get(&format!(
            "/api/v1/profile?query={}&{RANGE}&format=folded",
            enc(r#"{service=~"d.*",host!="b"}"#)
        ))
        .await;
    assert_eq!(regex.text(), "main;query 7\n");
}

#[tokio::test]
async fn sample_type_is_chosen_by_name() {
    let app = seeded().await;
    let ok = app
        .get(&format!(
            "/api/v1/profile?{RANGE}&format=folded&sample_type=samples"
        ))
        .await;
    assert_eq!(ok.status, StatusCode::OK);
    let missing = app
        .get(&format!(
            "/api/v1/profile?{RANGE}&format=folded&sample_type=cpu"
        ))
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(
        missing.error().contains("process_cpu:samples:count"),
        "{}",
        missing.error()
    );
}

#[tokio::test]
async fn no_match_is_a_json_404() {
    let app = seeded().await;
    let reply = app
        .get(&format!(
            "/api/v1/profile?query={}&{RANGE}",
            enc(r#"{service="nope"}"#)
        ))
        .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert!(reply.error().contains("no profiles match"));
    let unknown = app.get("/api/v2/whatever").await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert!(unknown.error().contains("/api/v2/whatever"));
}

#[tokio::test]
async fn labels_and_series() {
    let app = seeded().await;
    let names = app.get("/api/v1/labels").await.json();
    assert_eq!(
        names["data"],
        serde_json::json!(["__name__", "host", "service"])
    );
    let values = app.get("/api/v1/labels/service/values").await.json();
    assert_eq!(values["data"], serde_json::json!(["api", "db"]));
    let bad = app.get("/api/v1/labels/not-a-name/values").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);

    let series = app
        .get(&format!(
            "/api/v1/series?query={}&{RANGE}&step=60s",
            enc(r#"{service="api"}"#)
        ))
        .await;
    assert_eq!(series.status, StatusCode::OK, "{}", series.text());
    let data = series.json()["data"].clone();
    let data = data.as_array().unwrap();
    assert_eq!(data.len(), 2);
    let host_a = data.iter().find(|s| s["labels"]["host"] == "a").unwrap();
    assert_eq!(host_a["sample_type"], "samples/count");
    // 40 samples in a 60 s step: a rate of 2/3 per second.
    assert_eq!(
        host_a["points"],
        serde_json::json!([[1699999990.0, 40.0 / 60.0]])
    );
    assert_eq!(series.json()["unit"], "count/s");
    assert_eq!(series.json()["aggregation"], "rate");

    let too_fine = app.get("/api/v1/series?from=0&to=1700000000&step=1s").await;
    assert_eq!(too_fine.status, StatusCode::BAD_REQUEST);
    assert!(too_fine.error().contains("larger step"));
}

#[tokio::test]
async fn metrics_and_health() {
    let app = seeded().await;
    let health = app.get("/healthz").await;
    assert_eq!(
        (health.status, health.text().as_str()),
        (StatusCode::OK, "ok\n")
    );
    app.get(&format!("/api/v1/profile?{RANGE}")).await;
    let metrics = app.get("/metrics").await.text();
    for needle in [
        "brasa_ingest_profiles_total{endpoint=\"ingest\"} 3",
        "brasa_ingest_samples_total{endpoint=\"ingest\"} 4",
        "brasa_ingest_duration_seconds_count{endpoint=\"ingest\"} 3",
        "brasa_query_duration_seconds_count{endpoint=\"profile\"} 1",
        "brasa_series 3",
        "brasa_store_size_bytes",
    ] {
        assert!(metrics.contains(needle), "missing {needle} in\n{metrics}");
    }
}

#[tokio::test]
async fn profile_name_defaults_and_can_be_set() {
    let app = app();
    let heap = app
        .request(
            Method::POST,
            "/api/v1/ingest?__name__=memory&service=api",
            &[],
            pprof_gz("alloc 3\n", T0),
        )
        .await;
    assert_eq!(heap.status, StatusCode::OK);
    app.post("/api/v1/ingest?service=api", pprof_gz("cpu 4\n", T0))
        .await;
    let memory = app
        .get(&format!(
            "/api/v1/profile?query=memory&{RANGE}&format=folded"
        ))
        .await;
    assert_eq!(memory.text(), "alloc 3\n");
    let cpu = app
        .get(&format!(
            "/api/v1/profile?query=process_cpu&{RANGE}&format=folded"
        ))
        .await;
    assert_eq!(cpu.text(), "cpu 4\n");
}

async fn folded(app: &App, query: &str) -> String {
    let uri = format!("/api/v1/profile?query={}&{RANGE}&format=folded", enc(query));
    let reply = app.get(&uri).await;
    assert_eq!(reply.status, StatusCode::OK, "{query}: {}", reply.text());
    reply.text()
}

#[tokio::test]
async fn kinds_of_profile_are_named_from_their_types_and_never_merged_together() {
    let app = app();
    for (text, r#type, unit) in [
        ("main;work 4\n", "cpu", "nanoseconds"),
        ("main;alloc 3\n", "inuse_space", "bytes"),
        ("main;sleep 9\n", "wall", "nanoseconds"),
    ] {
        let reply = app
            .post(
                "/api/v1/ingest?service=shop",
                typed_pprof(text, r#type, unit, T0),
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    }
    // Each kind under its own name: the CPU query sees CPU only.
    assert!(folded(&app, "process_cpu").await.ends_with("main;work 4\n"));
    assert!(folded(&app, "memory").await.ends_with("main;alloc 3\n"));
    assert!(folded(&app, "wall").await.ends_with("main;sleep 9\n"));
    // A selector that matches every kind answers one, CPU first, and says
    // which others it left out; `sample_type` picks another.
    assert!(folded(&app, r#"{service="shop"}"#)
        .await
        .ends_with("main;work 4\n"));
    let json = app
        .get(&format!(
            "/api/v1/profile?query={}&{RANGE}&format=json",
            enc(r#"{service="shop"}"#)
        ))
        .await
        .json();
    assert_eq!(json["sample_type"], "cpu/nanoseconds");
    assert_eq!(
        json["profile_type"],
        "process_cpu:cpu:nanoseconds:cpu:nanoseconds"
    );
    assert_eq!(
        json["other_types"],
        serde_json::json!([
            "memory:inuse_space:bytes:inuse_space:bytes",
            "wall:wall:nanoseconds:wall:nanoseconds"
        ])
    );
    let heap = app
        .get(&format!(
            "/api/v1/profile?query={}&{RANGE}&format=folded&sample_type=inuse_space",
            enc(r#"{service="shop"}"#)
        ))
        .await;
    assert!(heap.text().ends_with("main;alloc 3\n"), "{}", heap.text());
    // By ID, as a parameter or as a matcher in the selector.
    let wall = "wall:wall:nanoseconds:wall:nanoseconds";
    for query in [
        format!("query={}&profile_type={wall}", enc(r#"{service="shop"}"#)),
        format!(
            "query={}",
            enc(&format!(r#"{{service="shop",__profile_type__="{wall}"}}"#))
        ),
    ] {
        let reply = app
            .get(&format!("/api/v1/profile?{query}&{RANGE}&format=folded"))
            .await;
        assert!(reply.text().ends_with("main;sleep 9\n"), "{}", reply.text());
    }
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
            "process_cpu:cpu:nanoseconds:cpu:nanoseconds",
            "memory:inuse_space:bytes:inuse_space:bytes",
            wall
        ]
    );
    // Refusals name what to write.
    for (query, needle) in [
        (
            "profile_type=cpu".to_owned(),
            "name:sample_type:sample_unit",
        ),
        (
            format!("query={}", enc(r#"{__profile_type__=~"wall.*"}"#)),
            "takes `=`",
        ),
        (
            format!(
                "query={}&profile_type={wall}",
                enc(r#"{__profile_type__="memory:inuse_space:bytes:inuse_space:bytes"}"#)
            ),
            "give one of them",
        ),
    ] {
        let reply = app.get(&format!("/api/v1/profile?{query}&{RANGE}")).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{query}");
        assert!(reply.error().contains(needle), "{}", reply.error());
    }
    let absent = app
        .get(&format!(
            "/api/v1/profile?profile_type=goroutine:goroutine:count:goroutine:count&{RANGE}"
        ))
        .await;
    assert_eq!(absent.status, StatusCode::NOT_FOUND);
    assert!(absent.error().contains(wall), "{}", absent.error());
}

#[tokio::test]
async fn charts_show_rates_of_amounts_and_values_of_snapshots() {
    let app = app();
    // Two heap snapshots and two CPU profiles of 10 s, within one minute.
    for (text, r#type, unit, time) in [
        ("main;cache 100\n", "inuse_space", "bytes", T0),
        (
            "main;cache 300\n",
            "inuse_space",
            "bytes",
            T0 + 10_000_000_000,
        ),
        ("main;work 3000000000\n", "cpu", "nanoseconds", T0),
        (
            "main;work 9000000000\n",
            "cpu",
            "nanoseconds",
            T0 + 10_000_000_000,
        ),
    ] {
        let reply = app
            .post(
                "/api/v1/ingest?service=shop",
                typed_pprof(text, r#type, unit, time),
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    }
    let chart =
        |profile_type: &str| format!("/api/v1/series?profile_type={profile_type}&{RANGE}&step=60s");
    let heap = app
        .get(&chart("memory:inuse_space:bytes:inuse_space:bytes"))
        .await
        .json();
    assert_eq!(
        (heap["aggregation"].as_str(), heap["unit"].as_str()),
        (Some("gauge"), Some("bytes"))
    );
    assert_eq!(heap["data"][0]["points"][0][1], 200.0);
    // 12 s of CPU in 60 s: 0.2 cores.
    let cpu = app
        .get(&chart("process_cpu:cpu:nanoseconds:cpu:nanoseconds"))
        .await
        .json();
    assert_eq!(
        (cpu["aggregation"].as_str(), cpu["unit"].as_str()),
        (Some("rate"), Some("cores"))
    );
    assert_eq!(cpu["data"][0]["points"][0][1], 0.2);
    // Without a type, the chart is CPU's.
    let open = app
        .get(&format!("/api/v1/series?{RANGE}&step=60s"))
        .await
        .json();
    assert_eq!(
        open["profile_type"],
        "process_cpu:cpu:nanoseconds:cpu:nanoseconds"
    );
}

#[tokio::test]
async fn grouping_by_a_label_of_too_many_values_is_refused() {
    use brasa_profile::{builder::FunctionInfo, pprof, ProfileBuilder};
    let app = app();
    let mut builder = ProfileBuilder::new(&[("cpu", "nanoseconds")]);
    builder.set_time(T0, 10_000_000_000);
    let main = builder.function(FunctionInfo {
        name: "main",
        ..FunctionInfo::default()
    });
    let line = pprof::Line {
        function_id: main,
        line: 1,
        column: 0,
    };
    let location = builder.location(0, 0x1000, &[line]);
    let pids = brasa_web::limits::MAX_GROUPS + 1;
    for pid in 0..pids {
        let label = pprof::Label {
            key: builder.string("pid"),
            num: pid as i64 + 1,
            ..pprof::Label::default()
        };
        builder.add_sample(&[location], &[10], &[label]);
    }
    let reply = app
        .post(
            "/api/v1/ingest?service=fleet",
            codec::encode(&builder.build()),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let grouped = app
        .get(&format!("/api/v1/series?{RANGE}&step=1h&group_by=pid"))
        .await;
    assert_eq!(grouped.status, StatusCode::BAD_REQUEST);
    assert!(
        grouped.error().contains("fewer values"),
        "{}",
        grouped.error()
    );
    // Selecting one of them still works.
    let one = app
        .get(&format!(
            "/api/v1/profile?query={}&{RANGE}&format=folded",
            enc(r#"{pid="42"}"#)
        ))
        .await;
    assert_eq!(one.status, StatusCode::OK, "{}", one.text());
    assert!(one.text().ends_with("main 10\n"), "{}", one.text());
}

/// A Go CPU profile (`testdata/go`) names its binary, source files and
/// lines: `details` gives them per name, and a function's lines add up to
/// its self value.
#[tokio::test]
async fn go_profiles_carry_frame_details() {
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/go/cpu.pb.gz");
    let app = app();
    let reply = app
        .post(
            "/api/v1/ingest?service=cpuwork",
            std::fs::read(fixture).unwrap(),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let reply = app.get("/api/v1/profile?from=0&to=now&format=json").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let body = reply.json();
    let names = body["names"].as_array().unwrap();
    let details = body["details"].as_array().unwrap();
    assert_eq!(details.len(), names.len());
    // `main.spin`: 710 ms flat in `testdata/go/cpu.top.txt`.
    let spin = names.iter().position(|n| n == "main.spin").unwrap();
    let leaf_value: i64 = body["stacks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["frames"].as_array().unwrap().last() == Some(&spin.into()))
        .map(|s| s["value"].as_i64().unwrap())
        .sum();
    assert_eq!(leaf_value, 710_000_000);
    let detail = &details[spin];
    assert!(
        detail["file"].as_str().unwrap().ends_with(".go"),
        "{detail}"
    );
    assert!(
        detail["mapping"].as_str().unwrap().ends_with("cpuwork"),
        "{detail}"
    );
    let lines = detail["lines"].as_array().unwrap();
    assert!(lines.iter().any(|l| l[1].as_i64().unwrap() > 0), "{detail}");
    assert!(lines
        .windows(2)
        .all(|w| w[0][0].as_i64() < w[1][0].as_i64()));
    let line_self: i64 = lines.iter().map(|l| l[1].as_i64().unwrap()).sum();
    assert_eq!(line_self, leaf_value, "{detail}");
}
