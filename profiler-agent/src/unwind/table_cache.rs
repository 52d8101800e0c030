//! Loaded tables: one per binary, shared by every process that maps it,
//! evicted least recently used first when a new one needs the room.

use std::{
    collections::{HashMap, HashSet},
    path::Path,
};

use brasa_symbolizer::{
    addr::CodeSegment,
    process::Mapping,
    unwind::{build_from_bytes, build_from_path, UnwindTable},
};

use super::{
    row_space::{RowSpace, RowStore},
    vdso::own_vdso,
};

/// Largest table the program can search (`MAX_TABLE_SEARCH_STEPS` = 24).
const MAX_ROWS_PER_TABLE: u32 = 1 << 24;

/// Which binary a table belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum TableKey {
    BuildId(String),
    File { path: String, size: u64 },
    Vdso,
}

impl TableKey {
    /// The binary of a mapping; `None` for anonymous memory.
    pub fn of(mapping: &Mapping) -> Option<Self> {
        if mapping.path == "[vdso]" {
            return Some(Self::Vdso);
        }
        let file = mapping.file.as_ref()?;
        Some(match &file.build_id {
            Some(id) => Self::BuildId(id.clone()),
            None => Self::File {
                path: mapping.path.clone(),
                size: file.size(),
            },
        })
    }
}

/// A loaded table.
#[derive(Debug)]
pub(crate) struct Slot {
    pub start: u32,
    pub rows: u32,
    pub code: Vec<CodeSegment>,
    /// Processes whose entry points at it.
    users: u32,
    /// When the last user let go (a tick of [`TableCache::clock`]).
    released: u64,
}

/// What the cache has done since start.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct CacheCounts {
    pub built: u64,
    pub evicted: u64,
    pub failed: u64,
}

/// The loaded tables and the room they live in.
#[derive(Debug)]
pub(crate) struct TableCache {
    space: RowSpace,
    slots: HashMap<TableKey, Slot>,
    /// Binaries without a usable table: not tried again.
    unusable: HashSet<TableKey>,
    clock: u64,
    counts: CacheCounts,
}

impl TableCache {
    /// An empty cache over `capacity` rows.
    pub fn new(capacity: u32) -> Self {
        Self {
            space: RowSpace::new(capacity),
            slots: HashMap::new(),
            unusable: HashSet::new(),
            clock: 0,
            counts: CacheCounts::default(),
        }
    }

    /// Tables loaded.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Rows the loaded tables use.
    pub fn rows_used(&self) -> u64 {
        self.slots.values().map(|s| u64::from(s.rows)).sum()
    }

    /// Users of all loaded tables together.
    #[cfg(test)]
    pub fn users(&self) -> u32 {
        self.slots.values().map(|s| s.users).sum()
    }

    /// Tables built, evicted, and binaries without a usable table.
    pub fn counts(&self) -> CacheCounts {
        self.counts
    }

    /// The slot of `key`, loading its table when needed, with one more
    /// user; `None` when the binary has no usable table.
    pub fn acquire(
        &mut self,
        key: &TableKey,
        mapping: &Mapping,
        rows: &mut dyn RowStore,
    ) -> Option<&Slot> {
        if self.unusable.contains(key) {
            return None;
        }
        if !self.slots.contains_key(key) {
            let slot = build_table(key, mapping).and_then(|table| {
                self.counts.built += 1;
                self.load(&table, rows)
            });
            let Some(slot) = slot else {
                self.counts.failed += 1;
                self.unusable.insert(key.clone());
                return None;
            };
            self.slots.insert(key.clone(), slot);
        }
        let slot = self.slots.get_mut(key)?;
        slot.users += 1;
        Some(slot)
    }

    /// One more user of each loaded table of `keys` (a forked process).
    pub fn share(&mut self, keys: &[TableKey]) {
        for key in keys {
            if let Some(slot) = self.slots.get_mut(key) {
                slot.users += 1;
            }
        }
    }

    /// One user less of each table of `keys`.
    pub fn release(&mut self, keys: &[TableKey]) {
        self.clock += 1;
        for key in keys {
            if let Some(slot) = self.slots.get_mut(key) {
                slot.users = slot.users.saturating_sub(1);
                if slot.users == 0 {
                    slot.released = self.clock;
                }
            }
        }
    }

    /// Writes a table's rows into free room, evicting unused tables when
    /// needed.
    fn load(&mut self, table: &UnwindTable, rows: &mut dyn RowStore) -> Option<Slot> {
        let count = u32::try_from(table.rows().len()).ok()?;
        let start = self.make_room(count, rows)?;
        rows.write(start, &table.to_bytes());
        Some(Slot {
            start,
            rows: count,
            code: table.code_segments().to_vec(),
            users: 0,
            released: self.clock,
        })
    }

    /// Room for `count` rows, evicting unused tables when needed (and then
    /// telling the store that remembered rules are stale).
    fn make_room(&mut self, count: u32, rows: &mut dyn RowStore) -> Option<u32> {
        if count == 0 || count > MAX_ROWS_PER_TABLE || count > self.space.capacity() {
            return None;
        }
        let mut evicted = false;
        let start = loop {
            if let Some(start) = self.space.allocate(count) {
                break Some(start);
            }
            if self.evict_one().is_none() {
                break None;
            }
            evicted = true;
        };
        if evicted {
            rows.invalidate();
        }
        start
    }

    /// Evicts the least recently used table nobody uses; `None` if none.
    fn evict_one(&mut self) -> Option<()> {
        let key = self
            .slots
            .iter()
            .filter(|(_, slot)| slot.users == 0)
            .min_by_key(|(_, slot)| slot.released)
            .map(|(key, _)| key.clone())?;
        let slot = self.slots.remove(&key)?;
        self.space.deallocate(slot.start, slot.rows);
        self.counts.evicted += 1;
        Some(())
    }
}

fn build_table(key: &TableKey, mapping: &Mapping) -> Option<UnwindTable> {
    let built = match key {
        TableKey::Vdso => build_from_bytes(&own_vdso().ok()?, Path::new("[vdso]")).ok()?,
        _ => build_from_path(mapping.file.as_ref()?.read_path()).ok()?,
    };
    Some(built.table)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A store that only counts invalidations.
    #[derive(Default)]
    struct Nowhere(u32);

    impl RowStore for Nowhere {
        fn capacity(&self) -> u32 {
            u32::MAX
        }
        fn write(&mut self, _: u32, _: &[u8]) {}
        fn invalidate(&mut self) {
            self.0 += 1;
        }
    }

    /// A synthetic table of `rows` rows, in use, or `None` when it does
    /// not fit.
    fn load(
        cache: &mut TableCache,
        store: &mut Nowhere,
        name: &str,
        rows: u32,
    ) -> Option<TableKey> {
        let start = cache.make_room(rows, store)?;
        let key = TableKey::File {
            path: name.into(),
            size: 0,
        };
        let slot = Slot {
            start,
            rows,
            code: Vec::new(),
            users: 1,
            released: 0,
        };
        cache.slots.insert(key.clone(), slot);
        Some(key)
    }

    /// Room is reused, unused tables are evicted least recently used
    /// first, used ones never.
    #[test]
    fn eviction_takes_only_unused_tables_oldest_first() {
        let mut cache = TableCache::new(100);
        let store = &mut Nowhere::default();
        let a = load(&mut cache, store, "a", 40).unwrap();
        let b = load(&mut cache, store, "b", 40).unwrap();
        assert!(
            load(&mut cache, store, "c", 40).is_none(),
            "a and b are in use"
        );
        cache.release(std::slice::from_ref(&b));
        cache.release(std::slice::from_ref(&a));
        // b was released first: it goes, a stays.
        let c = load(&mut cache, store, "c", 40).unwrap();
        assert!(cache.slots.contains_key(&a) && !cache.slots.contains_key(&b));
        assert_eq!(cache.slots[&c].start, 40);
        assert_eq!(store.0, 1, "rules of the evicted table are stale");
        // Freed runs coalesce: with everything released, one table of the
        // whole capacity fits.
        cache.release(&[a, c]);
        assert!(load(&mut cache, store, "whole", 100).is_some());
        assert_eq!(cache.counts().evicted, 3);
        assert!(load(&mut cache, store, "more", 101).is_none());
    }
}
