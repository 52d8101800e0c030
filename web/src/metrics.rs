//! The server's own metrics, served at `/metrics` in Prometheus text format.

use std::{
    future::Future,
    sync::atomic::AtomicU64,
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use prometheus_client::{
    encoding::{text::encode, EncodeLabelSet},
    metrics::{
        counter::Counter,
        family::Family,
        gauge::Gauge,
        histogram::{exponential_buckets, Histogram},
    },
    registry::Registry,
};

/// Which endpoint a measurement belongs to.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Endpoint {
    /// Endpoint name (`ingest`, `push`, `legacy_ingest`, `profile`, ...).
    pub endpoint: &'static str,
}

/// How re-reading the token file went.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReloadOutcome {
    /// `ok`, or `error` when the tokens read before stayed in force.
    pub outcome: &'static str,
}

/// A request refused by admission control.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RefusedLabels {
    /// `ingest` or `query`.
    pub lane: &'static str,
    /// Why: the queue was full, or the wait too long.
    pub reason: &'static str,
}

/// Which scrape a measurement belongs to (pull mode).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ScrapeLabels {
    /// The job's `job_name`.
    pub job: String,
    /// The target, `host:port`.
    pub instance: String,
    /// The profile (`process_cpu`, `memory`, ...).
    pub profile: &'static str,
}

type Latency = Family<Endpoint, Histogram, fn() -> Histogram>;
/// A gauge of seconds.
type Seconds = Gauge<f64, AtomicU64>;

/// Latency buckets: 1 ms to about 33 s, doubling.
fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.001, 2.0, 16))
}

/// All metrics, registered once.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    ingest_profiles: Family<Endpoint, Counter>,
    ingest_bytes: Family<Endpoint, Counter>,
    ingest_samples: Family<Endpoint, Counter>,
    ingest_errors: Family<Endpoint, Counter>,
    ingest_latency: Latency,
    query_latency: Latency,
    query_errors: Family<Endpoint, Counter>,
    store_bytes: Gauge,
    series: Gauge,
    flushes: Gauge,
    scrape_last_success: Family<ScrapeLabels, Seconds>,
    scrape_duration: Family<ScrapeLabels, Seconds>,
    scrape_failures: Family<ScrapeLabels, Counter>,
    scrape_up: Family<ScrapeLabels, Gauge>,
    token_file_reloads: Family<ReloadOutcome, Counter>,
    refused: Family<RefusedLabels, Counter>,
    queries_cancelled: Counter,
    queries_running: Gauge,
}

/// A merge being counted in `brasa_queries_running` while it lives.
pub(crate) struct RunningQuery<'a>(&'a Gauge);

impl Drop for RunningQuery<'_> {
    fn drop(&mut self) {
        self.0.dec();
    }
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("brasa");
        let metrics = Self {
            ingest_profiles: Family::default(),
            ingest_bytes: Family::default(),
            ingest_samples: Family::default(),
            ingest_errors: Family::default(),
            ingest_latency: Latency::new_with_constructor(latency_histogram),
            query_latency: Latency::new_with_constructor(latency_histogram),
            query_errors: Family::default(),
            store_bytes: Gauge::default(),
            series: Gauge::default(),
            flushes: Gauge::default(),
            scrape_last_success: Family::default(),
            scrape_duration: Family::default(),
            scrape_failures: Family::default(),
            scrape_up: Family::default(),
            token_file_reloads: Family::default(),
            refused: Family::default(),
            queries_cancelled: Counter::default(),
            queries_running: Gauge::default(),
            registry: Registry::default(),
        };
        registry.register(
            "ingest_profiles",
            "Profiles stored durably",
            metrics.ingest_profiles.clone(),
        );
        registry.register(
            "ingest_bytes",
            "Request body bytes of successful ingests",
            metrics.ingest_bytes.clone(),
        );
        registry.register(
            "ingest_samples",
            "pprof samples in stored profiles",
            metrics.ingest_samples.clone(),
        );
        registry.register(
            "ingest_errors",
            "Ingest requests answered with an error",
            metrics.ingest_errors.clone(),
        );
        registry.register(
            "ingest_duration_seconds",
            "Ingest latency, from request to durable acknowledgement",
            metrics.ingest_latency.clone(),
        );
        registry.register(
            "query_duration_seconds",
            "Query latency",
            metrics.query_latency.clone(),
        );
        registry.register(
            "query_errors",
            "Queries answered with an error",
            metrics.query_errors.clone(),
        );
        registry.register(
            "store_size_bytes",
            "Size of the data directory",
            metrics.store_bytes.clone(),
        );
        registry.register("series", "Series in the index", metrics.series.clone());
        registry.register(
            "store_flushes",
            "Disk flushes made by group commit since start",
            metrics.flushes.clone(),
        );
        registry.register(
            "scrape_last_success_timestamp_seconds",
            "When the last successful scrape of a profile of a target started (unix seconds)",
            metrics.scrape_last_success.clone(),
        );
        registry.register(
            "scrape_duration_seconds",
            "How long the last scrape of a profile of a target took",
            metrics.scrape_duration.clone(),
        );
        registry.register(
            "scrape_failures",
            "Scrapes of a profile of a target that failed",
            metrics.scrape_failures.clone(),
        );
        registry.register(
            "scrape_up",
            "1 when the last scrape of a profile of a target succeeded, else 0",
            metrics.scrape_up.clone(),
        );
        registry.register(
            "token_file_reloads",
            "Times the token file was re-read, by outcome",
            metrics.token_file_reloads.clone(),
        );
        registry.register(
            "requests_refused",
            "Requests answered 429 by admission control, by lane and reason",
            metrics.refused.clone(),
        );
        registry.register(
            "queries_cancelled",
            "Merges stopped because their client went away",
            metrics.queries_cancelled.clone(),
        );
        registry.register(
            "queries_running",
            "Merges and charts running now, off the async runtime",
            metrics.queries_running.clone(),
        );
        Self {
            registry,
            ..metrics
        }
    }
}

impl Metrics {
    /// Records a successful ingest.
    pub fn ingested(
        &self,
        endpoint: &'static str,
        profiles: u64,
        bytes: u64,
        samples: u64,
        took: Duration,
    ) {
        let e = Endpoint { endpoint };
        self.ingest_profiles.get_or_create(&e).inc_by(profiles);
        self.ingest_bytes.get_or_create(&e).inc_by(bytes);
        self.ingest_samples.get_or_create(&e).inc_by(samples);
        self.ingest_latency
            .get_or_create(&e)
            .observe(took.as_secs_f64());
    }

    /// Records a re-read of the token file.
    pub fn token_file_reloaded(&self, ok: bool) {
        let outcome = if ok { "ok" } else { "error" };
        self.token_file_reloads
            .get_or_create(&ReloadOutcome { outcome })
            .inc();
    }

    /// Records a request refused by admission control.
    pub fn refused(&self, lane: &'static str, reason: &'static str) {
        self.refused
            .get_or_create(&RefusedLabels { lane, reason })
            .inc();
    }

    /// Counts a merge or chart as running until the guard is dropped.
    pub(crate) fn running_query(&self) -> RunningQuery<'_> {
        self.queries_running.inc();
        RunningQuery(&self.queries_running)
    }

    /// Records a merge stopped because its client went away.
    pub fn query_cancelled(&self) {
        self.queries_cancelled.inc();
    }

    /// Records a failed ingest.
    pub fn ingest_failed(&self, endpoint: &'static str) {
        self.ingest_errors
            .get_or_create(&Endpoint { endpoint })
            .inc();
    }

    /// Runs a query's `work`, recording its latency and whether it failed
    /// under `endpoint`.
    pub(crate) async fn time_query<T, E>(
        &self,
        endpoint: &'static str,
        work: impl Future<Output = Result<T, E>>,
    ) -> Result<T, E> {
        let (result, took) = timed(work).await;
        self.queried(endpoint, result.is_ok(), took);
        result
    }

    /// Records a query's outcome.
    pub fn queried(&self, endpoint: &'static str, ok: bool, took: Duration) {
        let e = Endpoint { endpoint };
        self.query_latency
            .get_or_create(&e)
            .observe(took.as_secs_f64());
        if !ok {
            self.query_errors.get_or_create(&e).inc();
        }
    }

    /// Records a scrape that started at `started`, took `took`, and
    /// succeeded or not.
    pub fn scraped(&self, labels: &ScrapeLabels, ok: bool, took: Duration, started: SystemTime) {
        self.scrape_duration
            .get_or_create(labels)
            .set(took.as_secs_f64());
        self.scrape_up.get_or_create(labels).set(i64::from(ok));
        if ok {
            let at = started.duration_since(UNIX_EPOCH).unwrap_or_default();
            self.scrape_last_success
                .get_or_create(labels)
                .set(at.as_secs_f64());
        } else {
            // Created at 0 before the first success, so that it is there.
            let _ = self.scrape_last_success.get_or_create(labels);
            self.scrape_failures.get_or_create(labels).inc();
        }
    }

    /// Adds the metrics of a server that shares a bucket.
    pub fn register_cluster(&mut self, cluster: &brasa_cluster::Metrics) {
        cluster.register(&mut self.registry);
    }

    /// The text exposition, with the store gauges set to `store_bytes`,
    /// `series` and `flushes`.
    pub fn render(&self, store_bytes: u64, series: usize, flushes: u64) -> String {
        self.store_bytes
            .set(i64::try_from(store_bytes).unwrap_or(i64::MAX));
        self.series.set(i64::try_from(series).unwrap_or(i64::MAX));
        self.flushes.set(i64::try_from(flushes).unwrap_or(i64::MAX));
        let mut out = String::new();
        encode(&mut out, &self.registry).expect("writing to a String cannot fail");
        out
    }
}

/// `work`'s output and how long it took: the one clock behind the latency
/// metrics.
pub(crate) async fn timed<T>(work: impl Future<Output = T>) -> (T, Duration) {
    let started = Instant::now();
    let output = work.await;
    (output, started.elapsed())
}
