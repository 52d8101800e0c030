//! Compaction, retention and garbage collection, by whichever server holds
//! the lease.
//!
//! One job: delete the garbage whose grace period is over; merge every
//! segment that is not garbage yet into a level-1 block; merge the blocks of a
//! level into one block of the next level once there are enough of them;
//! drop blocks past retention; write the next catalog; then delete old
//! catalogs, blocks that no catalog refers to (a job that died before its
//! catalog), and heartbeats of servers that are gone.
//!
//! Why killing a server at any point loses nothing and counts nothing
//! twice: objects are deleted only when the newest catalog lists them as
//! garbage and their grace period is over, so whatever replaced them is
//! listed in that catalog; a block that no catalog lists is never read;
//! and a profile read twice (from a segment and from its block) is stored
//! once.

use std::{
    collections::{BTreeSet, HashSet},
    sync::Arc,
    time::{Duration, Instant},
};

use brasa_store::pack::{self, PackWriter};
use futures_util::{StreamExt, TryStreamExt};
use object_store::path::Path as Key;

use crate::{
    catalog::{Block, Catalog, Garbage, Lease},
    layout::{heartbeat_writer, segment_seq},
    now_millis, Error, Inner, Result,
};

/// Blocks of level L are merged into one block of level L + 1 once there
/// are `FANOUT[L - 1]` of them: with the default compaction interval of
/// 60 s, level 1 spans about 1 min, level 2 about 15 min, level 3 about 2 h.
pub const FANOUT: [usize; 2] = [15, 8];
/// Most segments one job reads, which bounds its memory.
const MAX_JOB_SEGMENTS: usize = 5_000;
/// Older catalogs kept besides the newest, for servers reading one.
const OLD_CATALOGS_KEPT: usize = 2;
/// Objects read at once by a job.
const READ_PARALLELISM: usize = 4;
/// Time between writing the lease and reading it back: two servers that
/// wrote it at nearly the same time see which write the store kept.
const LEASE_SETTLE: Duration = Duration::from_millis(300);
/// Youngest a block that no catalog refers to may be when it is deleted:
/// a job that is still running may be about to list it.
const ORPHAN_MIN_AGE: Duration = Duration::from_secs(600);
/// A server whose heartbeat is this many heartbeat intervals old, and
/// whose segments are all compacted, is gone.
const DEAD_AFTER_HEARTBEATS: u32 = 12;

impl Inner {
    /// Takes (or renews) the lease; whether this server holds it.
    async fn take_lease(&self) -> Result<bool> {
        let key = self.layout.lease();
        let now = now_millis();
        if let Some(lease) = self.get_json::<Lease>(&key).await? {
            if lease.holder != self.me && lease.until_ms > now {
                return Ok(false);
            }
        }
        let ttl = millis(self.options.compaction_interval * 3);
        let lease = Lease {
            holder: self.me.clone(),
            until_ms: now + ttl,
        };
        self.put_json(&key, &lease).await?;
        tokio::time::sleep(LEASE_SETTLE).await;
        Ok(self
            .get_json::<Lease>(&key)
            .await?
            .is_some_and(|l| l.holder == self.me))
    }

    /// One job, when this server gets the lease; whether it did.
    pub(crate) async fn compact_once(&self) -> Result<bool> {
        if !self.take_lease().await? {
            return Ok(false);
        }
        let started = Instant::now();
        let now = now_millis();
        let grace = millis(self.options.grace);
        let cutoff = (u128::from(now) * 1_000_000)
            .saturating_sub(self.options.retention.as_nanos())
            .min(u128::from(u64::MAX)) as u64;
        let old = self
            .latest_catalog()
            .await?
            .map(|(_, c)| c)
            .unwrap_or_default();
        let mut next = Catalog {
            generation: old.generation + 1,
            blocks: Vec::new(),
            covered: old.covered.clone(),
            garbage: Vec::new(),
        };
        let mut changed = false;
        for g in old.garbage {
            if now.saturating_sub(g.since_ms) >= grace {
                self.delete(&Key::from(g.key.as_str())).await?;
                changed = true;
            } else {
                next.garbage.push(g);
            }
        }

        // Every segment that is not garbage already, writer by writer, in
        // order. Most sort after the writer's covered mark; one below it is
        // an upload that reached the bucket after its writer gave up on it
        // (and after a later segment): merged too, never left behind.
        let heartbeats = self.list(&self.layout.writers(), None).await?;
        let mut writers: BTreeSet<String> = old.covered.keys().cloned().collect();
        writers.extend(
            heartbeats
                .iter()
                .filter_map(|o| heartbeat_writer(&o.location)),
        );
        let pending: HashSet<&str> = next.garbage.iter().map(|g| g.key.as_str()).collect();
        let orphan_age = millis(ORPHAN_MIN_AGE.max(self.options.grace * 4));
        let mut segments = Vec::new();
        let mut ages = std::collections::HashMap::new();
        let mut quiet = HashSet::new();
        for writer in &writers {
            let listed = self.list(&self.layout.segments(writer), None).await?;
            let mut any = false;
            for object in listed {
                if pending.contains(object.location.as_ref()) {
                    continue;
                }
                if segments.len() >= MAX_JOB_SEGMENTS {
                    // Left for the next job: the writer is not done.
                    any = true;
                    continue;
                }
                if let Some(seq) = segment_seq(&object.location) {
                    any = true;
                    let mark = next.covered.entry(writer.clone()).or_insert(seq);
                    *mark = (*mark).max(seq);
                    ages.insert(object.location.clone(), last_modified(&object));
                    segments.push(object.location);
                }
            }
            if !any {
                quiet.insert(writer.clone());
            }
        }

        let mut blocks = old.blocks;
        let mut replaced: Vec<String> = Vec::new();
        let mut n = 0;
        let mut missing = Vec::new();
        if !segments.is_empty() {
            blocks.extend(
                self.merge(&segments, 1, next.generation, &mut n, cutoff, &mut missing)
                    .await?,
            );
            replaced.extend(
                segments
                    .iter()
                    .filter(|k| !missing.contains(k))
                    .map(ToString::to_string),
            );
        }
        // Listed for longer than any upload takes and still unreadable:
        // nothing will ever read it.
        for key in &missing {
            if ages
                .get(key)
                .is_some_and(|&t| now.saturating_sub(t) > orphan_age)
            {
                self.delete(key).await?;
            }
        }
        for (level, &fanout) in (1u32..).zip(FANOUT.iter()) {
            let inputs: Vec<Key> = blocks
                .iter()
                .filter(|b| b.level == level)
                .map(|b| Key::from(b.key.as_str()))
                .collect();
            if inputs.len() < fanout {
                continue;
            }
            let merged = self
                .merge(
                    &inputs,
                    level + 1,
                    next.generation,
                    &mut n,
                    cutoff,
                    &mut missing,
                )
                .await?;
            let names: HashSet<String> = inputs.iter().map(ToString::to_string).collect();
            blocks.retain(|b| !names.contains(&b.key));
            replaced.extend(names);
            blocks.extend(merged);
        }
        let (live, expired): (Vec<Block>, Vec<Block>) =
            blocks.into_iter().partition(|b| b.max_time >= cutoff);
        replaced.extend(expired.into_iter().map(|b| b.key));

        // Heartbeats of servers that are gone and fully compacted.
        let dead_after = millis(self.options.heartbeat_interval * DEAD_AFTER_HEARTBEATS);
        let dead: Vec<Key> = heartbeats
            .into_iter()
            .filter(|o| {
                heartbeat_writer(&o.location).is_some_and(|w| quiet.contains(&w) && w != self.me)
                    && now.saturating_sub(last_modified(o)) > dead_after
            })
            .map(|o| o.location)
            .collect();
        for key in &dead {
            if let Some(writer) = heartbeat_writer(key) {
                next.covered.remove(&writer);
            }
        }

        if !changed && replaced.is_empty() && dead.is_empty() {
            return Ok(true);
        }
        let took = started.elapsed();
        if millis(took) > orphan_age / 2 {
            return Err(Error::CompactionTooSlow {
                took_ms: millis(took),
            });
        }
        next.blocks = live;
        next.garbage.extend(
            replaced
                .into_iter()
                .map(|key| Garbage { key, since_ms: now }),
        );
        let written = self.layout.catalog(next.generation, &self.me);
        self.put_json(&written, &next).await?;
        self.metrics.compaction_jobs.inc();
        self.metrics.live_blocks.set(next.blocks.len() as i64);
        tracing::info!(
            "compaction: catalog {} with {} blocks, {} objects waiting for deletion",
            next.generation,
            next.blocks.len(),
            next.garbage.len()
        );

        for key in &dead {
            self.delete(key).await?;
        }
        let catalogs = self.list(&self.layout.catalogs(), None).await?;
        let older: Vec<&Key> = catalogs
            .iter()
            .map(|o| &o.location)
            .filter(|k| **k < written)
            .collect();
        for key in &older[..older.len().saturating_sub(OLD_CATALOGS_KEPT)] {
            self.delete(key).await?;
        }
        let referenced: HashSet<&str> = next
            .blocks
            .iter()
            .map(|b| b.key.as_str())
            .chain(next.garbage.iter().map(|g| g.key.as_str()))
            .collect();
        for object in self.list(&self.layout.blocks(), None).await? {
            if !referenced.contains(object.location.as_ref())
                && now.saturating_sub(last_modified(&object)) > orphan_age
            {
                self.delete(&object.location).await?;
            }
        }
        Ok(true)
    }

    /// Merges the packs at `sources` into one block of `level`, leaving out
    /// profiles older than `cutoff` (unix ns) and repeated profiles; `None`
    /// when nothing is left. A segment that is listed but cannot be read
    /// (an upload still under way, or one the store gave up on but still
    /// lists) goes to `missing` instead.
    async fn merge(
        &self,
        sources: &[Key],
        level: u32,
        generation: u64,
        n: &mut usize,
        cutoff: u64,
        missing: &mut Vec<Key>,
    ) -> Result<Option<Block>> {
        let fetched: Vec<(Key, Option<bytes::Bytes>)> =
            futures_util::stream::iter(sources.to_vec())
                .map(|key| async move { Ok::<_, Error>((key.clone(), self.get(&key).await?)) })
                .buffered(READ_PARALLELISM)
                .try_collect()
                .await?;
        let mut objects = Vec::with_capacity(fetched.len());
        let mut read = Vec::with_capacity(fetched.len());
        for (key, bytes) in fetched {
            match bytes {
                Some(bytes) => {
                    read.push(key.clone());
                    objects.push((key.to_string(), bytes));
                }
                None if level == 1 => missing.push(key),
                None => {
                    return Err(Error::Internal(format!(
                        "block {key} is listed in the catalog but missing from the bucket"
                    )))
                }
            }
        }
        let built = tokio::task::spawn_blocking(move || -> Result<_> {
            let mut out = PackWriter::new();
            let (mut min, mut max) = (u64::MAX, 0);
            for (key, bytes) in &objects {
                let packed = pack::read(bytes).map_err(|source| Error::Damaged {
                    key: key.clone(),
                    source,
                })?;
                for p in packed.into_iter().filter(|p| p.time_nanos >= cutoff) {
                    min = min.min(p.time_nanos);
                    max = max.max(p.time_nanos);
                    out.add(&p.labels, &p.profile, p.time_nanos);
                }
            }
            if out.is_empty() {
                return Ok(None);
            }
            let profiles = out.profiles() as u64;
            Ok(Some((out.finish()?, profiles, min, max)))
        })
        .await
        .map_err(|e| Error::Internal(e.to_string()))??;
        let Some((bytes, profiles, min_time, max_time)) = built else {
            return Ok(None);
        };
        let key = self.layout.block(generation, &self.me, *n);
        *n += 1;
        let size = bytes.len() as u64;
        self.put(&key, bytes).await?;
        Ok(Some(Block {
            key: key.to_string(),
            level,
            min_time,
            max_time,
            profiles,
            bytes: size,
            sources: read.iter().map(ToString::to_string).collect(),
        }))
    }
}

/// Tries a job every compaction interval.
pub(crate) async fn run(inner: Arc<Inner>) {
    loop {
        tokio::time::sleep(inner.options.compaction_interval).await;
        if let Err(e) = inner.compact_once().await {
            inner.metrics.compaction_failures.inc();
            tracing::warn!("compaction: {}", brasa_profile::error_chain(&e));
        }
    }
}

fn millis(d: Duration) -> u64 {
    d.as_millis().min(u128::from(u64::MAX)) as u64
}

fn last_modified(object: &object_store::ObjectMeta) -> u64 {
    u64::try_from(object.last_modified.timestamp_millis()).unwrap_or(0)
}
