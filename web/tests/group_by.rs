//! Group-by on `/api/v1/series` and `/api/v1/profile?format=json`: the
//! biggest values of a label by their total over the range, in order,
//! and the rest added up as "other".

mod common;

use axum::http::StatusCode;
use brasa_profile::{builder::FunctionInfo, codec, pprof, ProfileBuilder};
use common::*;
use serde_json::{json, Value};

const RANGE: &str = "from=1699999990&to=1700000300";
/// Services ingested, `p01` to `p20`.
const SERVICES: usize = 20;
/// One second of CPU, in nanoseconds.
const SECOND: i64 = 1_000_000_000;
/// The second profile of every service, one chart step after the first.
const LATER: i64 = 60 * SECOND;

/// The size of service `p{i:02}` (1-based): every number 1 to 20 once,
/// in an order unrelated to the names'.
fn size(i: usize) -> i64 {
    ((i * 7) % SERVICES + 1) as i64
}

/// A service's total over the range: `size` seconds at T0, twice that
/// one step later.
fn service_total(i: usize) -> i64 {
    3 * size(i) * SECOND
}

/// Services by descending total.
fn by_size() -> Vec<usize> {
    let mut services: Vec<usize> = (1..=SERVICES).collect();
    services.sort_by_key(|&i| std::cmp::Reverse(service_total(i)));
    services
}

fn name(i: usize) -> String {
    format!("p{i:02}")
}

async fn seeded() -> App {
    let app = app();
    // Ingested in name order; sizes are not.
    for i in 1..=SERVICES {
        for (time, seconds) in [(T0, size(i)), (T0 + LATER, 2 * size(i))] {
            let text = format!("main;work_{} {}\n", name(i), seconds * SECOND);
            let reply = app
                .post(
                    &format!("/api/v1/ingest?service={}", name(i)),
                    typed_pprof(&text, "cpu", "nanoseconds", time),
                )
                .await;
            assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
        }
    }
    app
}

fn close(a: &Value, b: f64) -> bool {
    a.as_f64().is_some_and(|a| (a - b).abs() < 1e-12)
}

/// Per bucket start, the sum of the points of every line.
fn chart_sums(chart: &Value) -> Vec<(f64, f64)> {
    let mut sums: std::collections::BTreeMap<u64, f64> = Default::default();
    for line in chart["data"].as_array().unwrap() {
        for point in line["points"].as_array().unwrap() {
            *sums.entry(point[0].as_f64().unwrap() as u64).or_default() +=
                point[1].as_f64().unwrap();
        }
    }
    sums.into_iter().map(|(t, v)| (t as f64, v)).collect()
}

#[tokio::test]
async fn series_lines_are_the_biggest_values_then_the_rest() {
    let app = seeded().await;
    let whole: i64 = (1..=SERVICES).map(service_total).sum();
    assert_eq!(whole, 630 * SECOND);
    let chart = app
        .get(&format!("/api/v1/series?{RANGE}&step=60s&group_by=service"))
        .await;
    assert_eq!(chart.status, StatusCode::OK, "{}", chart.text());
    let chart = chart.json();
    assert_eq!(
        (&chart["total"], &chart["group_by"], &chart["limit"]),
        (&json!(whole), &json!("service"), &json!(12))
    );
    let lines = chart["data"].as_array().unwrap();
    assert_eq!(lines.len(), 13, "{chart}");
    let order = by_size();
    for (line, &i) in lines.iter().zip(&order[..12]) {
        assert_eq!(line["labels"], json!({ "service": name(i) }), "{chart}");
        assert_eq!(line["total"], service_total(i), "{}", name(i));
        let share = service_total(i) as f64 / whole as f64;
        assert!(close(&line["share"], share), "{line}");
        assert!(line.get("other").is_none(), "{line}");
        // size seconds in the first minute, twice that in the second: cores.
        let cores = size(i) as f64 / 60.0;
        let points = line["points"].as_array().unwrap();
        assert_eq!(points.len(), 2, "{line}");
        for (point, (start, value)) in points
            .iter()
            .zip([(1699999990.0, cores), (1700000050.0, 2.0 * cores)])
        {
            assert_eq!(point[0], start);
            assert!(close(&point[1], value), "{line}");
        }
    }
    assert_eq!(lines[0]["labels"]["service"], "p17", "size 20");
    let other = &lines[12];
    let rest: i64 = order[12..].iter().map(|&i| service_total(i)).sum();
    assert_eq!(rest, 3 * (1..=8).sum::<i64>() * SECOND);
    assert_eq!(other["other"], true);
    assert_eq!(other["labels"], json!({}));
    assert_eq!(other["groups_in_other"], 8);
    assert_eq!(other["total"], rest);
    assert!(close(&other["share"], 36.0 / 210.0), "{other}");
    assert_eq!(other["sample_type"], "cpu/nanoseconds");

    // The lines add up to the chart of the whole selection.
    let plain = app
        .get(&format!("/api/v1/series?{RANGE}&step=60s"))
        .await
        .json();
    assert_eq!(plain["total"], whole);
    assert!(plain.get("group_by").is_none(), "{plain}");
    assert_eq!(plain["data"].as_array().unwrap().len(), SERVICES);
    let (grouped, plain) = (chart_sums(&chart), chart_sums(&plain));
    assert_eq!(grouped.len(), 2);
    for ((t, a), (u, b)) in grouped.iter().zip(&plain) {
        assert_eq!(t, u);
        assert!((a - b).abs() < 1e-9, "{a} != {b} at {t}");
    }
    assert!((grouped[0].1 - 210.0 / 60.0).abs() < 1e-9);

    // Three groups, the other 17 added up.
    let three = app
        .get(&format!(
            "/api/v1/series?{RANGE}&step=60s&group_by=service&limit=3"
        ))
        .await
        .json();
    let lines = three["data"].as_array().unwrap();
    let names: Vec<&Value> = lines.iter().map(|l| &l["labels"]["service"]).collect();
    assert_eq!(
        names,
        [&json!("p17"), &json!("p14"), &json!("p11"), &Value::Null]
    );
    assert_eq!(lines[3]["groups_in_other"], 17);
    assert_eq!(lines[3]["total"], 3 * (1..=17).sum::<i64>() * SECOND);
    assert_eq!(three["limit"], 3);
}

#[tokio::test]
async fn profile_json_lists_the_same_groups() {
    let app = seeded().await;
    let whole: i64 = (1..=SERVICES).map(service_total).sum();
    let reply = app
        .get(&format!(
            "/api/v1/profile?{RANGE}&format=json&group_by=service"
        ))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let body = reply.json();
    assert_eq!(body["total"], whole);
    let groups = body["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 13, "{body}");
    for (group, &i) in groups.iter().zip(&by_size()[..12]) {
        assert_eq!(group["value"], name(i));
        assert_eq!(group["total"], service_total(i));
        assert!(
            close(&group["share"], service_total(i) as f64 / whole as f64),
            "{group}"
        );
    }
    assert_eq!(
        groups[12],
        json!({
            "other": true,
            "total": 108 * SECOND,
            "share": 108.0 / 630.0,
            "groups_in_other": 8,
        })
    );
    let three = app
        .get(&format!(
            "/api/v1/profile?{RANGE}&format=json&group_by=service&limit=3"
        ))
        .await
        .json();
    let values: Vec<&Value> = three["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g.get("value").unwrap_or(&g["groups_in_other"]))
        .collect();
    assert_eq!(
        values,
        [&json!("p17"), &json!("p14"), &json!("p11"), &json!(17)]
    );
    // Without group_by there are no groups, and other formats ignore it.
    let plain = app
        .get(&format!("/api/v1/profile?{RANGE}&format=json"))
        .await
        .json();
    assert!(plain.get("groups").is_none(), "{plain}");
    let folded = app
        .get(&format!(
            "/api/v1/profile?{RANGE}&format=folded&group_by=service&limit=0"
        ))
        .await;
    assert_eq!(folded.status, StatusCode::OK, "{}", folded.text());
}

#[tokio::test]
async fn limits_out_of_range_are_refused() {
    let app = seeded().await;
    let max = brasa_web::limits::MAX_GROUP_LIMIT;
    for endpoint in ["series?step=60s&", "profile?format=json&"] {
        for limit in ["0".to_owned(), (max + 1).to_string(), "many".to_owned()] {
            let reply = app
                .get(&format!(
                    "/api/v1/{endpoint}{RANGE}&group_by=service&limit={limit}"
                ))
                .await;
            assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{endpoint} {limit}");
            assert!(
                reply.error().contains(&format!("1 to {max}")),
                "{}",
                reply.error()
            );
            assert!(reply.error().contains("`limit`"), "{}", reply.error());
        }
    }
    let most = app
        .get(&format!(
            "/api/v1/series?{RANGE}&step=60s&group_by=service&limit={max}"
        ))
        .await
        .json();
    let lines = most["data"].as_array().unwrap();
    assert_eq!(lines.len(), SERVICES, "every value apart, no other");
    assert!(lines.iter().all(|l| l.get("other").is_none()));
}

/// One profile of series `service=threads` at `time`: `main;work` per
/// (thread_name, value), `None` for samples without the label; of sample
/// type `r#type`/`unit`.
fn threads_profile(
    r#type: &str,
    unit: &str,
    time: i64,
    samples: &[(Option<&str>, i64)],
) -> Vec<u8> {
    let mut builder = ProfileBuilder::new(&[(r#type, unit)]);
    builder.set_time(time, 10 * SECOND);
    let function = builder.function(FunctionInfo {
        name: "main",
        ..FunctionInfo::default()
    });
    let line = pprof::Line {
        function_id: function,
        line: 1,
        column: 0,
    };
    let location = builder.location(0, 0x1000, &[line]);
    for (thread, value) in samples {
        let labels: Vec<pprof::Label> = thread
            .iter()
            .map(|t| pprof::Label {
                key: builder.string("thread_name"),
                str: builder.string(t),
                ..pprof::Label::default()
            })
            .collect();
        builder.add_sample(&[location], &[*value], &labels);
    }
    codec::encode(&builder.build())
}

#[tokio::test]
async fn sample_labels_group_within_a_series() {
    let app = app();
    let samples = [
        (Some("worker"), 50 * SECOND),
        (Some("gc"), 5 * SECOND),
        (Some("io"), 20 * SECOND),
        (None, 10 * SECOND),
        (Some("worker"), 10 * SECOND),
    ];
    let reply = app
        .post(
            "/api/v1/ingest?service=threads",
            threads_profile("cpu", "nanoseconds", T0, &samples),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let chart = app
        .get(&format!(
            "/api/v1/series?{RANGE}&step=60s&group_by=thread_name&limit=3"
        ))
        .await
        .json();
    let lines = chart["data"].as_array().unwrap();
    let summary: Vec<(Value, Value)> = lines
        .iter()
        .map(|l| (l["labels"]["thread_name"].clone(), l["total"].clone()))
        .collect();
    // Samples without the label are the value "", ranked like the others.
    assert_eq!(
        summary,
        [
            (json!("worker"), json!(60 * SECOND)),
            (json!("io"), json!(20 * SECOND)),
            (json!(""), json!(10 * SECOND)),
            (Value::Null, json!(5 * SECOND)),
        ],
        "{chart}"
    );
    assert_eq!(chart["total"], 95 * SECOND);
    assert!(close(&lines[0]["share"], 60.0 / 95.0));
    assert_eq!(lines[3]["groups_in_other"], 1);
    let profile = app
        .get(&format!(
            "/api/v1/profile?{RANGE}&format=json&group_by=thread_name&limit=1"
        ))
        .await
        .json();
    assert_eq!(
        profile["groups"],
        json!([
            { "value": "worker", "total": 60 * SECOND, "share": 60.0 / 95.0 },
            { "other": true, "total": 35 * SECOND, "share": 35.0 / 95.0, "groups_in_other": 3 },
        ])
    );
}

/// Snapshots: a group's total in the profile JSON is, like the profile's,
/// the average over each series' profiles, added across series; so the
/// groups add up to the profile's total.
#[tokio::test]
async fn snapshot_groups_are_averages_like_the_profile() {
    let app = app();
    let heap = "memory:inuse_space:bytes:inuse_space:bytes";
    // Service `big`: 100 and 300 bytes in use (average 200); `small`: 50.
    for (service, time, bytes) in [
        ("big", T0, 100),
        ("big", T0 + LATER, 300),
        ("small", T0, 50),
    ] {
        let reply = app
            .post(
                &format!("/api/v1/ingest?service={service}"),
                typed_pprof(
                    &format!("main;cache {bytes}\n"),
                    "inuse_space",
                    "bytes",
                    time,
                ),
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    }
    // Threads: `x` 100 then 200 (average 150), `y` 20 in one of the two
    // profiles (average 10, absent counting as none).
    for (time, samples) in [
        (T0, vec![(Some("x"), 100), (Some("y"), 20)]),
        (T0 + LATER, vec![(Some("x"), 200)]),
    ] {
        let reply = app
            .post(
                "/api/v1/ingest?service=threads",
                threads_profile("inuse_space", "bytes", time, &samples),
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    }
    let by_service = app
        .get(&format!(
            "/api/v1/profile?profile_type={heap}&{RANGE}&format=json&group_by=service&limit=2"
        ))
        .await
        .json();
    assert_eq!(by_service["aggregation"], "average");
    assert_eq!(by_service["total"], 410);
    assert_eq!(
        by_service["groups"],
        json!([
            { "value": "big", "total": 200, "share": 200.0 / 410.0 },
            { "value": "threads", "total": 160, "share": 160.0 / 410.0 },
            { "other": true, "total": 50, "share": 50.0 / 410.0, "groups_in_other": 1 },
        ])
    );
    let by_thread = app
        .get(&format!(
            "/api/v1/profile?profile_type={heap}&query={}&{RANGE}&format=json&group_by=thread_name",
            enc(r#"{service="threads"}"#)
        ))
        .await
        .json();
    assert_eq!(by_thread["total"], 160);
    assert_eq!(
        by_thread["groups"],
        json!([
            { "value": "x", "total": 150, "share": 150.0 / 160.0 },
            { "value": "y", "total": 10, "share": 10.0 / 160.0 },
        ])
    );
    // The chart: per series the average over its profiles in the bucket,
    // added across series, so "other" is the sum of what it folds.
    let chart = app
        .get(&format!(
            "/api/v1/series?profile_type={heap}&{RANGE}&step=1h&group_by=service&limit=1"
        ))
        .await
        .json();
    let lines = chart["data"].as_array().unwrap();
    assert_eq!(lines[0]["labels"]["service"], "big", "raw sum 400");
    assert_eq!(lines[0]["points"][0][1], 200.0);
    assert_eq!(lines[0]["total"], 400);
    assert_eq!(lines[1]["other"], true);
    assert_eq!(
        lines[1]["points"][0][1], 210.0,
        "threads' 160 plus small's 50"
    );
    assert_eq!(lines[1]["total"], 370);
    assert_eq!(chart["total"], 770);
}
