//! Admission control, applied by the router's middleware: ingest and
//! queries each get a bounded number of requests at work and a bounded
//! queue in front of it. A request that
//! finds the queue full, or waits in it past its limit, is answered 429
//! with `Retry-After` at once (its body read and dropped, not decoded, so
//! the client gets to read the answer), so an overloaded server stays
//! quick to say so instead of timing clients out; nothing it accepted is
//! ever dropped.
//!
//! Ingest also holds a CPU permit while it decodes and encodes (not while
//! it waits for its group commit), one core fewer than the machine has, so
//! a saturated ingest path always leaves a core to queries.

use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::{Semaphore, SemaphorePermit};

use crate::limits::Lane;

/// The queue of one class of requests.
#[derive(Debug)]
pub(crate) struct Gate {
    what: &'static str,
    lane: Lane,
    permits: Semaphore,
    waiting: AtomicUsize,
}

/// Why a request was not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The queue was full.
    QueueFull,
    /// The request waited its whole `max_wait`.
    Waited,
}

impl Refusal {
    /// The reason, as errors and metrics say it.
    pub fn reason(self) -> &'static str {
        match self {
            Refusal::QueueFull => "queue full",
            Refusal::Waited => "waited too long for a turn",
        }
    }
}

impl Gate {
    pub(crate) fn new(what: &'static str, lane: Lane) -> Self {
        Self {
            what,
            lane,
            permits: Semaphore::new(lane.in_flight.max(1)),
            waiting: AtomicUsize::new(0),
        }
    }

    /// What the gate admits (`ingest`, `query`), for errors and metrics.
    pub(crate) fn what(&self) -> &'static str {
        self.what
    }

    /// A turn, or the reason there is none.
    pub(crate) async fn admit(&self) -> Result<SemaphorePermit<'_>, Refusal> {
        if let Ok(permit) = self.permits.try_acquire() {
            return Ok(permit);
        }
        // Count ourselves in the queue; over its bound, refuse at once.
        let ahead = self.waiting.fetch_add(1, Ordering::AcqRel);
        let _leave = Leave(&self.waiting);
        if ahead >= self.lane.queued {
            return Err(Refusal::QueueFull);
        }
        match tokio::time::timeout(self.lane.max_wait, self.permits.acquire()).await {
            Ok(Ok(permit)) => Ok(permit),
            // The semaphore is never closed; a timeout is the only way out.
            Ok(Err(_)) | Err(_) => Err(Refusal::Waited),
        }
    }
}

/// Leaves the queue when dropped, however the wait ends.
struct Leave<'a>(&'a AtomicUsize);

impl Drop for Leave<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// CPU permits for ingest: one core fewer than the machine has, at least one.
pub(crate) fn ingest_cpu_permits() -> usize {
    std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .saturating_sub(1)
        .max(1)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn lane(in_flight: usize, queued: usize, max_wait_ms: u64) -> Lane {
        Lane {
            in_flight,
            queued,
            max_wait: Duration::from_millis(max_wait_ms),
        }
    }

    #[tokio::test]
    async fn a_full_queue_refuses_at_once_and_a_freed_turn_admits() {
        let gate = Gate::new("ingest", lane(1, 1, 60_000));
        let first = gate.admit().await.unwrap();
        // One waits in the queue; the next finds it full.
        let waiter = gate.admit();
        tokio::pin!(waiter);
        assert!(
            futures_poll(&mut waiter).await.is_none(),
            "the second waits for a turn"
        );
        assert_eq!(gate.admit().await.unwrap_err(), Refusal::QueueFull);
        drop(first);
        assert!(waiter.await.is_ok(), "the freed turn goes to the waiter");
        assert_eq!(gate.waiting.load(Ordering::Acquire), 0);
    }

    #[tokio::test]
    async fn a_wait_past_its_limit_is_refused() {
        let gate = Gate::new("query", lane(1, 8, 50));
        let _busy = gate.admit().await.unwrap();
        assert_eq!(gate.admit().await.unwrap_err(), Refusal::Waited);
        assert_eq!(gate.waiting.load(Ordering::Acquire), 0);
    }

    /// Polls `future` once: its output if it is ready.
    async fn futures_poll<F: std::future::Future + Unpin>(future: &mut F) -> Option<F::Output> {
        std::future::poll_fn(|cx| {
            std::task::Poll::Ready(match std::pin::Pin::new(&mut *future).poll(cx) {
                std::task::Poll::Ready(v) => Some(v),
                std::task::Poll::Pending => None,
            })
        })
        .await
    }
}
