//! Loading, caching and persisting the per-series symbol tables.
//!
//! The records one ingest sees for the first time are written together as
//! one chunk ([`crate::records::ChunkEntry`]), so a new series costs a few
//! sled entries, not one per string and location.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, PoisonError},
};

use brasa_profile::Profile;

use crate::{
    blob::Reduced,
    keys::{self, ChunkKey},
    symbols::SymbolTable,
    Result, Tree,
};

/// Heap bytes a loaded table takes per byte of its stored chunks, an
/// estimate: every record is held twice (by id and in the map that
/// interns it), decoded ids take 4 bytes against 1-2 stored, and each
/// record with a list (a stack's locations) is an allocation of its own.
/// Checked against the RSS of `benches/server/query_memory.sh`.
const HEAP_PER_CHUNK_BYTE: usize = 8;

/// A series' table and the number of its next chunk.
#[derive(Default)]
pub(crate) struct SeriesSymbols {
    pub(crate) table: SymbolTable,
    next_chunk: u32,
}

/// A series' symbols, shared by ingests and queries.
pub(crate) type Shared = Arc<Mutex<SeriesSymbols>>;

/// The loaded tables, least recently used first out once they hold more
/// than their share of the memory budget.
#[derive(Default)]
struct Loaded {
    tables: HashMap<u64, Entry>,
    /// Estimated heap bytes of all of them.
    bytes: usize,
    /// Ticks at every use, for least-recently-used eviction.
    clock: u64,
}

struct Entry {
    table: Shared,
    bytes: usize,
    used: u64,
}

pub(crate) struct Tables {
    tree: Tree,
    loaded: Mutex<Loaded>,
    /// Most estimated bytes the loaded tables hold while none is in use.
    limit: usize,
}

impl Tables {
    /// Tables read from `tree`, holding about `limit` bytes loaded.
    pub(crate) fn new(tree: Tree, limit: u64) -> Self {
        Self {
            tree,
            loaded: Mutex::default(),
            limit: usize::try_from(limit).unwrap_or(usize::MAX),
        }
    }

    /// Estimated heap bytes of the loaded tables.
    pub(crate) fn loaded_bytes(&self) -> usize {
        self.lock().bytes
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Loaded> {
        self.loaded.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The table of `series`, read from disk unless it is loaded. Loading
    /// one evicts the least recently used tables that nobody holds while
    /// the loaded ones are over the limit: a table in use (by a merge or
    /// an ingest) is never dropped, so it is never loaded twice.
    pub(crate) fn get(&self, series: u64) -> Result<Shared> {
        {
            let mut loaded = self.lock();
            loaded.clock += 1;
            let now = loaded.clock;
            if let Some(entry) = loaded.tables.get_mut(&series) {
                entry.used = now;
                return Ok(entry.table.clone());
            }
        }
        let mut table = SeriesSymbols::default();
        let mut chunk_bytes = 0;
        for entry in self.tree.scan_prefix(keys::series_id(series)) {
            let (key, value) = entry?;
            let chunk = ChunkKey::decode(&key)?.chunk;
            table.table.restore_chunk(&value)?;
            table.next_chunk = chunk.saturating_add(1);
            chunk_bytes += value.len();
        }
        let bytes = chunk_bytes * HEAP_PER_CHUNK_BYTE;
        let mut loaded = self.lock();
        let now = loaded.clock;
        // Another thread may have loaded it meanwhile: keep the first.
        if let Some(entry) = loaded.tables.get(&series) {
            return Ok(entry.table.clone());
        }
        let shared = Arc::new(Mutex::new(table));
        loaded.tables.insert(
            series,
            Entry {
                table: shared.clone(),
                bytes,
                used: now,
            },
        );
        loaded.bytes += bytes;
        self.evict(&mut loaded);
        Ok(shared)
    }

    /// Drops unused tables until the loaded ones fit the limit: for when
    /// a merge let go of the tables it held.
    pub(crate) fn trim(&self) {
        self.evict(&mut self.lock());
    }

    /// Drops unused tables, least recently used first, until the loaded
    /// ones fit the limit or every one left is in use.
    fn evict(&self, loaded: &mut Loaded) {
        while loaded.bytes > self.limit {
            let unused = loaded
                .tables
                .iter()
                .filter(|(_, e)| Arc::strong_count(&e.table) == 1)
                .min_by_key(|(_, e)| e.used)
                .map(|(&series, _)| series);
            let Some(series) = unused else { break };
            if let Some(entry) = loaded.tables.remove(&series) {
                loaded.bytes -= entry.bytes;
            }
        }
    }

    /// Counts `chunk` more bytes in the loaded table of `series`.
    fn grew(&self, series: u64, chunk: usize) {
        let mut loaded = self.lock();
        let bytes = chunk * HEAP_PER_CHUNK_BYTE;
        if let Some(entry) = loaded.tables.get_mut(&series) {
            entry.bytes += bytes;
            loaded.bytes += bytes;
        }
    }

    /// Reduces `profile` to ids in the table of `series`, writing records
    /// seen for the first time (before the caller writes the profile, so a
    /// stored profile never refers to a record that is not stored).
    pub(crate) fn reduce(&self, series: u64, profile: &Profile) -> Result<Reduced> {
        let shared = self.get(series)?;
        let mut symbols = shared.lock().unwrap_or_else(PoisonError::into_inner);
        let mut new = Vec::new();
        let reduced = symbols.table.reduce(profile, &mut new);
        if !new.is_empty() {
            let chunk = symbols.table.chunk(&new);
            let key = ChunkKey {
                series,
                chunk: symbols.next_chunk,
            };
            let len = chunk.len();
            self.tree.insert(key.encode(), chunk)?;
            symbols.next_chunk += 1;
            drop(symbols);
            self.grew(series, len);
        }
        Ok(reduced)
    }
}
