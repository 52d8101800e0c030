//! The write path: pushes gathered into one segment per flush, written to
//! the bucket one after the other, and acknowledged once written.

use std::{
    sync::{Arc, Mutex, PoisonError},
    time::Instant,
};

use brasa_store::pack::{PackWriter, Packed};
use tokio::sync::{oneshot, Notify};

use crate::{apply, Error, Inner, Result};

type Waiter = oneshot::Sender<Result<(), Arc<Error>>>;

/// Pushes waiting for the next segment.
#[derive(Default)]
pub(crate) struct Writer {
    batch: Mutex<Batch>,
    wake: Notify,
}

#[derive(Default)]
struct Batch {
    profiles: Vec<Packed>,
    waiters: Vec<Waiter>,
    /// The highest segment number written so far.
    last_written: Option<u64>,
}

impl Writer {
    fn lock(&self) -> std::sync::MutexGuard<'_, Batch> {
        self.batch.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The highest segment number this server has written.
    pub(crate) fn last_written(&self) -> Option<u64> {
        self.lock().last_written
    }
}

impl Inner {
    pub(crate) async fn append(&self, profiles: Vec<Packed>) -> Result<()> {
        if profiles.is_empty() {
            return Ok(());
        }
        let (tx, rx) = oneshot::channel();
        {
            let mut batch = self.writer.lock();
            batch.profiles.extend(profiles);
            batch.waiters.push(tx);
        }
        self.writer.wake.notify_one();
        rx.await
            .map_err(|_| Error::Internal("the segment writer stopped".to_owned()))?
            .map_err(Error::NotDurable)
    }

    /// Writes segment `seq` of this server with `profiles`, then puts them
    /// in the local store.
    async fn write_segment(&self, seq: u64, profiles: Vec<Packed>) -> Result<()> {
        let started = Instant::now();
        let (bytes, profiles) = tokio::task::spawn_blocking(move || {
            let mut pack = PackWriter::new();
            for p in &profiles {
                pack.add(&p.labels, &p.profile, p.time_nanos);
            }
            pack.finish().map(|bytes| (bytes, profiles))
        })
        .await
        .map_err(|e| Error::Internal(e.to_string()))??;
        let key = self.layout.segment(&self.me, seq);
        let len = bytes.len() as u64;
        if let Err(e) = self.put(&key, bytes).await {
            self.metrics.segment_upload_failures.inc();
            return Err(e);
        }
        self.metrics.segment_uploads.inc();
        self.metrics.segment_bytes.inc_by(len);
        self.metrics
            .segment_upload_seconds
            .observe(started.elapsed().as_secs_f64());
        self.follower().applied.insert(key.to_string());
        self.writer.lock().last_written = Some(seq);
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || apply(&store, &profiles))
            .await
            .map_err(|e| Error::Internal(e.to_string()))?
    }
}

/// Writes a segment whenever pushes wait, at most one every flush interval
/// and one at a time.
pub(crate) async fn run(inner: Arc<Inner>) {
    // A new writer id per process: segment numbers start again at 0.
    let mut seq = 0u64;
    loop {
        inner.writer.wake.notified().await;
        tokio::time::sleep(inner.options.flush_interval).await;
        let (profiles, waiters) = {
            let mut batch = inner.writer.lock();
            (
                std::mem::take(&mut batch.profiles),
                std::mem::take(&mut batch.waiters),
            )
        };
        if waiters.is_empty() {
            continue;
        }
        let result = inner.write_segment(seq, profiles).await.map_err(Arc::new);
        if let Err(e) = &result {
            tracing::warn!("segment {seq}: {}", brasa_profile::error_chain(e.as_ref()));
        }
        // A number is never used twice, even after a failed upload: the
        // upload may have reached the bucket anyway.
        seq += 1;
        for waiter in waiters {
            let _ = waiter.send(result.clone());
        }
    }
}
