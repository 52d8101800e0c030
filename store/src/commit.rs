//! Group commit: many writers wait for durability, one fsync serves them all.
//!
//! A writer that wants its inserts durable takes a ticket (the write
//! sequence number after its inserts) and waits until a flush that started
//! after that point has finished. Whoever finds no flush running becomes
//! the flusher for everyone waiting; writers that arrive during a flush
//! are served by the next one. Under load, one `fsync` acknowledges a whole
//! batch of ingests instead of one each.

use std::sync::{
    atomic::{AtomicU64, Ordering},
    Condvar, Mutex, PoisonError,
};

#[derive(Debug, Default)]
struct State {
    /// Every write with a ticket at or below this is durable.
    durable: u64,
    /// A flush is running.
    flushing: bool,
}

/// See the module docs.
#[derive(Debug, Default)]
pub(crate) struct GroupCommit {
    written: AtomicU64,
    state: Mutex<State>,
    done: Condvar,
    flushes: AtomicU64,
}

impl GroupCommit {
    /// Records that a write happened; returns its ticket.
    pub(crate) fn wrote(&self) -> u64 {
        self.written.fetch_add(1, Ordering::SeqCst) + 1
    }

    /// How many flushes ran so far (for metrics and tests).
    pub(crate) fn flushes(&self) -> u64 {
        self.flushes.load(Ordering::Relaxed)
    }

    /// Blocks until every write up to `ticket` is durable, running `flush`
    /// on behalf of all waiters when no one else is.
    pub(crate) fn wait(
        &self,
        ticket: u64,
        flush: impl Fn() -> std::io::Result<()>,
    ) -> std::io::Result<()> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            if state.durable >= ticket {
                return Ok(());
            }
            if !state.flushing {
                break;
            }
            state = self
                .done
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
        state.flushing = true;
        // Everything written before the flush starts is covered by it.
        let covers = self.written.load(Ordering::SeqCst);
        drop(state);
        let result = flush();
        self.flushes.fetch_add(1, Ordering::Relaxed);
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.flushing = false;
        if result.is_ok() {
            state.durable = state.durable.max(covers);
        }
        self.done.notify_all();
        result
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{atomic::AtomicUsize, Arc};

    use super::*;

    #[test]
    fn one_flush_serves_concurrent_writers() {
        let commit = Arc::new(GroupCommit::default());
        let flushed_calls = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let commit = commit.clone();
                let calls = flushed_calls.clone();
                std::thread::spawn(move || {
                    for _ in 0..50 {
                        let ticket = commit.wrote();
                        commit
                            .wait(ticket, || {
                                calls.fetch_add(1, Ordering::SeqCst);
                                std::thread::sleep(std::time::Duration::from_millis(1));
                                Ok(())
                            })
                            .unwrap();
                        assert!(commit.state.lock().unwrap().durable >= ticket);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let calls = flushed_calls.load(Ordering::SeqCst);
        assert!((1..400).contains(&calls), "flushes: {calls}");
        assert_eq!(commit.flushes() as usize, calls);
    }

    #[test]
    fn a_failed_flush_is_reported_and_not_counted_durable() {
        let commit = GroupCommit::default();
        let ticket = commit.wrote();
        let err = commit.wait(ticket, || Err(std::io::Error::other("disk full")));
        assert!(err.is_err());
        assert_eq!(commit.state.lock().unwrap().durable, 0);
        commit.wait(ticket, || Ok(())).unwrap();
        assert_eq!(commit.state.lock().unwrap().durable, ticket);
    }
}
