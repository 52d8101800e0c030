//! [`Unwinder`]: the entry of each process with the tables it needs.

use std::collections::HashMap;

use brasa_symbolizer::{
    addr::LoadBias,
    process::{FileCache, ProcessMaps},
};

use super::{
    entries::{entry, without_table, ExecMapping, ProcessEntries, MAX_PROCESS_MAPPINGS},
    refresh::{Pending, Schedule},
    row_space::RowStore,
    table_cache::{TableCache, TableKey},
    UnwindStats,
};
use crate::{processes::process_exists, Result};

/// What is known of a process with an entry.
#[derive(Debug)]
struct ProcessState {
    mappings: Vec<ExecMapping>,
    tables: Vec<TableKey>,
    refresh: Schedule,
}

/// Tables and process entries for the sampler (see the module docs).
#[derive(Debug)]
pub(crate) struct Unwinder {
    tables: TableCache,
    capacity: u32,
    processes: HashMap<u32, ProcessState>,
    /// Refreshes asked for and not yet due.
    pending: Pending,
    files: FileCache,
    mappings_dropped: u64,
    entry_failures: u64,
}

impl Unwinder {
    /// An unwinder whose rows go to a store of `capacity` rows.
    pub fn new(capacity: u32) -> Self {
        Self {
            tables: TableCache::new(capacity),
            capacity,
            processes: HashMap::new(),
            pending: Pending::default(),
            files: FileCache::default(),
            mappings_dropped: 0,
            entry_failures: 0,
        }
    }

    /// Counters and sizes.
    pub fn stats(&self) -> UnwindStats {
        let counts = self.tables.counts();
        UnwindStats {
            processes: self.processes.len(),
            tables: self.tables.len(),
            rows_used: self.tables.rows_used(),
            rows_capacity: u64::from(self.capacity),
            tables_built: counts.built,
            tables_evicted: counts.evicted,
            tables_failed: counts.failed,
            mappings_dropped: self.mappings_dropped,
            entry_failures: self.entry_failures,
        }
    }

    /// Reads the process's mappings and writes its entry, loading the
    /// tables it needs. A process that is gone is forgotten.
    pub fn install(
        &mut self,
        pid: u32,
        rows: &mut dyn RowStore,
        entries: &mut dyn ProcessEntries,
    ) -> Result<()> {
        self.pending.remove(pid);
        let Ok(maps) = ProcessMaps::snapshot_with(pid, &mut self.files) else {
            return self.remove(pid, entries);
        };
        let known = self.processes.get(&pid);
        let new_binary = maps.mappings.iter().any(|m| {
            TableKey::of(m).is_some_and(|key| !known.is_some_and(|p| p.tables.contains(&key)))
        });
        let before = known.map(|p| p.refresh);
        let (mut mappings, tables) = self.map_tables(&maps, rows);
        if mappings.len() > MAX_PROCESS_MAPPINGS {
            self.mappings_dropped += (mappings.len() - MAX_PROCESS_MAPPINGS) as u64;
            mappings.truncate(MAX_PROCESS_MAPPINGS);
        }
        if tables.is_empty() {
            // A kernel thread, or nothing with a table: frame pointers
            // do as well, without an entry.
            return self.remove(pid, entries);
        }
        let result = entries.set(pid, &entry(&mappings));
        let refresh = Schedule::after_read(before.as_ref(), new_binary);
        let state = ProcessState {
            mappings,
            tables,
            refresh,
        };
        if let Some(old) = self.processes.insert(pid, state) {
            self.tables.release(&old.tables);
        }
        if result.is_err() {
            // The kernel did not take the entry. An older one may still be
            // there, pointing at tables released now (and maybe evicted
            // later): remove it, so nothing points at them.
            self.entry_failures += 1;
            let _ = entries.remove(pid);
            if let Some(state) = self.processes.remove(&pid) {
                self.tables.release(&state.tables);
            }
        }
        result
    }

    /// The program's view of each executable mapping, and the tables they
    /// hold (one more user each).
    fn map_tables(
        &mut self,
        maps: &ProcessMaps,
        rows: &mut dyn RowStore,
    ) -> (Vec<ExecMapping>, Vec<TableKey>) {
        let mut tables = Vec::new();
        let mut mappings = Vec::new();
        for mapping in &maps.mappings {
            // Anonymous code is walked by frame pointer.
            let Some(key) = TableKey::of(mapping) else {
                mappings.push(without_table(mapping));
                continue;
            };
            let Some(slot) = self.tables.acquire(&key, mapping, rows) else {
                mappings.push(without_table(mapping));
                continue;
            };
            let bias = LoadBias::of(&slot.code, &mapping.range);
            mappings.push(match bias {
                Some(LoadBias(bias)) => ExecMapping {
                    start: mapping.range.start.0,
                    end: mapping.range.end.0,
                    bias,
                    table_start: slot.start,
                    table_rows: slot.rows,
                },
                None => without_table(mapping),
            });
            tables.push(key);
        }
        (mappings, tables)
    }

    /// Gives a forked child its parent's entry (both map the same binaries
    /// until the child execs, which installs it anew).
    pub fn copy(
        &mut self,
        parent: u32,
        child: u32,
        entries: &mut dyn ProcessEntries,
    ) -> Result<()> {
        let Some(state) = self.processes.get(&parent) else {
            return Ok(());
        };
        let mappings = state.mappings.clone();
        let tables = state.tables.clone();
        if let Err(error) = entries.set(child, &entry(&mappings)) {
            self.entry_failures += 1;
            return Err(error);
        }
        self.tables.share(&tables);
        let state = ProcessState {
            mappings,
            tables,
            refresh: Schedule::now(),
        };
        if let Some(old) = self.processes.insert(child, state) {
            self.tables.release(&old.tables);
        }
        Ok(())
    }

    /// Whether `pid` has an entry.
    #[cfg(test)]
    pub fn has_process(&self, pid: u32) -> bool {
        self.processes.contains_key(&pid)
    }

    /// Notes that the program met code outside the known mappings of
    /// `pid`; the refresh runs from [`Self::refresh_due`] once the
    /// process's back-off allows.
    pub fn request_refresh(&mut self, pid: u32) {
        if self.processes.contains_key(&pid) {
            self.pending.insert(pid);
        }
    }

    /// Runs the refreshes that are due; returns the processes refreshed.
    /// A process whose entry the kernel refuses does not stop the others;
    /// the first such error is returned after all ran.
    pub fn refresh_due(
        &mut self,
        rows: &mut dyn RowStore,
        entries: &mut dyn ProcessEntries,
    ) -> Result<Vec<u32>> {
        let due = self.pending.due(|pid| self.schedule(pid));
        let mut first_error = None;
        for &pid in &due {
            if let Err(error) = self.install(pid, rows, entries) {
                first_error.get_or_insert(error);
            }
        }
        first_error.map_or(Ok(due), Err)
    }

    /// Time until the next pending refresh is due, if any is pending.
    pub fn next_refresh_in(&self) -> Option<std::time::Duration> {
        self.pending.next_in(|pid| self.schedule(pid))
    }

    fn schedule(&self, pid: u32) -> Option<Schedule> {
        self.processes.get(&pid).map(|p| p.refresh)
    }

    /// Drops the entry of `pid` and lets go of its tables.
    pub fn remove(&mut self, pid: u32, entries: &mut dyn ProcessEntries) -> Result<()> {
        self.pending.remove(pid);
        if let Some(state) = self.processes.remove(&pid) {
            self.tables.release(&state.tables);
            entries.remove(pid)?;
        }
        Ok(())
    }

    /// Removes the entries of processes that have exited.
    pub fn forget_exited(&mut self, entries: &mut dyn ProcessEntries) -> Result<()> {
        let gone: Vec<u32> = self
            .processes
            .keys()
            .copied()
            .filter(|&pid| !process_exists(pid))
            .collect();
        let mut first_error = None;
        for pid in gone {
            if let Err(error) = self.remove(pid, entries) {
                first_error.get_or_insert(error);
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        pod::bytes_of,
        skel::types,
        unwind::{row_space::rows_bytes, DEFAULT_TABLE_ROWS},
        Error,
    };
    use brasa_symbolizer::unwind::{Row, ROW_SIZE};

    /// Rows in a buffer.
    struct Rows(Vec<u8>);

    impl RowStore for Rows {
        fn capacity(&self) -> u32 {
            (self.0.len() / ROW_SIZE) as u32
        }
        fn write(&mut self, start: u32, bytes: &[u8]) {
            let at = rows_bytes(start);
            self.0[at..at + bytes.len()].copy_from_slice(bytes);
        }
        fn invalidate(&mut self) {}
    }

    /// Entries in a map.
    type Entries = HashMap<u32, types::unwind_process>;

    impl ProcessEntries for Entries {
        fn set(&mut self, pid: u32, entry: &types::unwind_process) -> Result<()> {
            self.insert(pid, *entry);
            Ok(())
        }
        fn remove(&mut self, pid: u32) -> Result<()> {
            HashMap::remove(self, &pid);
            Ok(())
        }
    }

    /// An unwinder with stores of `capacity` rows.
    fn fake(capacity: u32) -> (Unwinder, Rows, Entries) {
        (
            Unwinder::new(capacity),
            Rows(vec![0; rows_bytes(capacity)]),
            HashMap::new(),
        )
    }

    fn mappings(entry: &types::unwind_process) -> &[ExecMapping] {
        &entry.mappings[..entry.mapping_count as usize]
    }

    #[test]
    fn this_process_gets_tables_for_its_binaries_with_the_right_bias() {
        let (mut unwinder, mut rows, mut entries) = fake(DEFAULT_TABLE_ROWS);
        let entries = &mut entries;
        let me = std::process::id();
        unwinder.install(me, &mut rows, entries).unwrap();
        let installed = mappings(&entries[&me]).to_vec();
        let maps = ProcessMaps::snapshot(me).unwrap();
        assert_eq!(
            installed.len(),
            maps.mappings.len().min(MAX_PROCESS_MAPPINGS)
        );
        // This test binary, libc and the vDSO all have CFI.
        let with_table = |path: &str| {
            maps.mappings
                .iter()
                .zip(&installed)
                .find(|(m, _)| m.path.contains(path))
                .map(|(_, e)| *e)
                .unwrap_or_else(|| panic!("{path} is mapped"))
        };
        for path in ["libc.so", "[vdso]", "brasa_agent"] {
            assert!(with_table(path).table_rows > 0, "{path} has a table");
        }
        // The rule at this very function, looked up the way the program
        // does (run-time PC minus bias, in the rows written), is a real one.
        let here =
            this_process_gets_tables_for_its_binaries_with_the_right_bias as *const () as u64;
        let mapping = installed
            .iter()
            .find(|m| m.start <= here && here < m.end)
            .unwrap();
        let elf = (here - mapping.bias) as u32;
        let table: Vec<Row> = rows.0
            [rows_bytes(mapping.table_start)..rows_bytes(mapping.table_start + mapping.table_rows)]
            .chunks_exact(ROW_SIZE)
            .map(|c| Row::from_bytes(c.try_into().unwrap()))
            .collect();
        let row = table[table.partition_point(|r| r.pc <= elf) - 1];
        assert!(row.rule().is_supported(), "{row:?}");

        let stats = unwinder.stats();
        assert_eq!(stats.processes, 1);
        assert!(stats.rows_used > 0 && stats.tables >= 3, "{stats:?}");
        // A second install reuses the loaded tables.
        unwinder.install(me, &mut rows, entries).unwrap();
        assert_eq!(unwinder.stats().tables_built, stats.tables_built);
        assert_eq!(unwinder.stats().rows_used, stats.rows_used);
        unwinder.remove(me, entries).unwrap();
        assert!(entries.is_empty());
        assert_eq!(unwinder.stats().processes, 0);
    }

    #[test]
    fn forks_share_tables_and_exits_release_them() {
        let (mut unwinder, mut rows, mut entries) = fake(DEFAULT_TABLE_ROWS);
        let entries = &mut entries;
        let me = std::process::id();
        let mut child = std::process::Command::new("sleep")
            .arg("10")
            .spawn()
            .unwrap();
        unwinder.install(me, &mut rows, entries).unwrap();
        let built = unwinder.stats().tables_built;
        unwinder.copy(me, child.id(), entries).unwrap();
        assert_eq!(bytes_of(&entries[&child.id()]), bytes_of(&entries[&me]));
        assert_eq!(unwinder.stats().tables_built, built);
        child.kill().unwrap();
        child.wait().unwrap();
        unwinder.forget_exited(entries).unwrap();
        assert!(!entries.contains_key(&child.id()));
        assert!(entries.contains_key(&me));
    }

    #[test]
    fn a_table_larger_than_the_room_is_left_to_frame_pointers() {
        // Room for 16 rows: no real table fits, so the process gets no
        // entry and the program walks it by frame pointer.
        let (mut unwinder, mut rows, mut entries) = fake(16);
        let me = std::process::id();
        unwinder.install(me, &mut rows, &mut entries).unwrap();
        assert!(entries.is_empty());
        let stats = unwinder.stats();
        assert!(stats.tables_failed > 0 && stats.tables == 0, "{stats:?}");
    }

    /// The kernel's processes map is full.
    struct Full;

    impl ProcessEntries for Full {
        fn set(&mut self, _: u32, _: &types::unwind_process) -> Result<()> {
            Err(Error::InvalidOption("full".into()))
        }
        fn remove(&mut self, _: u32) -> Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_refused_entry_is_counted_and_holds_no_table() {
        let (mut unwinder, mut rows, _) = fake(DEFAULT_TABLE_ROWS);
        let me = std::process::id();
        assert!(unwinder.install(me, &mut rows, &mut Full).is_err());
        let stats = unwinder.stats();
        assert_eq!(stats.entry_failures, 1);
        assert_eq!(stats.processes, 0);
        // The tables stay loaded, unused, for the next process that maps
        // them: a process needing more room than is left could evict them all.
        assert!(stats.tables > 0);
        assert_eq!(unwinder.tables.users(), 0);
    }

    #[test]
    fn a_process_without_tables_gets_no_entry() {
        let (mut unwinder, mut rows, mut entries) = fake(DEFAULT_TABLE_ROWS);
        // kthreadd: no user mappings at all.
        unwinder.install(2, &mut rows, &mut entries).unwrap();
        assert!(entries.is_empty());
        assert!(!unwinder.has_process(2));
    }
}
