//! An in-process server over a temporary store, request helpers, and the
//! golden files of JSON answers (`tests/golden/`; `BRASA_BLESS=1` rewrites
//! them after an intended change).

#![allow(dead_code)] // each test file uses a different subset

use axum::{
    body::Body,
    http::{HeaderMap, Method, Request, StatusCode},
    Router,
};
use brasa_profile::{codec, folded::Folded, Profile};
use brasa_store::{Store, StoreOptions};
use brasa_web::{router, AppState, ServerOptions};
use http_body_util::BodyExt;
use tower::ServiceExt;

pub struct App {
    pub router: Router,
    pub state: AppState,
    _dir: tempfile::TempDir,
}

pub fn app() -> App {
    app_with(ServerOptions::default())
}

pub fn app_with(options: ServerOptions) -> App {
    app_with_store(options, StoreOptions::default())
}

pub fn app_with_store(options: ServerOptions, store_options: StoreOptions) -> App {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), store_options).unwrap();
    let state = AppState::new(store, options);
    App {
        router: router(state.clone()),
        state,
        _dir: dir,
    }
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }

    /// The message of a `{"error": ...}` answer.
    pub fn error(&self) -> String {
        self.json()["error"]
            .as_str()
            .unwrap_or_else(|| panic!("no error field: {}", self.text()))
            .to_owned()
    }
}

impl App {
    pub async fn request(
        &self,
        method: Method,
        uri: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> Reply {
        let mut request = Request::builder().method(method).uri(uri);
        for (k, v) in headers {
            request = request.header(*k, *v);
        }
        let response = self
            .router
            .clone()
            .oneshot(request.body(Body::from(body)).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let body = response
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec();
        Reply {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&self, uri: &str) -> Reply {
        self.request(Method::GET, uri, &[], Vec::new()).await
    }

    pub async fn post(&self, uri: &str, body: Vec<u8>) -> Reply {
        self.request(Method::POST, uri, &[], body).await
    }
}

/// A profile from folded text, stamped with `time_nanos`.
pub fn profile(text: &str, time_nanos: i64) -> Profile {
    let mut p = Folded::parse(text).unwrap().to_profile();
    p.time_nanos = time_nanos;
    p
}

/// gzip pprof of folded stacks whose counts are `r#type`/`unit`, stamped
/// with `time_nanos`.
pub fn typed_pprof(text: &str, r#type: &str, unit: &str, time_nanos: i64) -> Vec<u8> {
    let mut folded = Folded::parse(text).unwrap();
    folded.sample_type = Some((r#type.to_owned(), unit.to_owned()));
    let mut profile = folded.to_profile();
    profile.time_nanos = time_nanos;
    codec::encode(&profile)
}

/// gzip pprof bytes of a folded-text profile.
pub fn pprof_gz(text: &str, time_nanos: i64) -> Vec<u8> {
    codec::encode(&profile(text, time_nanos))
}

/// Percent-encodes a query parameter value.
pub fn enc(value: &str) -> String {
    let mut out = String::new();
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A second, in seconds since the epoch, as nanoseconds.
pub const T0: i64 = 1_700_000_000_000_000_000;

/// Compares the JSON body of `reply`, pretty-printed, with
/// `tests/golden/NAME.json`, or rewrites that file when blessing.
pub fn golden_json(name: &str, reply: &Reply) {
    let actual = serde_json::to_string_pretty(&reply.json()).unwrap() + "\n";
    brasa_test_support::golden!(&format!("{name}.json"), &actual);
}
