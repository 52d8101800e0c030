//! Code objects of a Python process, read from its memory and named.

use std::{collections::HashMap, sync::Arc};

use super::{
    linetable,
    memory::ProcessMemory,
    offsets::{PyOffsets, FRAME_OWNED_BY_GENERATOR},
};

/// Longest name or file name read, in characters: longer ones are cut.
const MAX_STRING_CHARS: u64 = 1024;
/// Largest location table read; a code object has one entry per few
/// instructions, so even a generated module of thousands of lines fits.
const MAX_LINETABLE_BYTES: u64 = 1 << 20;
/// Code objects remembered per process: past it the cache starts over, so
/// a process that keeps creating code cannot grow the agent's memory.
pub const MAX_CACHED_CODES: usize = 16384;

/// A code object's name, file and location table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Code {
    /// `co_qualname`, as `Class.method`.
    pub qualname: String,
    /// `co_filename`.
    pub filename: String,
    /// `co_firstlineno`.
    pub first_line: i32,
    /// `co_linetable`.
    linetable: Vec<u8>,
    /// Address of the first instruction.
    instructions: u64,
    /// `_co_firsttraceable`: code units run before the function's own
    /// code starts (cell and generator set-up).
    first_traceable: u32,
}

impl Code {
    /// The source line of the instruction `unit` code units from the
    /// first; the first line when the frame has not started.
    pub fn line(&self, unit: Option<u32>) -> i32 {
        unit.and_then(|unit| linetable::line_of(&self.linetable, self.first_line, unit))
            .unwrap_or(self.first_line)
    }

    /// The line a frame of this code is at, from its last instruction
    /// started (`prev_instr`) and its owner; `None` for a frame that has
    /// not started the function's own code (CPython does not show such
    /// frames either), unless a generator owns it.
    pub fn frame_line(&self, prev_instr: u64, owner: u8) -> Option<i32> {
        let own_code = self.instructions + 2 * u64::from(self.first_traceable);
        if owner != FRAME_OWNED_BY_GENERATOR && prev_instr < own_code {
            return None;
        }
        let unit = prev_instr
            .checked_sub(self.instructions)
            .and_then(|bytes| u32::try_from(bytes / 2).ok());
        Some(self.line(unit))
    }
}

/// The code objects of one process, by address.
#[derive(Debug, Default)]
pub struct CodeCache {
    codes: HashMap<u64, Arc<Code>>,
}

impl CodeCache {
    /// The code object at `address` if it was read before.
    pub fn cached(&self, address: u64) -> Option<Arc<Code>> {
        self.codes.get(&address).cloned()
    }

    /// The code object at `address`, read on first use; `None` when it
    /// cannot be read.
    pub fn get(
        &mut self,
        memory: &ProcessMemory,
        offsets: &PyOffsets,
        address: u64,
    ) -> Option<Arc<Code>> {
        if let Some(code) = self.codes.get(&address) {
            return Some(code.clone());
        }
        let code = Arc::new(read_code(memory, offsets, address)?);
        if self.codes.len() >= MAX_CACHED_CODES {
            self.codes.clear();
        }
        self.codes.insert(address, code.clone());
        Some(code)
    }
}

fn read_code(memory: &ProcessMemory, offsets: &PyOffsets, address: u64) -> Option<Code> {
    let string_at = |field: u64| read_unicode(memory, offsets, memory.u64(address + field)?);
    let linetable = read_bytes(
        memory,
        offsets,
        memory.u64(address + offsets.code_linetable)?,
    )?;
    Some(Code {
        qualname: string_at(offsets.code_qualname)?,
        filename: string_at(offsets.code_filename)?,
        first_line: memory.u32(address + offsets.code_firstlineno)? as i32,
        linetable,
        instructions: address + offsets.code_instructions,
        first_traceable: memory.u32(address + offsets.code_firsttraceable)?,
    })
}

/// A compact `str` object (every identifier and file name is one):
/// ASCII, or UCS-1/2/4 for other text.
pub fn read_unicode(memory: &ProcessMemory, offsets: &PyOffsets, address: u64) -> Option<String> {
    let length = memory
        .u64(address + offsets.unicode_length)?
        .min(MAX_STRING_CHARS);
    let state = memory.u32(address + offsets.unicode_state)?;
    // state: interned:2, kind:3, compact:1, ascii:1, ready:1.
    let kind = (state >> 2) & 7;
    let compact = (state >> 5) & 1 == 1;
    let ascii = (state >> 6) & 1 == 1;
    if !compact || !matches!(kind, 1 | 2 | 4) {
        return None;
    }
    let data = if ascii {
        offsets.unicode_ascii_data
    } else {
        offsets.unicode_compact_data
    };
    let mut bytes = vec![0; (length * u64::from(kind)) as usize];
    memory.read(address + data, &mut bytes)?;
    let chars: Option<String> = match kind {
        1 => Some(bytes.iter().map(|&b| char::from(b)).collect()),
        2 => bytes
            .chunks_exact(2)
            .map(|c| char::from_u32(u32::from(u16::from_le_bytes([c[0], c[1]]))))
            .collect(),
        _ => bytes
            .chunks_exact(4)
            .map(|c| char::from_u32(u32::from_le_bytes([c[0], c[1], c[2], c[3]])))
            .collect(),
    };
    chars
}

fn read_bytes(memory: &ProcessMemory, offsets: &PyOffsets, address: u64) -> Option<Vec<u8>> {
    let size = memory.u64(address + offsets.bytes_size)?;
    if size > MAX_LINETABLE_BYTES {
        return None;
    }
    let mut bytes = vec![0; size as usize];
    memory.read(address + offsets.bytes_data, &mut bytes)?;
    Some(bytes)
}
