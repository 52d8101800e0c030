//! The three address spaces of a sampled instruction, as distinct types so
//! that one cannot be passed where another is meant:
//!
//! - [`AbsAddr`]: an address in a process's virtual memory (a sampled PC,
//!   a return address on the stack, a kernel address);
//! - [`FileOffset`]: an offset in the file a mapping maps;
//! - [`ElfAddr`]: an address in the ELF file's own layout (`p_vaddr`), what
//!   symbol tables, DWARF and `.eh_frame` use, and what `nm` and
//!   `addr2line` print.
//!
//! Each conversion is done in one place: a [`MappedRange`] (a line of
//! `/proc/PID/maps`) turns absolute addresses into file offsets and back,
//! a [`CodeSegment`] (an ELF program header) turns file offsets into ELF
//! addresses, and the [`LoadBias`] derived from the two turns absolute
//! addresses into ELF addresses, as the unwinder needs at every frame.

use std::fmt;

/// Page size the loader maps segments with (x86-64).
const PAGE_SIZE: u64 = 4096;

macro_rules! address_type {
    ($(#[doc = $doc:literal])+ $name:ident) => {
        $(#[doc = $doc])+
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(pub u64);

        impl fmt::LowerHex for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::LowerHex::fmt(&self.0, f)
            }
        }
    };
}

address_type! {
    /// An address in a process's virtual memory, as the CPU ran it.
    AbsAddr
}

address_type! {
    /// An offset in a mapped file.
    FileOffset
}

address_type! {
    /// An address in an ELF file's own layout (before load bias).
    ElfAddr
}

impl AbsAddr {
    /// The address `bytes` lower, wrapping (a caller frame's return
    /// address minus one lies inside its call instruction).
    pub fn minus(self, bytes: u64) -> AbsAddr {
        AbsAddr(self.0.wrapping_sub(bytes))
    }
}

/// A range of a process's memory that maps a file: `start` shows the
/// file's byte at `offset`. The one place where absolute addresses become
/// file offsets and back.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct MappedRange {
    /// First address.
    pub start: AbsAddr,
    /// One past the last address.
    pub end: AbsAddr,
    /// Offset in the file of `start`.
    pub offset: FileOffset,
}

impl MappedRange {
    /// Whether `addr` falls in the range.
    pub fn contains(&self, addr: AbsAddr) -> bool {
        (self.start..self.end).contains(&addr)
    }

    /// The file offset that `addr` (inside the range) maps.
    pub fn file_offset_of(&self, addr: AbsAddr) -> FileOffset {
        FileOffset(
            addr.0
                .wrapping_sub(self.start.0)
                .wrapping_add(self.offset.0),
        )
    }

    /// The address at which the file's byte at `offset` appears, if the
    /// range (extended past its end) reaches it without overflow.
    pub fn addr_of(&self, offset: FileOffset) -> Option<AbsAddr> {
        let past_start = offset.0.checked_sub(self.offset.0)?;
        self.start.0.checked_add(past_start).map(AbsAddr)
    }
}

/// An executable `PT_LOAD` segment: where its bytes are in the file and in
/// the ELF's address space. The one place where file offsets become ELF
/// addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CodeSegment {
    /// `p_offset`.
    pub file_offset: FileOffset,
    /// `p_vaddr`.
    pub address: ElfAddr,
}

impl CodeSegment {
    /// The ELF address of the file's byte at `offset`, if it is not before
    /// the segment.
    pub fn elf_addr_of(&self, offset: FileOffset) -> Option<ElfAddr> {
        let into_segment = offset.0.checked_sub(self.file_offset.0)?;
        self.address.0.checked_add(into_segment).map(ElfAddr)
    }
}

/// Run-time address minus ELF address for the code of one mapping: what
/// the unwinder subtracts from a PC to look it up in an unwind table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct LoadBias(pub u64);

impl LoadBias {
    /// The bias of a binary with these executable segments when `range`
    /// maps its code, or `None` if no segment begins in the range's first
    /// page.
    pub fn of(segments: &[CodeSegment], range: &MappedRange) -> Option<LoadBias> {
        // The mapping begins at the page holding the segment's first byte,
        // which may also hold the end of the previous segment.
        let segment = segments
            .iter()
            .find(|segment| segment.file_offset.0 / PAGE_SIZE * PAGE_SIZE == range.offset.0)?;
        let first_byte = segment.file_offset;
        let run_time = range.addr_of(first_byte)?;
        let in_elf = segment.elf_addr_of(first_byte)?;
        run_time.0.checked_sub(in_elf.0).map(LoadBias)
    }

    /// The ELF address of `addr`, wrapping as the BPF program does.
    pub fn elf_addr_of(self, addr: AbsAddr) -> ElfAddr {
        ElfAddr(addr.0.wrapping_sub(self.0))
    }

    /// The run-time address of `addr`, wrapping.
    pub fn abs_addr_of(self, addr: ElfAddr) -> AbsAddr {
        AbsAddr(addr.0.wrapping_add(self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mapping_converts_addresses_to_file_offsets_and_back() {
        let range = MappedRange {
            start: AbsAddr(0x5581_c0a0_1000),
            end: AbsAddr(0x5581_c0a0_5000),
            offset: FileOffset(0x1000),
        };
        assert!(range.contains(AbsAddr(0x5581_c0a0_1000)));
        assert!(!range.contains(AbsAddr(0x5581_c0a0_5000)));
        let addr = AbsAddr(0x5581_c0a0_1234);
        assert_eq!(range.file_offset_of(addr), FileOffset(0x1234));
        assert_eq!(range.addr_of(FileOffset(0x1234)), Some(addr));
        assert_eq!(range.addr_of(FileOffset(0xfff)), None);
    }

    #[test]
    fn load_bias_places_segments_that_share_a_page() {
        // A segment at file offset 0x86950, ELF address 0x87950: the kernel
        // maps the page at file offset 0x86000.
        let code = [CodeSegment {
            file_offset: FileOffset(0x86950),
            address: ElfAddr(0x87950),
        }];
        let start = AbsAddr(0x5555_5555_d000);
        let range = MappedRange {
            start,
            end: AbsAddr(start.0 + 0x10000),
            offset: FileOffset(0x86000),
        };
        let bias = LoadBias::of(&code, &range).unwrap();
        // The segment's first byte runs at start + 0x950.
        assert_eq!(bias.abs_addr_of(ElfAddr(0x87950)), AbsAddr(start.0 + 0x950));
        assert_eq!(bias.elf_addr_of(AbsAddr(start.0 + 0x950)), ElfAddr(0x87950));
        let elsewhere = MappedRange {
            offset: FileOffset(0x85000),
            ..range
        };
        assert_eq!(LoadBias::of(&code, &elsewhere), None);
    }

    #[test]
    fn a_segment_converts_file_offsets_to_elf_addresses() {
        let segment = CodeSegment {
            file_offset: FileOffset(0x1000),
            address: ElfAddr(0x401000),
        };
        assert_eq!(
            segment.elf_addr_of(FileOffset(0x1010)),
            Some(ElfAddr(0x401010))
        );
        assert_eq!(segment.elf_addr_of(FileOffset(0xfff)), None);
    }
}
