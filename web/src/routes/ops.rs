//! `/healthz`, `/metrics`, and the answer for unknown paths.

use axum::{
    extract::State,
    http::{header::CONTENT_TYPE, Uri},
    response::IntoResponse,
};

use crate::{state::AppState, Error, Result};

/// The content type Prometheus expects for the text format.
const METRICS_CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

pub(crate) async fn healthz() -> &'static str {
    "ok\n"
}

pub(crate) async fn metrics(State(state): State<AppState>) -> Result<impl IntoResponse> {
    let worker = state.clone();
    let text = tokio::task::spawn_blocking(move || -> Result<String> {
        let store = worker.store();
        let bytes = store.size_on_disk()?;
        Ok(worker
            .metrics()
            .render(bytes, store.series_count(), store.flushes()))
    })
    .await??;
    Ok(([(CONTENT_TYPE, METRICS_CONTENT_TYPE)], text))
}

pub(crate) async fn not_found(uri: Uri) -> Error {
    Error::NotFound(format!(
        "no endpoint at {}; see /api/v1/profile, /api/v1/ingest, /api/v1/labels",
        uri.path()
    ))
}
