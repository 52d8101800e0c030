//! Unwind tables for the BPF sampler: which binaries' tables are loaded
//! where, and which mappings of which process they cover.
//!
//! The sampler walks the user stacks of a process with tables once the
//! process has an entry in the `unwind_processes` map: its executable
//! mappings, sorted by address, each with its load bias and the run of rows
//! of its binary's table in the `unwind_rows` map. `Unwinder` keeps both
//! maps up to date:
//!
//! - A table is built (`brasa_symbolizer::unwind`) once per binary (build
//!   id, else path and size) and shared by every process that maps it
//!   (`table_cache`).
//! - Rows live in one fixed-size region (`row_space`), so the kernel
//!   memory tables use is bounded. When a new table does not fit, tables no
//!   live process uses are evicted, least recently used first; a table that
//!   still does not fit is not loaded and its mappings fall back to frame
//!   pointers.
//! - A process is (re)read when it is first sampled, execs, or runs code
//!   outside its known mappings (a library loaded with `dlopen`, on the
//!   schedule of `refresh`); a fork copies its parent's entry. Exited
//!   processes release their tables.
//! - The maps themselves, and the memory of the rows map, are
//!   `kernel_maps`'s; the layout of an entry is the skeleton's
//!   (`entries`).
//!
//! Anonymous executable mappings (JIT code) and binaries without call frame
//! information are listed with no rows: the program walks them by frame
//! pointer rather than asking for a refresh at every sample.

mod entries;
mod kernel_maps;
mod refresh;
mod row_space;
mod table_cache;
mod unwinder;
mod vdso;

use brasa_symbolizer::unwind::ROW_SIZE;

pub use entries::MAX_PROCESS_MAPPINGS;
pub(crate) use kernel_maps::KernelTables;

/// Bytes of kernel memory one row takes.
pub const ROW_BYTES: u32 = ROW_SIZE as u32;
/// Default kernel memory for rows, in MiB (`--unwind-memory`).
pub const DEFAULT_TABLE_MIB: u32 = 12;
/// Default room for rows: [`DEFAULT_TABLE_MIB`] of 12-byte rows, 2^20 rows.
pub const DEFAULT_TABLE_ROWS: u32 = rows_in_mib(DEFAULT_TABLE_MIB);

/// Rows that `mib` MiB of kernel memory hold.
pub const fn rows_in_mib(mib: u32) -> u32 {
    mib * (1 << 20) / ROW_BYTES
}

/// How the unwinder is doing, for metrics and benchmarks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UnwindStats {
    /// Processes with an entry.
    pub processes: usize,
    /// Tables loaded.
    pub tables: usize,
    /// Rows those tables use.
    pub rows_used: u64,
    /// Room for rows.
    pub rows_capacity: u64,
    /// Tables built since start.
    pub tables_built: u64,
    /// Tables evicted to make room.
    pub tables_evicted: u64,
    /// Binaries whose table could not be built or did not fit.
    pub tables_failed: u64,
    /// Mappings left out because a process had more than
    /// [`MAX_PROCESS_MAPPINGS`].
    pub mappings_dropped: u64,
    /// Process entries the kernel did not take (the processes map full):
    /// those processes are walked by frame pointer.
    pub entry_failures: u64,
}

impl UnwindStats {
    /// Kernel memory the loaded rows use.
    pub fn table_bytes(&self) -> u64 {
        self.rows_used * u64::from(ROW_BYTES)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_room_is_twelve_mib_of_rows() {
        assert_eq!(DEFAULT_TABLE_ROWS, 1 << 20);
        assert_eq!(ROW_BYTES, 12);
    }
}
