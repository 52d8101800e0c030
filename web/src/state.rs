//! The state every handler shares: the store, the options the server runs
//! with, its metrics, and the health of its scrapes. A leaf module: it imports no handler, so handlers
//! and the router can all depend on it without forming a cycle.

use std::{sync::Arc, time::Duration};

use brasa_cluster::Cluster;
use brasa_store::Store;
use tokio::sync::Semaphore;

use crate::{
    admission::{ingest_cpu_permits, Gate},
    auth::{Auth, Tokens},
    limits::Limits,
    metrics::Metrics,
    scrape::{config::ScrapeConfig, health::Targets},
};

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
    /// Accepted tokens, re-read from their file while the server runs;
    /// `None` (the default) disables authentication.
    pub tokens: Option<Tokens>,
    /// Profiles older than this are deleted. Default: [`DEFAULT_RETENTION`].
    pub retention: Duration,
    /// Pause between retention passes. Default: [`DEFAULT_RETENTION_INTERVAL`].
    pub retention_interval: Duration,
    /// What the server pulls (pull mode). Default: nothing.
    pub scrape: ScrapeConfig,
}

impl Default for ServerOptions {
    fn default() -> Self {
        Self {
            limits: Limits::default(),
            tokens: None,
            retention: DEFAULT_RETENTION,
            retention_interval: DEFAULT_RETENTION_INTERVAL,
            scrape: ScrapeConfig::default(),
        }
    }
}

struct Inner {
    store: Arc<Store>,
    cluster: Option<Cluster>,
    ingest_gate: Gate,
    query_gate: Gate,
    ingest_cpu: Semaphore,
    auth: Option<Arc<Auth>>,
    options: ServerOptions,
    metrics: Metrics,
    targets: Targets,
}

/// State shared by all handlers; cheap to clone.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

impl AppState {
    /// State over an open store.
    pub fn new(store: Store, options: ServerOptions) -> Self {
        Self::build(Arc::new(store), None, options)
    }

    /// State of a server that shares a bucket with others: `store` is its
    /// local cache, which `cluster` fills; pushes go through `cluster`.
    pub fn clustered(store: Arc<Store>, cluster: Cluster, options: ServerOptions) -> Self {
        Self::build(store, Some(cluster), options)
    }

    fn build(store: Arc<Store>, cluster: Option<Cluster>, options: ServerOptions) -> Self {
        let mut metrics = Metrics::default();
        if let Some(cluster) = &cluster {
            metrics.register_cluster(cluster.metrics());
        }
        Self(Arc::new(Inner {
            store,
            cluster,
            ingest_gate: Gate::new("ingest", options.limits.ingest),
            query_gate: Gate::new("query", options.limits.query),
            ingest_cpu: Semaphore::new(ingest_cpu_permits()),
            auth: options.tokens.clone().map(|t| Arc::new(Auth::new(t))),
            targets: Targets::new(&options.scrape),
            options,
            metrics,
        }))
    }

    /// The bucket this server shares, if it does.
    pub fn cluster(&self) -> Option<&Cluster> {
        self.0.cluster.as_ref()
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.0.store
    }

    /// The admission gate of ingest requests.
    pub(crate) fn ingest_gate(&self) -> &Gate {
        &self.0.ingest_gate
    }

    /// The admission gate of queries.
    pub(crate) fn query_gate(&self) -> &Gate {
        &self.0.query_gate
    }

    /// Permits for ingest's CPU work (decoding, encoding), one core fewer
    /// than the machine has, so queries keep one.
    pub(crate) fn ingest_cpu(&self) -> &Semaphore {
        &self.0.ingest_cpu
    }

    /// The request limits.
    pub fn limits(&self) -> &Limits {
        &self.0.options.limits
    }

    /// Tokens and sessions, when authentication is on.
    pub fn auth(&self) -> Option<&Arc<Auth>> {
        self.0.auth.as_ref()
    }

    /// The server's metrics.
    pub fn metrics(&self) -> &Metrics {
        &self.0.metrics
    }

    /// The scrapes of pull mode and their health.
    pub(crate) fn targets(&self) -> &Targets {
        &self.0.targets
    }

    /// The options the server runs with.
    pub fn options(&self) -> &ServerOptions {
        &self.0.options
    }
}
