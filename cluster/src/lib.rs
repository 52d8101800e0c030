//! Brasa servers that share one S3-compatible bucket.
//!
//! It owns everything the bucket holds and how servers agree on it without
//! talking to each other: the key layout (`layout`), segments written on
//! the ingest path (`writer`), following what other servers wrote
//! (`follower`), the catalog, compaction, retention and garbage collection
//! (`compactor`), and the `--storage` URL (`location`). No HTTP.
//!
//! The bucket is the only shared state, and every server is equal:
//!
//! - **Write path.** Pushes are gathered for [`DEFAULT_FLUSH_INTERVAL`]
//!   into one pack ([`brasa_store::pack`]) per server, a *segment*, under
//!   a key only that server writes. A push is answered only once its
//!   segment is in the bucket; a failed upload is an error the client
//!   retries. Segments of one server are written one after the other, so
//!   a listing that shows one shows every earlier one.
//! - **Read path.** Each server keeps a local store (sled) as its cache of
//!   the bucket, and answers queries from it. It learns of new objects by
//!   polling small listings every [`DEFAULT_POLL_INTERVAL`]: the heartbeats
//!   (who writes), each writer's segments after the last one it read, and
//!   the newest catalog. A profile that reaches a server twice (a retried
//!   push, a segment then the block made from it) is stored once
//!   ([`brasa_store::Store::insert_once`]). The local store can be deleted
//!   at any time: the server rebuilds it from the bucket when it starts.
//! - **Compaction.** One server at a time (a lease object) merges segments
//!   into blocks and blocks into bigger blocks, drops profiles past
//!   retention, writes a new catalog, and deletes what it replaced after a
//!   grace period. The lease only keeps servers from doing the same work
//!   twice: correctness does not depend on it (stores such as Garage 2.5
//!   ignore `If-None-Match`), because an object is deleted only when the
//!   newest catalog says so, and blocks no catalog refers to are never
//!   read.

#![warn(missing_docs)]

mod catalog;
mod compactor;
mod error;
mod follower;
mod layout;
pub mod location;
mod metrics;
mod writer;

use std::{
    sync::{Arc, Mutex},
    time::{Duration, SystemTime},
};

use brasa_store::{pack::Packed, Store};
use futures_util::TryStreamExt;
use object_store::{path::Path as Key, ObjectMeta, ObjectStore, PutPayload};
use tokio::task::JoinHandle;

pub use error::{Error, Result};
pub use location::{Credentials, Location};
pub use metrics::Metrics;

use crate::layout::Layout;

/// How long pushes are gathered into one segment.
pub const DEFAULT_FLUSH_INTERVAL: Duration = Duration::from_millis(500);
/// How often a server looks for what the others wrote.
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_millis(500);
/// How often a server rewrites its heartbeat.
pub const DEFAULT_HEARTBEAT_INTERVAL: Duration = Duration::from_secs(5);
/// How often a server tries to compact (when it holds the lease).
pub const DEFAULT_COMPACTION_INTERVAL: Duration = Duration::from_secs(60);
/// How long replaced objects stay in the bucket so that reads that started
/// before the new catalog finish.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(120);

/// Default ingest requests at work at once on a server that shares a
/// bucket: each one waits for its segment to be written (about
/// [`DEFAULT_FLUSH_INTERVAL`] plus the upload), so taking 1,000 profiles a
/// second takes about 600 requests at once; each holds only its decoded
/// profiles meanwhile.
pub const INGEST_IN_FLIGHT: usize = 1024;

/// How a server uses the bucket.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ClusterOptions {
    /// See [`DEFAULT_FLUSH_INTERVAL`].
    pub flush_interval: Duration,
    /// See [`DEFAULT_POLL_INTERVAL`].
    pub poll_interval: Duration,
    /// See [`DEFAULT_HEARTBEAT_INTERVAL`].
    pub heartbeat_interval: Duration,
    /// See [`DEFAULT_COMPACTION_INTERVAL`].
    pub compaction_interval: Duration,
    /// See [`DEFAULT_GRACE`].
    pub grace: Duration,
    /// Profiles older than this are dropped from the bucket.
    pub retention: Duration,
}

impl ClusterOptions {
    /// The defaults, with `retention`.
    pub fn new(retention: Duration) -> Self {
        Self {
            flush_interval: DEFAULT_FLUSH_INTERVAL,
            poll_interval: DEFAULT_POLL_INTERVAL,
            heartbeat_interval: DEFAULT_HEARTBEAT_INTERVAL,
            compaction_interval: DEFAULT_COMPACTION_INTERVAL,
            grace: DEFAULT_GRACE,
            retention,
        }
    }
}

/// A server's part in a cluster; cheap to clone. Dropping the last clone
/// stops its background tasks.
#[derive(Clone)]
pub struct Cluster {
    inner: Arc<Inner>,
    _tasks: Arc<Tasks>,
}

struct Tasks(Vec<JoinHandle<()>>);

impl Drop for Tasks {
    fn drop(&mut self) {
        for task in &self.0 {
            task.abort();
        }
    }
}

pub(crate) struct Inner {
    bucket: Arc<dyn ObjectStore>,
    layout: Layout,
    /// This server's writer id.
    me: String,
    store: Arc<Store>,
    options: ClusterOptions,
    metrics: Metrics,
    writer: writer::Writer,
    follow: Mutex<follower::Follow>,
}

impl Cluster {
    /// Joins the cluster in `bucket` under `prefix`, with `store` as the
    /// local cache: reads everything the bucket holds into it, then starts
    /// writing segments, following the others and compacting. Must run in
    /// a tokio runtime.
    ///
    /// # Errors
    /// When the bucket cannot be read.
    pub async fn start(
        bucket: Arc<dyn ObjectStore>,
        prefix: &str,
        store: Arc<Store>,
        options: ClusterOptions,
    ) -> Result<Self> {
        let inner = Arc::new(Inner {
            bucket,
            layout: Layout::new(prefix),
            me: layout::new_writer_id(),
            store,
            writer: writer::Writer::default(),
            follow: Mutex::default(),
            metrics: Metrics::default(),
            options,
        });
        inner.heartbeat().await?;
        inner.poll().await?;
        let tasks = vec![
            tokio::spawn(writer::run(inner.clone())),
            tokio::spawn(follower::run(inner.clone())),
            tokio::spawn(follower::run_heartbeats(inner.clone())),
            tokio::spawn(compactor::run(inner.clone())),
        ];
        Ok(Self {
            inner,
            _tasks: Arc::new(Tasks(tasks)),
        })
    }

    /// Stores `profiles` (labels, validated profile, key time): returns
    /// once they are in a segment in the bucket and in the local store.
    ///
    /// # Errors
    /// [`Error::NotDurable`] when the segment could not be written: nothing
    /// of `profiles` is acknowledged, and the client should retry.
    pub async fn append(&self, profiles: Vec<Packed>) -> Result<()> {
        self.inner.append(profiles).await
    }

    /// This server's writer id (its segments' directory in the bucket).
    pub fn writer_id(&self) -> &str {
        &self.inner.me
    }

    /// The metrics, to register into the server's registry.
    pub fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }

    /// Runs one compaction now if this server gets the lease; whether it
    /// did.
    ///
    /// # Errors
    /// The bucket's errors.
    pub async fn compact(&self) -> Result<bool> {
        self.inner.compact_once().await
    }
}

impl Inner {
    async fn get(&self, key: &Key) -> Result<Option<bytes::Bytes>> {
        match self.bucket.get(key).await {
            Ok(got) => match got.bytes().await {
                Ok(bytes) => Ok(Some(bytes)),
                Err(object_store::Error::NotFound { .. }) => Ok(None),
                Err(source) => Err(bucket_error(key, source)),
            },
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(source) => Err(bucket_error(key, source)),
        }
    }

    async fn put(&self, key: &Key, bytes: Vec<u8>) -> Result<()> {
        self.bucket
            .put(key, PutPayload::from(bytes))
            .await
            .map(|_| ())
            .map_err(|source| bucket_error(key, source))
    }

    async fn delete(&self, key: &Key) -> Result<()> {
        match self.bucket.delete(key).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => {
                self.metrics.objects_deleted.inc();
                Ok(())
            }
            Err(source) => Err(bucket_error(key, source)),
        }
    }

    /// Objects under `prefix` whose key sorts after `offset`, in key order.
    async fn list(&self, prefix: &Key, offset: Option<&Key>) -> Result<Vec<ObjectMeta>> {
        let stream = match offset {
            Some(offset) => self.bucket.list_with_offset(Some(prefix), offset),
            None => self.bucket.list(Some(prefix)),
        };
        let mut objects: Vec<ObjectMeta> = stream
            .try_collect()
            .await
            .map_err(|source| bucket_error(prefix, source))?;
        objects.sort_by(|a, b| a.location.cmp(&b.location));
        Ok(objects)
    }

    async fn get_json<T: serde::de::DeserializeOwned>(&self, key: &Key) -> Result<Option<T>> {
        match self.get(key).await? {
            Some(bytes) => {
                serde_json::from_slice(&bytes)
                    .map(Some)
                    .map_err(|source| Error::BadJson {
                        key: key.to_string(),
                        source,
                    })
            }
            None => Ok(None),
        }
    }

    async fn put_json<T: serde::Serialize>(&self, key: &Key, value: &T) -> Result<()> {
        let bytes = serde_json::to_vec(value).map_err(|e| Error::Internal(e.to_string()))?;
        self.put(key, bytes).await
    }

    /// Reads the pack at `key` into the local store; false when the object
    /// is gone (compacted and deleted since it was listed).
    async fn apply_object(&self, key: &Key) -> Result<bool> {
        let Some(bytes) = self.get(key).await? else {
            return Ok(false);
        };
        let store = self.store.clone();
        let name = key.to_string();
        tokio::task::spawn_blocking(move || {
            let packed = brasa_store::pack::read(&bytes)
                .map_err(|source| Error::Damaged { key: name, source })?;
            apply(&store, &packed)
        })
        .await
        .map_err(|e| Error::Internal(e.to_string()))??;
        self.metrics.objects_applied.inc();
        Ok(true)
    }
}

/// Writes `packed` into the local store, once each, durably.
pub(crate) fn apply(store: &Store, packed: &[Packed]) -> Result<()> {
    let mut last = None;
    for p in packed {
        last = Some(store.insert_once(&p.labels, &p.profile, p.time_nanos)?);
    }
    if let Some(last) = last {
        store.commit(&last)?;
    }
    Ok(())
}

fn bucket_error(key: &Key, source: object_store::Error) -> Error {
    Error::Bucket {
        key: key.to_string(),
        source,
    }
}

/// Milliseconds since the Unix epoch.
pub(crate) fn now_millis() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}
