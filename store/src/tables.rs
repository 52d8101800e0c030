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

/// A series' table and the number of its next chunk.
#[derive(Default)]
pub(crate) struct SeriesSymbols {
    pub(crate) table: SymbolTable,
    next_chunk: u32,
}

/// A series' symbols, shared by ingests and queries.
pub(crate) type Shared = Arc<Mutex<SeriesSymbols>>;

pub(crate) struct Tables {
    tree: Tree,
    loaded: Mutex<HashMap<u64, Shared>>,
}

impl Tables {
    pub(crate) fn new(tree: Tree) -> Self {
        Self {
            tree,
            loaded: Mutex::default(),
        }
    }

    /// The table of `series`, read from disk on first use.
    pub(crate) fn get(&self, series: u64) -> Result<Shared> {
        if let Some(table) = self
            .loaded
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&series)
        {
            return Ok(table.clone());
        }
        let mut table = SeriesSymbols::default();
        for entry in self.tree.scan_prefix(keys::series_id(series)) {
            let (key, value) = entry?;
            let chunk = ChunkKey::decode(&key)?.chunk;
            table.table.restore_chunk(&value)?;
            table.next_chunk = chunk.saturating_add(1);
        }
        let mut loaded = self.loaded.lock().unwrap_or_else(PoisonError::into_inner);
        // Another thread may have loaded it meanwhile: keep the first.
        Ok(loaded
            .entry(series)
            .or_insert_with(|| Arc::new(Mutex::new(table)))
            .clone())
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
            self.tree.insert(key.encode(), chunk)?;
            symbols.next_chunk += 1;
        }
        Ok(reduced)
    }
}
