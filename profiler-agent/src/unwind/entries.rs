//! Process entries: a process's executable mappings as the program reads
//! them, in the skeleton's `struct unwind_process` and `struct exec_mapping`.

use std::mem::{offset_of, size_of};

use brasa_symbolizer::process::Mapping;

use crate::{skel::types, Result};

/// Mappings per process entry (`MAX_PROCESS_MAPPINGS`): the room of the
/// generated `unwind_process`.
pub const MAX_PROCESS_MAPPINGS: usize = (size_of::<types::unwind_process>()
    - offset_of!(types::unwind_process, mappings))
    / size_of::<types::exec_mapping>();

/// One mapping as the BPF program sees it.
pub(crate) type ExecMapping = types::exec_mapping;

/// Where process entries are written: the BPF hash map, or a map in tests.
pub(crate) trait ProcessEntries {
    /// Sets the entry of `pid`.
    fn set(&mut self, pid: u32, entry: &types::unwind_process) -> Result<()>;
    /// Removes the entry of `pid`; no entry is not an error.
    fn remove(&mut self, pid: u32) -> Result<()>;
}

/// A mapping the program walks by frame pointer: anonymous (JIT) code, or
/// a binary without a usable table.
pub(crate) fn without_table(mapping: &Mapping) -> ExecMapping {
    ExecMapping {
        start: mapping.range.start.0,
        end: mapping.range.end.0,
        ..ExecMapping::default()
    }
}

/// The entry of a process with these mappings (sorted by start), the ones
/// past [`MAX_PROCESS_MAPPINGS`] left out. `miss_reported` starts cleared:
/// a new entry may ask for a refresh again.
pub(crate) fn entry(mappings: &[ExecMapping]) -> types::unwind_process {
    let mut entry = types::unwind_process::default();
    let count = mappings.len().min(MAX_PROCESS_MAPPINGS);
    entry.mappings[..count].copy_from_slice(&mappings[..count]);
    entry.mapping_count = count as u32;
    entry
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_room_is_the_programs() {
        assert_eq!(MAX_PROCESS_MAPPINGS, 128);
    }

    #[test]
    fn an_entry_holds_at_most_the_room() {
        let mapping = |i: u64| ExecMapping {
            start: i,
            end: i + 1,
            table_rows: 5,
            ..ExecMapping::default()
        };
        let many: Vec<ExecMapping> = (0..200).map(mapping).collect();
        let full = entry(&many);
        assert_eq!(full.mapping_count as usize, MAX_PROCESS_MAPPINGS);
        assert_eq!(full.mappings[127].start, 127);
        let one = entry(&many[..1]);
        assert_eq!((one.mapping_count, one.miss_reported), (1, 0));
        assert_eq!(one.mappings[0].table_rows, 5);
        assert_eq!(one.mappings[1].end, 0);
    }
}
