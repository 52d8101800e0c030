//! Brasa's HTTP server, on axum.
//!
//! It owns the public HTTP contract and nothing below it: requests are
//! checked against [`limits`], profiles go to `brasa-store`, and answers
//! are rendered by `brasa-profile`.
//!
//! - Ingest: `POST /api/v1/ingest?label=value&...` (pprof, gzip or raw),
//!   Pyroscope's Connect push `POST /push.v1.PusherService/Push` and its
//!   legacy `POST /ingest`. A 2xx answer means the profiles are on disk.
//! - Query: `GET /api/v1/profile?query=SEL&from=T&to=T&format=...` merges
//!   every matching profile (pprof gzip by default, so `go tool pprof URL`
//!   works; also `svg`, `folded`, `json`), `GET /api/v1/diff?base=SEL&head=SEL`
//!   compares two merged selections as shares (differential flame graph
//!   `svg` or `json` stacks and biggest changes), `GET /api/v1/series`
//!   charts totals, `GET /api/v1/labels[/NAME/values]` lists the index.
//! - Pull mode: the targets of a scrape config ([`scrape`]) are scraped
//!   for their Go `net/http/pprof` profiles; `GET /api/v1/targets` shows
//!   their health.
//! - Operations: `/metrics` (Prometheus text), `/healthz`.
//!
//! - Tenants ([`tenant`]): a token may be bound to one, and Pyroscope's
//!   `X-Scope-OrgID` header names one; a tenant's queries see its own
//!   series, labels and profiles alone.
//!
//! Selectors are parsed in [`selector`], times and durations in [`time`];
//! errors are `{"error": "..."}` with a 4xx/5xx status ([`Error`]).
//!
//! Inside, the handlers (one module per group of endpoints) share
//! [`AppState`], which lives in a module that imports no handler; they
//! read query parameters through one extractor, whose bad values are JSON
//! 400s naming the parameter, and selections (selector, time range,
//! sample type) through one module, so every endpoint reads them alike.
//!
//! ```no_run
//! # async fn run() -> std::io::Result<()> {
//! use brasa_store::{Store, StoreOptions};
//! use brasa_web::{serve, AppState, ServerOptions};
//!
//! let store = Store::open("brasa-data".as_ref(), StoreOptions::default()).unwrap();
//! let state = AppState::new(store, ServerOptions::default());
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:7171").await?;
//! serve(listener, state, std::future::pending()).await
//! # }
//! ```

#![warn(missing_docs)]

pub mod admission;
mod app;
pub mod auth;
mod body;
pub mod client;
pub mod endpoint_kind;
mod error;
pub mod ingest;
pub mod limits;
pub mod metrics;
mod params;
mod routes;
pub mod scrape;
mod selection;
pub mod selector;
mod state;
pub mod tenant;
pub mod time;
mod ui;

pub use app::{router, serve};
pub use error::{Error, Result};
pub use routes::ingest::DEFAULT_PROFILE_NAME;
pub use routes::pyroscope::{decode_legacy_ingest, decode_push};
pub use state::{AppState, ServerOptions, DEFAULT_RETENTION, DEFAULT_RETENTION_INTERVAL};
