//! The kernel side of the unwind tables: the rows map's memory mapped into
//! this process, the process entries map, and the epoch that invalidates
//! the program's cached rules.

use std::{
    mem::size_of,
    os::fd::{AsFd, AsRawFd},
    ptr::NonNull,
    time::{Duration, Instant},
};

use brasa_symbolizer::unwind::ROW_SIZE;
use libbpf_rs::{MapCore, MapFlags, MapMut};

use super::{
    entries::ProcessEntries,
    row_space::{rows_bytes, RowStore},
    unwinder::Unwinder,
    UnwindStats,
};
use crate::{pod::bytes_of, sampler::ProcessEvent, skel::types, Error, Result};

/// Rows per element of the rows map (`UNWIND_ROWS_PER_CHUNK`).
const ROWS_PER_CHUNK: u32 = (size_of::<types::unwind_chunk>() / ROW_SIZE) as u32;
/// How often exited processes give their unwind tables back.
const EXITED_SCAN_INTERVAL: Duration = Duration::from_secs(2);

// A row of the program is a row of the symbolizer.
const _: () = assert!(size_of::<types::unwind_row>() == ROW_SIZE);

/// The unwinder with the memory of the rows map: what the sampler holds
/// when it walks with tables.
pub(crate) struct KernelTables {
    unwinder: Unwinder,
    rows: MappedRows,
    last_exited_scan: Instant,
}

impl KernelTables {
    /// Elements of the rows map that room for `table_rows` rows takes.
    pub fn chunks(table_rows: u32) -> Result<u32> {
        if table_rows < ROWS_PER_CHUNK {
            return Err(Error::InvalidOption(format!(
                "room for {table_rows} unwind table rows is less than the minimum {ROWS_PER_CHUNK}"
            )));
        }
        Ok(table_rows / ROWS_PER_CHUNK)
    }

    /// Maps the loaded rows map of `chunks` elements; `epoch` is the
    /// program's `tables_epoch`, which must stay mapped as long as this.
    pub fn map(rows_map: &MapMut<'_>, chunks: u32, epoch: NonNull<u32>) -> Result<Self> {
        let rows = MappedRows::map(rows_map, chunks * ROWS_PER_CHUNK, epoch)?;
        Ok(Self {
            unwinder: Unwinder::new(rows.capacity()),
            rows,
            last_exited_scan: Instant::now(),
        })
    }

    /// Keeps the tables in step with processes. A process the kernel
    /// refuses an entry for (the processes map full) is walked by frame
    /// pointer and counted in [`UnwindStats::entry_failures`]; it never
    /// stops sampling.
    pub fn handle(&mut self, events: &[ProcessEvent], processes_map: &MapMut<'_>) {
        let mut entries = EntriesMap(processes_map);
        let (unwinder, rows) = (&mut self.unwinder, &mut self.rows);
        for event in events {
            // Failures are counted by the unwinder.
            let _ = match *event {
                ProcessEvent::Sampled(pid) | ProcessEvent::Execed(pid) => {
                    unwinder.install(pid, rows, &mut entries)
                }
                ProcessEvent::Forked { child, parent } => {
                    unwinder.copy(parent, child, &mut entries)
                }
                ProcessEvent::MappingsChanged(pid) => {
                    unwinder.request_refresh(pid);
                    Ok(())
                }
                ProcessEvent::PythonThreadUnknown { .. } => Ok(()),
            };
        }
        let _ = unwinder.refresh_due(rows, &mut entries);
        if self.last_exited_scan.elapsed() >= EXITED_SCAN_INTERVAL {
            self.last_exited_scan = Instant::now();
            let _ = unwinder.forget_exited(&mut entries);
        }
    }

    /// Time until a refresh is due, if one is pending.
    pub fn next_refresh_in(&self) -> Option<Duration> {
        self.unwinder.next_refresh_in()
    }

    /// How the tables are doing.
    pub fn stats(&self) -> UnwindStats {
        self.unwinder.stats()
    }
}

/// The `unwind_processes` map.
struct EntriesMap<'a, 'obj>(&'a MapMut<'obj>);

impl ProcessEntries for EntriesMap<'_, '_> {
    fn set(&mut self, pid: u32, entry: &types::unwind_process) -> Result<()> {
        self.0
            .update(&pid.to_ne_bytes(), bytes_of(entry), MapFlags::ANY)
            .map_err(|e| Error::bpf(format!("writing the unwind mappings of process {pid}"), e))
    }

    fn remove(&mut self, pid: u32) -> Result<()> {
        match self.0.delete(&pid.to_ne_bytes()) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == libbpf_rs::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::bpf(
                format!("removing the unwind mappings of process {pid}"),
                e,
            )),
        }
    }
}

/// The rows map's memory, mapped into this process: rows are written
/// there directly, with no system call per row.
struct MappedRows {
    memory: NonNull<u8>,
    len: usize,
    /// `tables_epoch` in the program's .data.
    epoch: NonNull<u32>,
}

impl MappedRows {
    /// Maps `rows` rows of the `unwind_rows` map (created with
    /// `BPF_F_MMAPABLE`). `epoch` must stay mapped for as long as the
    /// result lives.
    fn map(map: &MapMut<'_>, rows: u32, epoch: NonNull<u32>) -> Result<Self> {
        let len = rows_bytes(rows);
        // SAFETY: a shared mapping of a BPF array created with
        // BPF_F_MMAPABLE and at least `len` bytes long; the kernel keeps the
        // map alive while it is mapped, and only this struct touches it.
        let memory = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                map.as_fd().as_raw_fd(),
                0,
            )
        };
        if memory == libc::MAP_FAILED {
            return Err(Error::os(
                "mapping the unwind table rows into memory",
                std::io::Error::last_os_error(),
            ));
        }
        let memory = NonNull::new(memory.cast::<u8>()).expect("mmap succeeded");
        Ok(Self { memory, len, epoch })
    }
}

impl RowStore for MappedRows {
    fn capacity(&self) -> u32 {
        (self.len / rows_bytes(1)) as u32
    }

    fn write(&mut self, start: u32, bytes: &[u8]) {
        let at = rows_bytes(start);
        assert!(
            at + bytes.len() <= self.len,
            "rows beyond the mapped table room"
        );
        // SAFETY: in bounds of the mapping (checked above); the BPF program
        // only reads rows of tables that process entries point at, and the
        // unwinder writes a table before any entry points at it.
        unsafe {
            std::ptr::copy_nonoverlapping(
                bytes.as_ptr(),
                self.memory.as_ptr().add(at),
                bytes.len(),
            );
        }
    }

    fn invalidate(&mut self) {
        // SAFETY: an aligned u32 of the program's memory-mapped .data,
        // which outlives this struct (see `MappedRows::map`); only this
        // thread writes it.
        unsafe {
            let epoch = self.epoch.as_ptr();
            std::ptr::write_volatile(epoch, std::ptr::read_volatile(epoch).wrapping_add(1).max(1));
        }
    }
}

impl Drop for MappedRows {
    fn drop(&mut self) {
        // SAFETY: the mapping made in `map`, unmapped once.
        unsafe { libc::munmap(self.memory.as_ptr().cast(), self.len) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use brasa_symbolizer::unwind as symbolizer;
    use types::{cfa_kind as C, fp_kind as F, ra_kind as R};

    #[test]
    fn rule_codes_are_the_programs() {
        let pairs = [
            (C::CFA_NONE.0, symbolizer::CFA_NONE),
            (C::CFA_SP_OFFSET.0, symbolizer::CFA_SP_OFFSET),
            (C::CFA_FP_OFFSET.0, symbolizer::CFA_FP_OFFSET),
            (C::CFA_PLT.0, symbolizer::CFA_PLT),
            (C::CFA_UNSUPPORTED.0, symbolizer::CFA_UNSUPPORTED),
            (F::FP_UNCHANGED.0, symbolizer::FP_UNCHANGED),
            (F::FP_AT_CFA_OFFSET.0, symbolizer::FP_AT_CFA_OFFSET),
            (F::FP_UNSUPPORTED.0, symbolizer::FP_UNSUPPORTED),
            (R::RA_UNDEFINED.0, symbolizer::RA_UNDEFINED),
            (R::RA_AT_CFA_MINUS_8.0, symbolizer::RA_AT_CFA_MINUS_8),
            (R::RA_UNSUPPORTED.0, symbolizer::RA_UNSUPPORTED),
        ];
        for (program, rust) in pairs {
            assert_eq!(program, u32::from(rust));
        }
    }

    #[test]
    fn a_row_is_laid_out_as_the_symbolizer_writes_it() {
        let row = types::unwind_row {
            pc: 0x1234,
            cfa_kind: symbolizer::CFA_SP_OFFSET,
            fp_kind: symbolizer::FP_AT_CFA_OFFSET,
            ra_kind: symbolizer::RA_AT_CFA_MINUS_8,
            aux: 3,
            cfa_offset: 16,
            fp_offset: -16,
        };
        // SAFETY: a #[repr(C)] struct of integers without padding (its size
        // is ROW_SIZE, asserted at compile time above).
        let bytes: [u8; ROW_SIZE] = unsafe { std::mem::transmute(row) };
        let parsed = symbolizer::Row::from_bytes(&bytes);
        assert_eq!(parsed.to_bytes(), bytes);
        assert_eq!(
            (parsed.pc, parsed.cfa_offset, parsed.fp_offset),
            (0x1234, 16, -16)
        );
    }

    #[test]
    fn the_room_is_whole_chunks_of_the_programs_size() {
        assert_eq!(ROWS_PER_CHUNK, 256);
        assert_eq!(
            KernelTables::chunks(super::super::DEFAULT_TABLE_ROWS).unwrap(),
            4096
        );
        assert!(KernelTables::chunks(ROWS_PER_CHUNK - 1).is_err());
    }
}
