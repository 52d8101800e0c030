//! The read path: what other servers wrote, read into the local store.
//!
//! One poll reads the newest catalog (when it changed) and then, for every
//! writer with a heartbeat, the segments after the last one read. Each
//! listing names a small prefix and an offset: a poll never lists the
//! whole bucket.

use std::{
    collections::{BTreeMap, HashMap, HashSet},
    sync::{Arc, MutexGuard, PoisonError},
    time::Instant,
};

use object_store::path::Path as Key;

use crate::{
    catalog::{Catalog, Heartbeat},
    layout::{self, heartbeat_writer},
    now_millis, Inner, Result,
};

/// What this server has read of the bucket.
#[derive(Default)]
pub(crate) struct Follow {
    /// Key of the newest catalog read.
    catalog: Option<String>,
    /// Its `covered`.
    covered: BTreeMap<String, u64>,
    /// Segments and blocks in the local store (read, or written here).
    pub(crate) applied: HashSet<String>,
    /// Per writer, the last segment key read.
    after: HashMap<String, Key>,
}

impl Follow {
    /// Forgets what the newest catalog makes irrelevant: blocks it no longer
    /// lists, segments it covers.
    fn prune(&mut self, catalog: &Catalog) {
        let live: HashSet<&str> = catalog.blocks.iter().map(|b| b.key.as_str()).collect();
        let covered = &catalog.covered;
        self.applied.retain(|key| {
            live.contains(key.as_str())
                || layout::segment_of(key)
                    .is_some_and(|(writer, seq)| covered.get(writer).is_none_or(|&c| seq > c))
        });
    }
}

impl Inner {
    pub(crate) fn follower(&self) -> MutexGuard<'_, Follow> {
        self.follow.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The newest catalog and its key, if there is one.
    pub(crate) async fn latest_catalog(&self) -> Result<Option<(Key, Catalog)>> {
        let listed = self.list(&self.layout.catalogs(), None).await?;
        let Some(newest) = listed.into_iter().next_back() else {
            return Ok(None);
        };
        let key = newest.location;
        Ok(self.get_json(&key).await?.map(|c| (key, c)))
    }

    /// Reads what is new in the bucket into the local store.
    pub(crate) async fn poll(&self) -> Result<()> {
        self.read_catalog().await?;
        let writers: Vec<String> = self
            .list(&self.layout.writers(), None)
            .await?
            .iter()
            .filter_map(|o| heartbeat_writer(&o.location))
            .filter(|w| *w != self.me)
            .collect();
        for writer in writers {
            self.read_segments(&writer).await?;
        }
        Ok(())
    }

    async fn read_catalog(&self) -> Result<()> {
        let Some((key, catalog)) = self.latest_catalog().await? else {
            return Ok(());
        };
        if self.follower().catalog.as_deref() == Some(key.as_ref()) {
            return Ok(());
        }
        for block in &catalog.blocks {
            let (have, have_sources) = {
                let f = self.follower();
                (
                    f.applied.contains(&block.key),
                    !block.sources.is_empty()
                        && block.sources.iter().all(|s| f.applied.contains(s)),
                )
            };
            if have {
                continue;
            }
            if have_sources {
                self.metrics.reads_saved.inc();
            } else if !self.apply_object(&Key::from(block.key.as_str())).await? {
                // Replaced and deleted already: a newer catalog lists what
                // holds it, and the next poll reads that one.
                return Ok(());
            }
            self.follower().applied.insert(block.key.clone());
        }
        self.metrics.live_blocks.set(catalog.blocks.len() as i64);
        let mut f = self.follower();
        f.prune(&catalog);
        f.covered = catalog.covered;
        f.catalog = Some(key.to_string());
        Ok(())
    }

    async fn read_segments(&self, writer: &str) -> Result<()> {
        let offset = {
            let f = self.follower();
            let covered = f
                .covered
                .get(writer)
                .map(|&s| self.layout.segment(writer, s));
            covered.max(f.after.get(writer).cloned())
        };
        let listed = self
            .list(&self.layout.segments(writer), offset.as_ref())
            .await?;
        for object in listed {
            let key = object.location;
            if !self.follower().applied.contains(key.as_ref()) && self.apply_object(&key).await? {
                self.follower().applied.insert(key.to_string());
            }
            self.follower().after.insert(writer.to_owned(), key);
        }
        Ok(())
    }

    /// Writes this server's heartbeat.
    pub(crate) async fn heartbeat(&self) -> Result<()> {
        let beat = Heartbeat {
            writer: self.me.clone(),
            at_ms: now_millis(),
            last_segment: self.writer.last_written(),
        };
        self.put_json(&self.layout.heartbeat(&self.me), &beat).await
    }
}

/// Polls the bucket every poll interval.
pub(crate) async fn run(inner: Arc<Inner>) {
    let mut last_success = Instant::now();
    loop {
        tokio::time::sleep(inner.options.poll_interval).await;
        let started = Instant::now();
        match inner.poll().await {
            Ok(()) => last_success = started,
            Err(e) => tracing::warn!("reading the bucket: {}", brasa_profile::error_chain(&e)),
        }
        inner
            .metrics
            .catalog_lag_seconds
            .set(last_success.elapsed().as_secs_f64());
    }
}

/// Rewrites the heartbeat every heartbeat interval.
pub(crate) async fn run_heartbeats(inner: Arc<Inner>) {
    loop {
        tokio::time::sleep(inner.options.heartbeat_interval).await;
        if let Err(e) = inner.heartbeat().await {
            tracing::warn!("writing the heartbeat: {}", brasa_profile::error_chain(&e));
        }
    }
}
