//! `GET /api/v1/targets`: the scrapes of pull mode and their health, in
//! the Prometheus API shape (`{"status": "success", "data": [...]}`).
//!
//! ```json
//! {"status": "success", "data": [{"job": "goapp", "instance": "127.0.0.1:6060",
//!   "labels": {"instance": "127.0.0.1:6060", "job": "goapp", "team": "core"},
//!   "profiles": [{"name": "memory", "url": "http://127.0.0.1:6060/debug/pprof/heap",
//!     "last_scrape": "2026-01-02T15:04:05.25Z", "last_duration_seconds": 0.004,
//!     "last_error": null, "health": "up"}]}]}
//! ```
//!
//! `health` is `unknown` before the first scrape, then `up` or `down` as
//! the last scrape went; `last_error` says why it failed.

use axum::{extract::State, Json};
use serde_json::{json, Value};

use crate::state::AppState;

pub(crate) async fn targets(State(state): State<AppState>) -> Json<Value> {
    Json(json!({ "status": "success", "data": state.targets().json() }))
}
