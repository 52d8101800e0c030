//! Bad input gets a 4xx JSON error that says what is wrong; limits hold.

mod common;

use std::io::Write;

use axum::http::StatusCode;
use brasa_web::{limits::Limits, ServerOptions};
use common::*;

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

fn small_limits() -> ServerOptions {
    let mut limits = Limits::default();
    limits.max_body_bytes = 64 << 10;
    limits.max_decompressed_bytes = 1 << 20;
    let mut options = ServerOptions::default();
    options.limits = limits;
    options
}

#[tokio::test]
async fn bad_bodies_are_refused() {
    let app = app_with(small_limits());
    let good = pprof_gz("main;work 3\n", T0);
    let cases: Vec<(&str, Vec<u8>, StatusCode, &str)> = vec![
        (
            "garbage",
            b"\xff\xfe definitely not pprof".to_vec(),
            StatusCode::BAD_REQUEST,
            "not a pprof profile",
        ),
        (
            "truncated gzip",
            good[..good.len() / 2].to_vec(),
            StatusCode::BAD_REQUEST,
            "gzip",
        ),
        ("empty", Vec::new(), StatusCode::BAD_REQUEST, "empty"),
        (
            "oversized",
            vec![b'x'; 100 << 10],
            StatusCode::PAYLOAD_TOO_LARGE,
            "larger than 65536 bytes",
        ),
        (
            "gzip bomb",
            gzip(&vec![0u8; 16 << 20]),
            StatusCode::PAYLOAD_TOO_LARGE,
            "gzip bomb",
        ),
    ];
    for (what, body, status, hint) in cases {
        let reply = app.post("/api/v1/ingest?service=api", body).await;
        assert_eq!(reply.status, status, "{what}: {}", reply.text());
        assert!(reply.error().contains(hint), "{what}: {}", reply.error());
    }
    // Nothing was stored, and the server still works.
    assert_eq!(app.state.store().series_count(), 0);
    let ok = app.post("/api/v1/ingest?service=api", good).await;
    assert_eq!(ok.status, StatusCode::OK);
}

#[tokio::test]
async fn bad_labels_are_refused() {
    let app = app();
    let body = pprof_gz("a 1\n", T0);
    let many: String = (0..40).map(|i| format!("l{i}=v&")).collect();
    let long = "v".repeat(2000);
    let cases = [
        (format!("/api/v1/ingest?{many}"), "more than 32 labels"),
        ("/api/v1/ingest?bad-name=x".to_owned(), "must match"),
        (
            format!("/api/v1/ingest?service={long}"),
            "longer than 1024 bytes",
        ),
        ("/api/v1/ingest?a=1&a=2".to_owned(), "given twice"),
        ("/api/v1/ingest?a=%0A".to_owned(), "control character"),
    ];
    for (uri, hint) in cases {
        let reply = app.post(&uri, body.clone()).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{hint}");
        assert!(reply.error().contains(hint), "{hint}: {}", reply.error());
    }
}

#[tokio::test]
async fn malformed_selectors_and_times_are_400() {
    let app = app();
    app.post("/api/v1/ingest?service=api", pprof_gz("a 1\n", T0))
        .await;
    let cases = [
        (
            format!("query={}", enc(r#"{service="api""#)),
            "invalid selector",
        ),
        (
            format!("query={}", enc("sum(rate(x[5m]))")),
            "expected a series selector",
        ),
        (
            format!("query={}", enc(r#"{service=~"("}"#)),
            "invalid selector",
        ),
        ("from=yesterday".to_owned(), "invalid time \"yesterday\""),
        ("from=now-1x".to_owned(), "invalid time"),
        ("to=2025-13-45T00:00:00Z".to_owned(), "RFC 3339"),
        ("from=1700000100&to=1700000000".to_owned(), "is after"),
        ("format=png".to_owned(), "unknown format"),
    ];
    for (query, hint) in cases {
        for endpoint in ["profile", "series"] {
            if endpoint == "series" && query.starts_with("format") {
                continue;
            }
            let reply = app.get(&format!("/api/v1/{endpoint}?{query}")).await;
            assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{endpoint}?{query}");
            assert!(reply.error().contains(hint), "{query}: {}", reply.error());
        }
    }
    let step = app.get("/api/v1/series?step=soon").await;
    assert_eq!(step.status, StatusCode::BAD_REQUEST);
    assert_eq!(step.headers["content-type"], "application/json");
    assert!(
        step.error().starts_with("`step`: invalid duration"),
        "{}",
        step.error()
    );
}

#[tokio::test]
async fn tokens_guard_everything_but_healthz() {
    const TOKEN: &str = "0123456789abcdef-token";
    let mut options = ServerOptions::default();
    options.tokens = Some(brasa_web::auth::Tokens::parse(&format!("{TOKEN}\n")).unwrap());
    let app = app_with(options);
    let body = pprof_gz("a 1\n", T0);

    assert_eq!(app.get("/healthz").await.status, StatusCode::OK);
    for uri in ["/api/v1/labels", "/metrics", "/api/v1/profile"] {
        let reply = app.get(uri).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{uri}");
        assert!(reply.error().contains("Bearer"));
    }
    let wrong = app
        .request(
            axum::http::Method::POST,
            "/api/v1/ingest?service=api",
            &[("authorization", "Bearer 0123456789abcdef-wrong")],
            body.clone(),
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    let bearer = format!("Bearer {TOKEN}");
    let right = app
        .request(
            axum::http::Method::POST,
            "/api/v1/ingest?service=api",
            &[("authorization", &bearer)],
            body.clone(),
        )
        .await;
    assert_eq!(right.status, StatusCode::OK, "{}", right.text());
    // Basic (token as password) is for the Pyroscope endpoints only.
    use base64::Engine;
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("user:{TOKEN}"))
    );
    let native = app
        .request(
            axum::http::Method::GET,
            "/api/v1/labels",
            &[("authorization", &basic)],
            Vec::new(),
        )
        .await;
    assert_eq!(native.status, StatusCode::UNAUTHORIZED);
    let legacy = app
        .request(
            axum::http::Method::POST,
            "/ingest?name=app.cpu&format=folded",
            &[("authorization", &basic)],
            b"main;work 2\n".to_vec(),
        )
        .await;
    assert_eq!(legacy.status, StatusCode::OK, "{}", legacy.text());
}
