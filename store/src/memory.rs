//! The server's memory budget, and the share of it each consumer gets.
//!
//! One number, [`StoreOptions::memory_budget`], bounds what the server
//! holds on purpose: an eighth for sled's cache, an eighth for the symbol
//! tables of the series last ingested or queried, a quarter for the
//! merges of running queries. The other half is headroom: sled's own
//! structures beside its cache, the program, its threads' stacks, the
//! allocator's slack, what the estimates of tables and merges miss, and
//! ingest requests being decoded (which `brasa-web` bounds by count and
//! size, not by this budget). Tables past their share are dropped, least recently used
//! first, once nothing uses them, and read from disk again when needed. A
//! query whose merge would take more than the query share fails
//! ([`crate::Error::QueryMemory`] when it alone is too big,
//! [`crate::Error::QueryMemoryBusy`] while other queries hold the rest)
//! instead of growing the process. When the last query gives its memory
//! back, the allocator is asked to return freed pages to the system, so
//! the process shrinks again after a big query.
//!
//! [`StoreOptions::memory_budget`]: crate::StoreOptions::memory_budget

use std::sync::{
    atomic::{AtomicUsize, Ordering},
    Arc,
};

use crate::{Error, Result};

/// Default memory budget of a server: 1 GiB.
pub const DEFAULT_MEMORY_BUDGET: u64 = 1 << 30;

/// The shares of a budget, in eighths: sled's cache, symbol tables,
/// running queries; the remaining half is headroom. Measured with
/// `benches/server/query_memory.sh 1000 5 4`: with three quarters
/// accounted, the peak RSS went 4-9% past the budget.
const CACHE_EIGHTHS: u64 = 1;
const TABLE_EIGHTHS: u64 = 1;
const QUERY_EIGHTHS: u64 = 2;

/// How a memory budget is divided. See the module docs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryShares {
    /// sled's page cache.
    pub cache: u64,
    /// The symbol tables kept loaded.
    pub tables: u64,
    /// What all running queries' merges may hold together.
    pub queries: u64,
}

impl MemoryShares {
    /// The shares of `budget` bytes.
    pub fn of(budget: u64) -> Self {
        Self {
            cache: budget / 8 * CACHE_EIGHTHS,
            tables: budget / 8 * TABLE_EIGHTHS,
            queries: budget / 8 * QUERY_EIGHTHS,
        }
    }
}

/// Bytes that many holders draw from together, never more than its limit.
#[derive(Debug)]
pub struct MemoryPool {
    limit: usize,
    used: AtomicUsize,
}

impl MemoryPool {
    /// A pool of `limit` bytes.
    pub fn new(limit: u64) -> Arc<Self> {
        Arc::new(Self {
            limit: usize::try_from(limit).unwrap_or(usize::MAX),
            used: AtomicUsize::new(0),
        })
    }

    /// The pool's size.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Bytes held now.
    pub fn used(&self) -> usize {
        self.used.load(Ordering::Relaxed)
    }

    /// Takes `bytes` if that keeps the pool within its limit.
    fn take(&self, bytes: usize) -> bool {
        self.used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                used.checked_add(bytes).filter(|&u| u <= self.limit)
            })
            .is_ok()
    }

    fn give_back(&self, bytes: usize) {
        if bytes > 0 && self.used.fetch_sub(bytes, Ordering::AcqRel) == bytes {
            return_freed_memory();
        }
    }
}

/// Asks the allocator to hand freed memory back to the system: glibc
/// keeps what a merge freed in its arenas (one per thread that allocated)
/// otherwise, and the process stays as big as its biggest query.
fn return_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only walks the allocator's own free lists.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// What one holder has taken from a [`MemoryPool`]; given back when
/// dropped. The default one holds nothing of no pool.
#[derive(Debug, Default)]
pub struct MemoryHold {
    pool: Option<Arc<MemoryPool>>,
    bytes: usize,
}

impl MemoryHold {
    /// An empty hold on `pool`.
    pub fn new(pool: &Arc<MemoryPool>) -> Self {
        Self {
            pool: Some(Arc::clone(pool)),
            bytes: 0,
        }
    }

    /// Bytes held.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Holds `bytes` from now on, taking or giving back the difference.
    /// Fails, holding what it held, when the pool cannot give that much:
    /// with [`Error::QueryMemory`] when `bytes` exceeds the whole pool,
    /// [`Error::QueryMemoryBusy`] when other holders have the rest.
    pub fn resize(&mut self, bytes: usize) -> Result<()> {
        let Some(pool) = &self.pool else {
            return Ok(());
        };
        if bytes <= self.bytes {
            pool.give_back(self.bytes - bytes);
        } else if !pool.take(bytes - self.bytes) {
            if bytes > pool.limit {
                return Err(Error::QueryMemory {
                    limit: pool.limit as u64,
                });
            }
            return Err(Error::QueryMemoryBusy {
                limit: pool.limit as u64,
            });
        }
        self.bytes = bytes;
        Ok(())
    }
}

impl Drop for MemoryHold {
    fn drop(&mut self) {
        if let Some(pool) = &self.pool {
            pool.give_back(self.bytes);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_share_a_pool_and_give_back_when_dropped() {
        let pool = MemoryPool::new(100);
        let mut a = MemoryHold::new(&pool);
        let mut b = MemoryHold::new(&pool);
        a.resize(60).unwrap();
        assert!(matches!(
            b.resize(50),
            Err(Error::QueryMemoryBusy { limit: 100 })
        ));
        assert_eq!(b.bytes(), 0);
        let error = b.resize(101).unwrap_err().to_string();
        assert!(error.contains("100 bytes of memory"), "{error}");
        a.resize(10).unwrap();
        b.resize(90).unwrap();
        assert_eq!(pool.used(), 100);
        drop(a);
        drop(b);
        assert_eq!(pool.used(), 0);
    }

    #[test]
    fn shares_stay_within_the_budget() {
        let s = MemoryShares::of(DEFAULT_MEMORY_BUDGET);
        assert!(s.cache + s.tables + s.queries < DEFAULT_MEMORY_BUDGET);
        assert_eq!(
            (s.cache, s.tables, s.queries),
            (128 << 20, 128 << 20, 256 << 20)
        );
    }
}
