//! The application: the router, serving, the retention task and the
//! scrape loops. The
//! state the handlers share is [`crate::state`]'s.

use std::{future::Future, time::SystemTime};

use axum::{
    extract::{DefaultBodyLimit, Request, State},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::{get, post},
    Router,
};
use tokio::net::TcpListener;

use crate::{
    auth,
    endpoint_kind::{endpoint_kind, EndpointKind},
    routes,
    scrape::Scrapers,
    state::AppState,
    time::nanos,
    ui, Error,
};

/// Every endpoint of the public contract.
pub fn router(state: AppState) -> Router {
    let body_limit = state.limits().max_body_bytes;
    // The middleware gets the tokens and sessions alone, so
    // authentication needs no handler state.
    let auth = state.auth().cloned();
    Router::new()
        .route("/api/v1/ingest", post(routes::ingest::ingest))
        .route("/ingest", post(routes::pyroscope::legacy_ingest))
        .route("/push.v1.PusherService/Push", post(routes::pyroscope::push))
        .route("/api/v1/profile", get(routes::query::profile))
        .route("/api/v1/diff", get(routes::diff::diff))
        .route("/api/v1/series", get(routes::query::series))
        .route("/api/v1/profile_types", get(routes::query::profile_types))
        .route("/api/v1/labels", get(routes::labels::names))
        .route("/api/v1/labels/{name}/values", get(routes::labels::values))
        .route("/api/v1/targets", get(routes::targets::targets))
        .route("/metrics", get(routes::ops::metrics))
        .route("/healthz", get(routes::ops::healthz))
        .route(
            crate::endpoint_kind::SESSION_PATH,
            get(routes::session::whoami)
                .post(routes::session::sign_in)
                .delete(routes::session::sign_out),
        )
        .merge(ui::routes())
        .fallback(routes::ops::not_found)
        // Admission runs after authentication: a request without
        // credentials takes no turn.
        .layer(middleware::from_fn_with_state(state.clone(), admit))
        .layer(middleware::from_fn_with_state(auth, auth::require_token))
        // Extractors that buffer (multipart) obey the same limit as the
        // endpoints that read the body themselves.
        .layer(DefaultBodyLimit::max(body_limit))
        .with_state(state)
}

/// Middleware: ingest and queries wait for a turn in their own gate, or
/// are refused with 429 and `Retry-After`.
async fn admit(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let gate = match endpoint_kind(request.method(), request.uri().path()) {
        EndpointKind::Ingest => state.ingest_gate(),
        EndpointKind::Query => state.query_gate(),
        EndpointKind::Open | EndpointKind::Operations => return next.run(request).await,
    };
    match gate.admit().await {
        Ok(_turn) => next.run(request).await,
        Err(refusal) => {
            state.metrics().refused(gate.what(), refusal.reason());
            crate::body::discard_body(request.into_body(), state.limits().max_body_bytes).await;
            Error::Busy {
                what: gate.what(),
                reason: refusal.reason(),
            }
            .into_response()
        }
    }
}

/// Serves until `shutdown` completes, then flushes the store. The
/// retention task and the scrape loops of pull mode run meanwhile; the
/// loops stop before the store is flushed.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let retention = tokio::spawn(retention_loop(state.clone()));
    let token_watch = state.auth().cloned().map(|auth| {
        let state = state.clone();
        tokio::spawn(auth.watch(move |ok| state.metrics().token_file_reloaded(ok)))
    });
    let scrapers = Scrapers::start(&state);
    let result = axum::serve(listener, router(state.clone()))
        .with_graceful_shutdown(shutdown)
        .await;
    scrapers.stop().await;
    retention.abort();
    if let Some(watch) = token_watch {
        watch.abort();
    }
    let flush = state.clone();
    tokio::task::spawn_blocking(move || flush.store().flush())
        .await
        .map_err(std::io::Error::other)?
        .map_err(std::io::Error::other)?;
    result
}

async fn retention_loop(state: AppState) {
    let mut tick = tokio::time::interval(state.options().retention_interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let retention = u64::try_from(state.options().retention.as_nanos()).unwrap_or(u64::MAX);
        let cutoff = nanos(SystemTime::now()).saturating_sub(retention);
        let worker = state.clone();
        match tokio::task::spawn_blocking(move || worker.store().delete_before(cutoff)).await {
            Ok(Ok(deleted)) if deleted.profiles > 0 => tracing::info!(
                profiles = deleted.profiles,
                "retention deleted old profiles"
            ),
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::error!("retention pass failed: {e}"),
            Err(e) => tracing::error!("retention task failed: {e}"),
        }
    }
}
