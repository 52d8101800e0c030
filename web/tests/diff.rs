//! `GET /api/v1/diff`: two selections merged and compared as shares.

mod common;

use std::collections::BTreeMap;

use axum::http::StatusCode;
use common::*;
use serde_json::Value;

const RANGE: &str = "from=1699999990&to=1700000100";

/// Version 1.4 spends 40 samples; version 1.5 spends 80 over two hosts,
/// half of them in a new `render`.
async fn two_versions() -> App {
    let app = app();
    for (labels, text, at) in [
        (
            "service=api&version=1.4&host=a",
            "main;serve;parse 30\nmain;gc 10\n",
            T0,
        ),
        (
            "service=api&version=1.5&host=a",
            "main;serve;parse 20\nmain;gc 5\nmain;serve;render 15\n",
            T0,
        ),
        (
            "service=api&version=1.5&host=b",
            "main;gc 15\nmain;serve;render 25\n",
            T0 + 60_000_000_000,
        ),
    ] {
        let reply = app
            .post(&format!("/api/v1/ingest?{labels}"), pprof_gz(text, at))
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    }
    app
}

fn diff_url(base: &str, head: &str, rest: &str) -> String {
    format!("/api/v1/diff?base={}&head={}&{rest}", enc(base), enc(head))
}

/// `stack → (base, head)` from the answer's `names` and index frames.
fn stacks(json: &Value) -> BTreeMap<String, (u64, u64)> {
    let names = json["names"].as_array().expect("names");
    json["stacks"]
        .as_array()
        .expect("stacks")
        .iter()
        .map(|s| {
            let frames: Vec<&str> = s["frames"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| names[i.as_u64().unwrap() as usize].as_str().unwrap())
                .collect();
            (
                frames.join(";"),
                (s["base"].as_u64().unwrap(), s["head"].as_u64().unwrap()),
            )
        })
        .collect()
}

#[tokio::test]
async fn versions_are_compared_as_shares() {
    let app = two_versions().await;
    let reply = app
        .get(&diff_url(r#"{version="1.4"}"#, r#"{version="1.5"}"#, RANGE))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(reply.headers["content-type"], "application/json");
    let json = reply.json();
    assert_eq!(json["sample_type"], "samples/count");
    // Totals before normalization: both of head's hosts are merged.
    assert_eq!(json["base_total"], 40);
    assert_eq!(json["head_total"], 80);
    // Base is scaled up to head's total of 80: shares, not durations.
    let expected: BTreeMap<String, (u64, u64)> = [
        ("main;gc", (20, 20)),
        ("main;serve;parse", (60, 20)),
        ("main;serve;render", (0, 40)),
    ]
    .into_iter()
    .map(|(s, v)| (s.to_owned(), v))
    .collect();
    assert_eq!(stacks(&json), expected);
    let names = json["names"].as_array().unwrap();
    assert_eq!(names.len(), 5, "each name once: {names:?}");

    // Self shares: parse 75% → 25%, render new at 50%, gc unchanged (25%).
    let changes = json["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 2, "{changes:?}");
    assert_eq!(changes[0]["function"], "parse");
    assert_eq!(changes[0]["base_share"], 0.75);
    assert_eq!(changes[0]["head_share"], 0.25);
    let relative = changes[0]["relative_change"].as_f64().unwrap();
    assert!((relative + 2.0 / 3.0).abs() < 1e-9, "{relative}");
    assert_eq!(changes[1]["function"], "render");
    assert_eq!(changes[1]["base_share"], 0.0);
    assert_eq!(changes[1]["head_share"], 0.5);
    assert_eq!(changes[1]["relative_change"], Value::Null);
}

#[tokio::test]
async fn one_selector_at_two_time_ranges() {
    let app = two_versions().await;
    // Host b's profile is a minute after the others: the per-side ranges
    // split version 1.5 into its two uploads.
    let sel = r#"{version="1.5"}"#;
    let reply = app
        .get(&diff_url(
            sel,
            sel,
            "from=0&to=1&base_from=1699999990&base_to=1700000030&head_from=1700000030&head_to=1700000100",
        ))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let json = reply.json();
    assert_eq!(json["base_total"], 40);
    assert_eq!(json["head_total"], 40);
    let got = stacks(&json);
    assert_eq!(got["main;serve;parse"], (20, 0));
    assert_eq!(got["main;gc"], (5, 15));
    assert_eq!(got["main;serve;render"], (15, 25));
}

#[tokio::test]
async fn svg_is_a_differential_flame_graph() {
    let app = two_versions().await;
    let reply = app
        .get(&diff_url(
            r#"{version="1.4"}"#,
            r#"{version="1.5"}"#,
            &format!("{RANGE}&format=svg"),
        ))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(reply.headers["content-type"], "image/svg+xml");
    let svg = reply.text();
    assert!(svg.starts_with("<?xml") && svg.contains("<svg"));
    assert!(svg.contains("render") && svg.contains("parse"));
    // The title names both selections (XML-escaped).
    assert!(
        svg.contains("{version=&quot;1.4&quot;} vs {version=&quot;1.5&quot;}"),
        "no title in the SVG"
    );
    // inferno colors a differential graph red (grew) and blue (shrank).
    assert!(svg.contains("rgb(255,"), "no red frame");
    assert!(svg.contains(",255)"), "no blue frame");
}

#[tokio::test]
async fn sample_type_is_chosen_like_the_profile_endpoint() {
    let app = two_versions().await;
    let url = |sample_type: &str| {
        diff_url(
            r#"{version="1.4"}"#,
            r#"{version="1.5"}"#,
            &format!("{RANGE}&sample_type={sample_type}"),
        )
    };
    let by_name = app.get(&url("samples")).await;
    assert_eq!(by_name.status, StatusCode::OK, "{}", by_name.text());
    assert_eq!(by_name.json()["sample_type"], "samples/count");
    let missing = app.get(&url("cpu")).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(
        missing.error().contains("samples:count"),
        "{}",
        missing.error()
    );
}

#[tokio::test]
async fn bad_requests_say_what_is_wrong() {
    let app = two_versions().await;
    let cases = [
        (format!("/api/v1/diff?base={}&{RANGE}", enc("{}")), "`head`"),
        (diff_url(r#"{version="1.4""#, "{}", RANGE), "`base`"),
        (
            diff_url("{}", "{}", "from=1700000100&to=1699999990"),
            "after",
        ),
        (
            diff_url("{}", "{}", "head_from=yesterdayish"),
            "`head_from`",
        ),
        (
            diff_url("{}", "{}", "base_from=1700000100&base_to=1699999990"),
            "`base_from` (2023-11-14T22:15:00Z) is after `base_to` (2023-11-14T22:13:10Z)",
        ),
        (diff_url("{}", "{}", "format=pprof"), "json or svg"),
    ];
    for (url, needle) in cases {
        let reply = app.get(&url).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{url}");
        assert!(
            reply.error().contains(needle),
            "{url}: {:?} lacks {needle}",
            reply.error()
        );
    }
}

#[tokio::test]
async fn a_side_that_matches_nothing_is_a_404_naming_it() {
    let app = two_versions().await;
    for (base, head, side) in [
        (r#"{version="9"}"#, r#"{version="1.5"}"#, "base side"),
        (r#"{version="1.4"}"#, r#"{version="9"}"#, "head side"),
    ] {
        let reply = app.get(&diff_url(base, head, RANGE)).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND);
        assert!(reply.error().contains(side), "{}", reply.error());
        assert!(reply.error().contains("no profiles"), "{}", reply.error());
    }
    // Out of range counts as no match too.
    let reply = app
        .get(&diff_url(
            r#"{version="1.4"}"#,
            r#"{version="1.5"}"#,
            "from=1600000000&to=1600000100&base_from=1699999990&base_to=1700000100",
        ))
        .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert!(reply.error().contains("head side"), "{}", reply.error());
}
