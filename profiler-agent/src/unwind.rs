//! Unwind tables for the BPF sampler: which binaries' tables are loaded
//! where, and which mappings of which process they cover.
//!
//! The sampler walks the user stacks of a process with tables once the
//! process has an entry in the `unwind_processes` map: its executable
//! mappings, sorted by address, each with its load bias and the run of rows
//! of its binary's table in the `unwind_rows` map. [`Unwinder`] keeps both
//! maps up to date:
//!
//! - A table is built (`brasa_symbolizer::unwind`) once per binary (build
//!   id, else path and size) and shared by every process that maps it.
//! - Rows live in one fixed-size region, so the kernel memory tables use is
//!   bounded. When a new table does not fit, tables no live process uses
//!   are evicted, least recently used first; a table that still does not
//!   fit is not loaded and its mappings fall back to frame pointers.
//! - A process is (re)read when it is first sampled, execs, or runs code
//!   outside its known mappings (a library loaded with `dlopen`); a fork
//!   copies its parent's entry. Exited processes release their tables.
//!
//! Anonymous executable mappings (JIT code) and binaries without call frame
//! information are listed with no rows: the program walks them by frame
//! pointer rather than asking for a refresh at every sample.

use std::{
    collections::{BTreeMap, HashMap, HashSet},
    io::{Read, Seek, SeekFrom},
    path::Path,
    time::{Duration, Instant},
};

use brasa_symbolizer::{
    process::{FileCache, Mapping, ProcessMaps},
    unwind::{build_from_bytes, build_from_path, CodeSegment, UnwindTable, ROW_SIZE},
};

use crate::{Error, Result};

/// Rows per element of the rows map (`UNWIND_ROWS_PER_CHUNK` in
/// `bpf/sampler.h`).
pub const ROWS_PER_CHUNK: u32 = 256;
/// Mappings per process entry (`MAX_PROCESS_MAPPINGS`).
pub const MAX_PROCESS_MAPPINGS: usize = 128;
/// Size of one `struct exec_mapping`.
const EXEC_MAPPING_SIZE: usize = 32;
/// Size of a `struct unwind_process`: two u32 then the mappings.
pub const PROCESS_ENTRY_SIZE: usize = 8 + MAX_PROCESS_MAPPINGS * EXEC_MAPPING_SIZE;
/// Bytes of kernel memory one row takes.
pub const ROW_BYTES: u32 = ROW_SIZE as u32;
/// Default room for rows: 2^20 rows of 12 bytes, 12 MiB of kernel memory.
pub const DEFAULT_TABLE_ROWS: u32 = 1 << 20;
/// Largest table the program can search (`MAX_TABLE_SEARCH_STEPS` = 24).
const MAX_ROWS_PER_TABLE: u32 = 1 << 24;
/// Wait before reading a process again after a refresh that found nothing
/// new, doubled at each such refresh up to [`REFRESH_MAX`] (a JIT mapping
/// fresh regions keeps running unknown code). A refresh that found a new
/// binary lets the next one run at once: a process starting up maps its
/// libraries one after the other, and each sample until the refresh loses
/// the frames above the new library.
const REFRESH_MIN: Duration = Duration::from_millis(10);
const REFRESH_MAX: Duration = Duration::from_secs(5);

/// Where rows are written: the memory-mapped BPF array, or a buffer in tests.
pub trait RowStore {
    /// Rows the store holds.
    fn capacity(&self) -> u32;
    /// Writes `bytes` (whole rows) from row `start` on.
    fn write(&mut self, start: u32, bytes: &[u8]);
    /// Called after tables were evicted and before their rows are
    /// overwritten: rules the program remembers from them are stale.
    fn invalidate(&mut self);
}

/// Where process entries are written: the BPF hash map, or a map in tests.
pub trait ProcessEntries {
    /// Sets the entry of `pid` (a `struct unwind_process`).
    fn set(&mut self, pid: u32, entry: &[u8; PROCESS_ENTRY_SIZE]) -> Result<()>;
    /// Removes the entry of `pid`; no entry is not an error.
    fn remove(&mut self, pid: u32) -> Result<()>;
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
        self.rows_used * ROW_SIZE as u64
    }
}

/// Which binary a table belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum TableKey {
    BuildId(String),
    File { path: String, size: u64 },
    Vdso,
}

/// A loaded table.
#[derive(Debug)]
struct Slot {
    start: u32,
    rows: u32,
    code: Vec<CodeSegment>,
    /// Processes whose entry points at it.
    users: u32,
    /// When the last user let go (a tick of [`Unwinder::clock`]).
    released: u64,
}

/// One mapping as the BPF program sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ExecMapping {
    start: u64,
    end: u64,
    bias: u64,
    table_start: u32,
    table_rows: u32,
}

#[derive(Debug)]
struct ProcessState {
    mappings: Vec<ExecMapping>,
    tables: Vec<TableKey>,
    /// Soonest the next refresh may run, and the wait after it.
    next_refresh: Instant,
    backoff: Duration,
}

/// Tables and process entries for the sampler (see the module docs).
#[derive(Debug)]
pub struct Unwinder {
    /// Free runs of rows: start -> length.
    free: BTreeMap<u32, u32>,
    capacity: u32,
    slots: HashMap<TableKey, Slot>,
    /// Binaries without a usable table: not tried again.
    unusable: HashSet<TableKey>,
    processes: HashMap<u32, ProcessState>,
    /// Refreshes asked for and not yet due.
    pending: HashSet<u32>,
    files: FileCache,
    clock: u64,
    stats: UnwindStats,
}

impl Unwinder {
    /// An unwinder whose rows go to a store of `capacity` rows.
    pub fn new(capacity: u32) -> Self {
        let mut free = BTreeMap::new();
        if capacity > 0 {
            free.insert(0, capacity);
        }
        Self {
            free,
            capacity,
            slots: HashMap::new(),
            unusable: HashSet::new(),
            processes: HashMap::new(),
            pending: HashSet::new(),
            files: FileCache::default(),
            clock: 0,
            stats: UnwindStats {
                rows_capacity: u64::from(capacity),
                ..UnwindStats::default()
            },
        }
    }

    /// Counters and sizes.
    pub fn stats(&self) -> UnwindStats {
        UnwindStats {
            processes: self.processes.len(),
            tables: self.slots.len(),
            rows_used: self.slots.values().map(|s| u64::from(s.rows)).sum(),
            ..self.stats
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
        self.pending.remove(&pid);
        let Ok(maps) = ProcessMaps::snapshot_with(pid, &mut self.files) else {
            return self.remove(pid, entries);
        };
        let mut tables = Vec::new();
        let mut mappings = Vec::new();
        let mut new_binary = false;
        for mapping in &maps.mappings {
            let Some(key) = table_key(mapping) else {
                // Anonymous code: walked by frame pointer.
                mappings.push(ExecMapping::without_table(mapping));
                continue;
            };
            let known = self
                .processes
                .get(&pid)
                .is_some_and(|p| p.tables.contains(&key));
            new_binary |= !known;
            match self.acquire(&key, mapping, rows) {
                Some(slot) => {
                    let bias = CodeSegment::load_bias(&slot.code, mapping.start, mapping.offset);
                    mappings.push(match bias {
                        Some(bias) => ExecMapping {
                            start: mapping.start,
                            end: mapping.end,
                            bias,
                            table_start: slot.start,
                            table_rows: slot.rows,
                        },
                        None => ExecMapping::without_table(mapping),
                    });
                    tables.push(key);
                }
                None => mappings.push(ExecMapping::without_table(mapping)),
            }
        }
        if mappings.len() > MAX_PROCESS_MAPPINGS {
            self.stats.mappings_dropped += (mappings.len() - MAX_PROCESS_MAPPINGS) as u64;
            mappings.truncate(MAX_PROCESS_MAPPINGS);
        }
        if tables.is_empty() {
            // A kernel thread, or nothing with a table: frame pointers
            // do as well, without an entry.
            return self.remove(pid, entries);
        }
        let result = entries.set(pid, &encode(&mappings));
        let now = Instant::now();
        let backoff = match self.processes.get(&pid) {
            Some(old) if !new_binary => (old.backoff * 2).clamp(REFRESH_MIN, REFRESH_MAX),
            _ => Duration::ZERO,
        };
        let old = self.processes.insert(
            pid,
            ProcessState {
                mappings,
                tables,
                next_refresh: now + backoff,
                backoff,
            },
        );
        if let Some(old) = old {
            self.release(&old.tables);
        }
        if result.is_err() {
            // The kernel did not take the entry. An older one may still be
            // there, pointing at tables released now (and maybe evicted
            // later): remove it, so nothing points at them.
            self.stats.entry_failures += 1;
            let _ = entries.remove(pid);
            if let Some(state) = self.processes.remove(&pid) {
                self.release(&state.tables);
            }
        }
        result
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
        if let Err(error) = entries.set(child, &encode(&mappings)) {
            self.stats.entry_failures += 1;
            return Err(error);
        }
        for key in &tables {
            if let Some(slot) = self.slots.get_mut(key) {
                slot.users += 1;
            }
        }
        let old = self.processes.insert(
            child,
            ProcessState {
                mappings,
                tables,
                next_refresh: Instant::now(),
                backoff: Duration::ZERO,
            },
        );
        if let Some(old) = old {
            self.release(&old.tables);
        }
        Ok(())
    }

    /// Whether `pid` has an entry.
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
        let now = Instant::now();
        let due: Vec<u32> = self
            .pending
            .iter()
            .copied()
            .filter(|pid| {
                self.processes
                    .get(pid)
                    .is_none_or(|p| p.next_refresh <= now)
            })
            .collect();
        let mut first_error = None;
        for &pid in &due {
            if let Err(error) = self.install(pid, rows, entries) {
                first_error.get_or_insert(error);
            }
        }
        match first_error {
            Some(error) => Err(error),
            None => Ok(due),
        }
    }

    /// Time until the next pending refresh is due, if any is pending.
    pub fn next_refresh_in(&self) -> Option<Duration> {
        let now = Instant::now();
        self.pending
            .iter()
            .filter_map(|pid| self.processes.get(pid))
            .map(|p| p.next_refresh.saturating_duration_since(now))
            .min()
    }

    /// Drops the entry of `pid` and lets go of its tables.
    pub fn remove(&mut self, pid: u32, entries: &mut dyn ProcessEntries) -> Result<()> {
        self.pending.remove(&pid);
        if let Some(state) = self.processes.remove(&pid) {
            self.release(&state.tables);
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
            .filter(|pid| !Path::new(&format!("/proc/{pid}")).exists())
            .collect();
        let mut first_error = None;
        for pid in gone {
            if let Err(error) = self.remove(pid, entries) {
                first_error.get_or_insert(error);
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// The slot of `key`, loading its table when needed; `None` when the
    /// binary has no usable table.
    fn acquire(
        &mut self,
        key: &TableKey,
        mapping: &Mapping,
        rows: &mut dyn RowStore,
    ) -> Option<&Slot> {
        if self.unusable.contains(key) {
            return None;
        }
        if !self.slots.contains_key(key) {
            let Some(table) = build_table(key, mapping) else {
                self.stats.tables_failed += 1;
                self.unusable.insert(key.clone());
                return None;
            };
            self.stats.tables_built += 1;
            let Some(slot) = self.load(&table, rows) else {
                self.stats.tables_failed += 1;
                self.unusable.insert(key.clone());
                return None;
            };
            self.slots.insert(key.clone(), slot);
        }
        let slot = self.slots.get_mut(key)?;
        slot.users += 1;
        Some(slot)
    }

    /// Writes a table's rows into free room, evicting unused tables when
    /// needed.
    fn load(&mut self, table: &UnwindTable, rows: &mut dyn RowStore) -> Option<Slot> {
        let count = u32::try_from(table.rows().len()).ok()?;
        if count == 0 || count > MAX_ROWS_PER_TABLE || count > self.capacity {
            return None;
        }
        let mut evicted = false;
        let start = loop {
            if let Some(start) = self.allocate(count) {
                break start;
            }
            self.evict_one()?;
            evicted = true;
        };
        if evicted {
            rows.invalidate();
        }
        rows.write(start, &table.to_bytes());
        Some(Slot {
            start,
            rows: count,
            code: table.code_segments().to_vec(),
            users: 0,
            released: self.clock,
        })
    }

    /// First fit.
    fn allocate(&mut self, count: u32) -> Option<u32> {
        let (&start, &len) = self.free.iter().find(|(_, &len)| len >= count)?;
        self.free.remove(&start);
        if len > count {
            self.free.insert(start + count, len - count);
        }
        Some(start)
    }

    fn deallocate(&mut self, start: u32, count: u32) {
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

    /// Evicts the least recently used table nobody uses; `None` if none.
    fn evict_one(&mut self) -> Option<()> {
        let key = self
            .slots
            .iter()
            .filter(|(_, slot)| slot.users == 0)
            .min_by_key(|(_, slot)| slot.released)
            .map(|(key, _)| key.clone())?;
        let slot = self.slots.remove(&key)?;
        self.deallocate(slot.start, slot.rows);
        self.stats.tables_evicted += 1;
        Some(())
    }

    fn release(&mut self, tables: &[TableKey]) {
        self.clock += 1;
        for key in tables {
            if let Some(slot) = self.slots.get_mut(key) {
                slot.users = slot.users.saturating_sub(1);
                if slot.users == 0 {
                    slot.released = self.clock;
                }
            }
        }
    }
}

impl ExecMapping {
    fn without_table(mapping: &Mapping) -> Self {
        Self {
            start: mapping.start,
            end: mapping.end,
            bias: 0,
            table_start: 0,
            table_rows: 0,
        }
    }
}

fn table_key(mapping: &Mapping) -> Option<TableKey> {
    if mapping.path == "[vdso]" {
        return Some(TableKey::Vdso);
    }
    let file = mapping.file.as_ref()?;
    Some(match &file.build_id {
        Some(id) => TableKey::BuildId(id.clone()),
        None => TableKey::File {
            path: mapping.path.clone(),
            size: file.size(),
        },
    })
}

fn build_table(key: &TableKey, mapping: &Mapping) -> Option<UnwindTable> {
    let built = match key {
        // Every process maps the same vDSO image of the running kernel:
        // read it from this process's memory.
        TableKey::Vdso => {
            let image = own_vdso().ok()?;
            build_from_bytes(&image, Path::new("[vdso]")).ok()?
        }
        _ => build_from_path(mapping.file.as_ref()?.read_path()).ok()?,
    };
    Some(built.table)
}

/// The bytes of this process's vDSO.
fn own_vdso() -> Result<Vec<u8>> {
    let io = |e| Error::os("reading this process's vDSO", e);
    let maps = std::fs::read_to_string("/proc/self/maps").map_err(io)?;
    let line = maps
        .lines()
        .find(|line| line.ends_with("[vdso]"))
        .ok_or_else(|| io(std::io::ErrorKind::NotFound.into()))?;
    let range = line.split_whitespace().next().unwrap_or_default();
    let (start, end) = range
        .split_once('-')
        .and_then(|(a, b)| {
            Some((
                u64::from_str_radix(a, 16).ok()?,
                u64::from_str_radix(b, 16).ok()?,
            ))
        })
        .ok_or_else(|| io(std::io::ErrorKind::InvalidData.into()))?;
    let mut memory = std::fs::File::open("/proc/self/mem").map_err(io)?;
    memory.seek(SeekFrom::Start(start)).map_err(io)?;
    let mut image = vec![0; usize::try_from(end - start).unwrap_or(0)];
    memory.read_exact(&mut image).map_err(io)?;
    Ok(image)
}

/// A `struct unwind_process` in the kernel's byte order.
fn encode(mappings: &[ExecMapping]) -> [u8; PROCESS_ENTRY_SIZE] {
    let mut entry = [0u8; PROCESS_ENTRY_SIZE];
    let count = mappings.len().min(MAX_PROCESS_MAPPINGS);
    entry[..4].copy_from_slice(&(count as u32).to_ne_bytes());
    // miss_reported (bytes 4..8) starts cleared: a new entry may ask again.
    for (i, m) in mappings.iter().take(count).enumerate() {
        let at = 8 + i * EXEC_MAPPING_SIZE;
        entry[at..at + 8].copy_from_slice(&m.start.to_ne_bytes());
        entry[at + 8..at + 16].copy_from_slice(&m.end.to_ne_bytes());
        entry[at + 16..at + 24].copy_from_slice(&m.bias.to_ne_bytes());
        entry[at + 24..at + 28].copy_from_slice(&m.table_start.to_ne_bytes());
        entry[at + 28..at + 32].copy_from_slice(&m.table_rows.to_ne_bytes());
    }
    entry
}

/// Rows per [`ROW_SIZE`]-byte row, in bytes: what the store's memory holds.
pub fn rows_bytes(rows: u32) -> usize {
    rows as usize * ROW_SIZE
}

#[cfg(test)]
mod tests {
    use super::*;
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

    /// An unwinder with stores of `capacity` rows.
    fn fake(capacity: u32) -> (Unwinder, Rows, HashMap<u32, Vec<u8>>) {
        (
            Unwinder::new(capacity),
            Rows(vec![0; rows_bytes(capacity)]),
            HashMap::new(),
        )
    }

    impl ProcessEntries for HashMap<u32, Vec<u8>> {
        fn set(&mut self, pid: u32, entry: &[u8; PROCESS_ENTRY_SIZE]) -> Result<()> {
            self.insert(pid, entry.to_vec());
            Ok(())
        }
        fn remove(&mut self, pid: u32) -> Result<()> {
            HashMap::remove(self, &pid);
            Ok(())
        }
    }

    fn decode(entry: &[u8]) -> Vec<ExecMapping> {
        let word = |at: usize| u64::from_ne_bytes(entry[at..at + 8].try_into().unwrap());
        let half = |at: usize| u32::from_ne_bytes(entry[at..at + 4].try_into().unwrap());
        (0..half(0) as usize)
            .map(|i| {
                let at = 8 + i * EXEC_MAPPING_SIZE;
                ExecMapping {
                    start: word(at),
                    end: word(at + 8),
                    bias: word(at + 16),
                    table_start: half(at + 24),
                    table_rows: half(at + 28),
                }
            })
            .collect()
    }

    #[test]
    fn this_process_gets_tables_for_its_binaries_with_the_right_bias() {
        let (mut unwinder, mut rows, mut entries) = fake(DEFAULT_TABLE_ROWS);
        let entries = &mut entries;
        let me = std::process::id();
        unwinder.install(me, &mut rows, entries).unwrap();
        let mappings = decode(&entries[&me]);
        let maps = ProcessMaps::snapshot(me).unwrap();
        assert_eq!(
            mappings.len(),
            maps.mappings.len().min(MAX_PROCESS_MAPPINGS)
        );
        // This test binary, libc and the vDSO all have CFI.
        let with_table = |path: &str| {
            maps.mappings
                .iter()
                .zip(&mappings)
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
        let mapping = mappings
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
        assert_eq!(entries[&child.id()], entries[&me]);
        assert_eq!(unwinder.stats().tables_built, built);
        child.kill().unwrap();
        child.wait().unwrap();
        unwinder.forget_exited(entries).unwrap();
        assert!(!entries.contains_key(&child.id()));
        assert!(entries.contains_key(&me));
    }

    /// Synthetic tables through the allocator: room is reused, unused
    /// tables are evicted least recently used first, used ones never.
    #[test]
    fn allocation_evicts_only_unused_tables_oldest_first() {
        let mut unwinder = Unwinder::new(100);
        let slot = |unwinder: &mut Unwinder, name: &str, rows: u32| {
            let start = loop {
                if let Some(start) = unwinder.allocate(rows) {
                    break Some(start);
                }
                if unwinder.evict_one().is_none() {
                    break None;
                }
            }?;
            let key = TableKey::File {
                path: name.into(),
                size: 0,
            };
            unwinder.slots.insert(
                key.clone(),
                Slot {
                    start,
                    rows,
                    code: Vec::new(),
                    users: 1,
                    released: 0,
                },
            );
            Some(key)
        };
        let a = slot(&mut unwinder, "a", 40).unwrap();
        let b = slot(&mut unwinder, "b", 40).unwrap();
        assert!(slot(&mut unwinder, "c", 40).is_none(), "a and b are in use");
        unwinder.release(std::slice::from_ref(&b));
        unwinder.release(std::slice::from_ref(&a));
        // b was released first: it goes, a stays.
        let c = slot(&mut unwinder, "c", 40).unwrap();
        assert!(unwinder.slots.contains_key(&a) && !unwinder.slots.contains_key(&b));
        assert_eq!(unwinder.slots[&c].start, 40);
        // Freed runs coalesce: with everything released, one table of the
        // whole capacity fits.
        unwinder.release(&[a, c]);
        assert!(slot(&mut unwinder, "whole", 100).is_some());
        assert_eq!(unwinder.stats.tables_evicted, 3);
        assert!(slot(&mut unwinder, "more", 101).is_none());
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
        fn set(&mut self, _: u32, _: &[u8; PROCESS_ENTRY_SIZE]) -> Result<()> {
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
        assert!(unwinder.slots.values().all(|slot| slot.users == 0));
        // The tables stay loaded for the next process that maps them.
        assert!(stats.tables > 0);
    }

    #[test]
    fn a_process_without_tables_gets_no_entry() {
        let (mut unwinder, mut rows, mut entries) = fake(DEFAULT_TABLE_ROWS);
        // kthreadd: no user mappings at all.
        unwinder.install(2, &mut rows, &mut entries).unwrap();
        assert!(entries.is_empty());
        assert!(!unwinder.has_process(2));
    }

    #[test]
    fn entry_layout_matches_the_program() {
        assert_eq!(
            PROCESS_ENTRY_SIZE,
            std::mem::size_of::<crate::skel::types::unwind_process>()
        );
        assert_eq!(
            ROWS_PER_CHUNK as usize * ROW_SIZE,
            std::mem::size_of::<crate::skel::types::unwind_chunk>()
        );
        let entry = encode(&[ExecMapping {
            start: 1,
            end: 2,
            bias: 3,
            table_start: 4,
            table_rows: 5,
        }]);
        assert_eq!(decode(&entry)[0].table_rows, 5);
    }
}
