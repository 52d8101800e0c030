//! The application: shared state, the router, serving, and the retention
//! task.

use std::{
    future::Future,
    sync::Arc,
    time::{Duration, SystemTime},
};

use axum::{
    extract::DefaultBodyLimit,
    middleware,
    routing::{get, post},
    Router,
};
use brasa_store::Store;
use tokio::net::TcpListener;

use crate::{auth::Tokens, limits::Limits, metrics::Metrics, routes, time::nanos};

/// Default retention: two weeks of history.
pub const DEFAULT_RETENTION: Duration = Duration::from_secs(14 * 24 * 3600);
/// How often the retention task runs: old data goes within minutes, and a
/// pass over the index is cheap at this rate.
pub const DEFAULT_RETENTION_INTERVAL: Duration = Duration::from_secs(600);

/// How the server behaves.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ServerOptions {
    /// Request limits. Default: [`Limits::default`].
    pub limits: Limits,
    /// Accepted tokens; `None` (the default) disables authentication.
    pub tokens: Option<Tokens>,
    /// Profiles older than this are deleted. Default: [`DEFAULT_RETENTION`].
    pub retention: Duration,
    /// Pause between retention passes. Default: [`DEFAULT_RETENTION_INTERVAL`].
    pub retention_interval: Duration,
}

impl Default for ServerOptions {
    fn default() -> Self {
        Self {
            limits: Limits::default(),
            tokens: None,
            retention: DEFAULT_RETENTION,
            retention_interval: DEFAULT_RETENTION_INTERVAL,
        }
    }
}

struct Inner {
    store: Store,
    options: ServerOptions,
    metrics: Metrics,
}

/// State shared by all handlers; cheap to clone.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

impl AppState {
    /// State over an open store.
    pub fn new(store: Store, options: ServerOptions) -> Self {
        Self(Arc::new(Inner {
            store,
            options,
            metrics: Metrics::default(),
        }))
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.0.store
    }

    /// The request limits.
    pub fn limits(&self) -> &Limits {
        &self.0.options.limits
    }

    /// The accepted tokens, when authentication is on.
    pub fn tokens(&self) -> Option<&Tokens> {
        self.0.options.tokens.as_ref()
    }

    /// The server's metrics.
    pub fn metrics(&self) -> &Metrics {
        &self.0.metrics
    }

    /// The options the server runs with.
    pub fn options(&self) -> &ServerOptions {
        &self.0.options
    }
}

/// Every endpoint of the public contract.
pub fn router(state: AppState) -> Router {
    let body_limit = state.limits().max_body_bytes;
    Router::new()
        .route("/api/v1/ingest", post(routes::ingest::ingest))
        .route("/ingest", post(routes::pyroscope::legacy_ingest))
        .route("/push.v1.PusherService/Push", post(routes::pyroscope::push))
        .route("/api/v1/profile", get(routes::query::profile))
        .route("/api/v1/diff", get(routes::diff::diff))
        .route("/api/v1/series", get(routes::query::series))
        .route("/api/v1/labels", get(routes::labels::names))
        .route("/api/v1/labels/{name}/values", get(routes::labels::values))
        .route("/metrics", get(routes::ops::metrics))
        .route("/healthz", get(routes::ops::healthz))
        .merge(crate::ui::routes())
        .fallback(routes::ops::not_found)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            crate::auth::require_token,
        ))
        // Extractors that buffer (multipart) obey the same limit as the
        // endpoints that read the body themselves.
        .layer(DefaultBodyLimit::max(body_limit))
        .with_state(state)
}

/// Serves until `shutdown` completes, then flushes the store. The
/// retention task runs meanwhile.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let retention = tokio::spawn(retention_loop(state.clone()));
    let result = axum::serve(listener, router(state.clone()))
        .with_graceful_shutdown(shutdown)
        .await;
    retention.abort();
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
