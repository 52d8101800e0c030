//! What `/metrics` says about the bucket: segment uploads, how far behind
//! the bucket this server is, compaction, and reads the catalog saved.

use std::sync::atomic::AtomicU64;

use prometheus_client::{
    metrics::{
        counter::Counter,
        gauge::Gauge,
        histogram::{exponential_buckets, Histogram},
    },
    registry::Registry,
};

/// The cluster's metrics; registered into the server's registry.
#[derive(Debug)]
pub struct Metrics {
    pub(crate) segment_uploads: Counter,
    pub(crate) segment_upload_failures: Counter,
    pub(crate) segment_bytes: Counter,
    pub(crate) segment_upload_seconds: Histogram,
    pub(crate) catalog_lag_seconds: Gauge<f64, AtomicU64>,
    pub(crate) objects_applied: Counter,
    pub(crate) reads_saved: Counter,
    pub(crate) compaction_jobs: Counter,
    pub(crate) compaction_failures: Counter,
    pub(crate) objects_deleted: Counter,
    pub(crate) live_blocks: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        Self {
            segment_uploads: Counter::default(),
            segment_upload_failures: Counter::default(),
            segment_bytes: Counter::default(),
            segment_upload_seconds: Histogram::new(exponential_buckets(0.005, 2.0, 12)),
            catalog_lag_seconds: Gauge::default(),
            objects_applied: Counter::default(),
            reads_saved: Counter::default(),
            compaction_jobs: Counter::default(),
            compaction_failures: Counter::default(),
            objects_deleted: Counter::default(),
            live_blocks: Gauge::default(),
        }
    }
}

impl Metrics {
    /// Adds every metric to `registry`, under `cluster_`.
    pub fn register(&self, registry: &mut Registry) {
        let r = registry.sub_registry_with_prefix("cluster");
        r.register(
            "segment_uploads",
            "Segments written to the bucket",
            self.segment_uploads.clone(),
        );
        r.register(
            "segment_upload_failures",
            "Segment uploads that failed (their pushes were answered 503)",
            self.segment_upload_failures.clone(),
        );
        r.register(
            "segment_bytes",
            "Bytes of segments written",
            self.segment_bytes.clone(),
        );
        r.register(
            "segment_upload_seconds",
            "Time to write one segment",
            self.segment_upload_seconds.clone(),
        );
        r.register(
            "catalog_lag_seconds",
            "Seconds since this server last read every new object of the bucket",
            self.catalog_lag_seconds.clone(),
        );
        r.register(
            "objects_applied",
            "Segments and blocks of other servers read into this one",
            self.objects_applied.clone(),
        );
        r.register(
            "block_reads_saved",
            "Blocks not read because this server already had everything in them",
            self.reads_saved.clone(),
        );
        r.register(
            "compaction_jobs",
            "Compactions that wrote a catalog",
            self.compaction_jobs.clone(),
        );
        r.register(
            "compaction_failures",
            "Compactions that stopped on an error",
            self.compaction_failures.clone(),
        );
        r.register(
            "objects_deleted",
            "Objects deleted from the bucket (compacted, past retention, or left over)",
            self.objects_deleted.clone(),
        );
        r.register(
            "live_blocks",
            "Blocks in the newest catalog",
            self.live_blocks.clone(),
        );
    }
}
