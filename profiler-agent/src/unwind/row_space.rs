//! The room for rows: which runs of the rows map are free, and where rows
//! are written.

use std::collections::BTreeMap;

use brasa_symbolizer::unwind::ROW_SIZE;

/// Where rows are written: the memory-mapped BPF array, or a buffer in tests.
pub(crate) trait RowStore {
    /// Rows the store holds.
    fn capacity(&self) -> u32;
    /// Writes `bytes` (whole rows) from row `start` on.
    fn write(&mut self, start: u32, bytes: &[u8]);
    /// Called after tables were evicted and before their rows are
    /// overwritten: rules the program remembers from them are stale.
    fn invalidate(&mut self);
}

/// Bytes that `rows` rows take in the store.
pub(crate) fn rows_bytes(rows: u32) -> usize {
    rows as usize * ROW_SIZE
}

/// Free runs of rows, first fit, coalesced when freed.
#[derive(Debug)]
pub(crate) struct RowSpace {
    /// Start -> length.
    free: BTreeMap<u32, u32>,
    capacity: u32,
}

impl RowSpace {
    /// All of `capacity` rows free.
    pub fn new(capacity: u32) -> Self {
        let mut free = BTreeMap::new();
        if capacity > 0 {
            free.insert(0, capacity);
        }
        Self { free, capacity }
    }

    /// Rows in all.
    pub fn capacity(&self) -> u32 {
        self.capacity
    }

    /// The start of a free run of `count` rows, now taken.
    pub fn allocate(&mut self, count: u32) -> Option<u32> {
        let (&start, &len) = self.free.iter().find(|(_, &len)| len >= count)?;
        self.free.remove(&start);
        if len > count {
            self.free.insert(start + count, len - count);
        }
        Some(start)
    }

    /// Gives a run back, merged with its free neighbours.
    pub fn deallocate(&mut self, start: u32, count: u32) {
        let (mut start, mut count) = (start, count);
        if let Some((&before, &len)) = self.free.range(..start).next_back() {
            if before + len == start {
                self.free.remove(&before);
                start = before;
                count += len;
            }
        }
        if let Some(&len) = self.free.get(&(start + count)) {
            self.free.remove(&(start + count));
            count += len;
        }
        self.free.insert(start, count);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn freed_runs_coalesce() {
        let mut space = RowSpace::new(100);
        let a = space.allocate(30).unwrap();
        let b = space.allocate(30).unwrap();
        let c = space.allocate(40).unwrap();
        assert_eq!((a, b, c), (0, 30, 60));
        assert_eq!(space.allocate(1), None);
        space.deallocate(a, 30);
        space.deallocate(c, 40);
        assert_eq!(space.allocate(40), Some(60), "first fit");
        space.deallocate(60, 40);
        space.deallocate(b, 30);
        assert_eq!(space.allocate(100), Some(0), "one run again");
    }
}
