//! The compact unwind table: fixed-size rows sorted by address, each saying
//! how to recover the caller's registers anywhere in its address range.
//!
//! The byte layout is documented in [the module above](super) and pinned by
//! the `layout_is_pinned` test, so a C header can mirror it.

use crate::addr::{CodeSegment, ElfAddr, LoadBias, MappedRange};

/// Size of one encoded [`Row`] in bytes.
pub const ROW_SIZE: usize = 12;

/// [`Row::cfa_kind`]: no unwind information covers this address (a gap
/// between functions or the end of the table); the BPF side falls back to
/// frame pointers.
pub const CFA_NONE: u8 = 0;
/// [`Row::cfa_kind`]: CFA = SP + `cfa_offset`.
pub const CFA_SP_OFFSET: u8 = 1;
/// [`Row::cfa_kind`]: CFA = FP (RBP on x86-64) + `cfa_offset`.
pub const CFA_FP_OFFSET: u8 = 2;
/// [`Row::cfa_kind`]: x86-64 PLT entries: CFA = RSP + `cfa_offset`, plus 8
/// when `(RIP & 15) >= aux` (past the entry's `push`).
pub const CFA_PLT: u8 = 3;
/// [`Row::cfa_kind`]: a rule the BPF side cannot evaluate (another base
/// register, an arbitrary DWARF expression, an offset beyond 16 bits); the
/// walk ends here.
pub const CFA_UNSUPPORTED: u8 = 4;

/// [`Row::fp_kind`]: the caller's frame pointer is the current one.
pub const FP_UNCHANGED: u8 = 0;
/// [`Row::fp_kind`]: the caller's frame pointer is saved at CFA + `fp_offset`.
pub const FP_AT_CFA_OFFSET: u8 = 1;
/// [`Row::fp_kind`]: any other rule; the walk ends here.
pub const FP_UNSUPPORTED: u8 = 2;

/// [`Row::ra_kind`]: the return address is undefined: the outermost frame
/// (`_start`, a thread's entry), where a walk ends normally.
pub const RA_UNDEFINED: u8 = 0;
/// [`Row::ra_kind`]: x86-64: the return address is saved at CFA - 8.
pub const RA_AT_CFA_MINUS_8: u8 = 1;
/// [`Row::ra_kind`]: any other rule; the walk ends here. Values above this
/// are reserved for arm64 (return address in the link register, or saved at
/// CFA + 8 × `aux` as a signed byte).
pub const RA_UNSUPPORTED: u8 = 2;

/// The instruction set a table describes; the register names in the rules
/// (SP, FP) are this architecture's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arch {
    /// x86-64: SP is RSP (DWARF 7), FP is RBP (DWARF 6), return address is
    /// DWARF column 16.
    X86_64,
}

/// How to find the canonical frame address (the caller's SP).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cfa {
    /// No unwind information covers the address.
    None,
    /// SP plus an offset.
    SpOffset(i16),
    /// FP plus an offset.
    FpOffset(i16),
    /// The x86-64 PLT pattern: SP + `sp_offset`, plus 8 when
    /// `(pc & 15) >= threshold`.
    Plt {
        /// Offset added to SP.
        sp_offset: i16,
        /// From which byte of the 16-byte entry the extra 8 applies.
        threshold: u8,
    },
    /// A rule the BPF side cannot evaluate.
    Unsupported,
}

/// How to recover the caller's frame pointer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SavedFp {
    /// Unchanged from the current frame.
    Unchanged,
    /// Saved at CFA plus an offset.
    AtCfa(i16),
    /// Any other rule.
    Unsupported,
}

/// How to recover the return address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReturnAddress {
    /// Undefined: the outermost frame.
    Undefined,
    /// Saved at CFA - 8 (x86-64).
    AtCfaMinus8,
    /// Any other rule.
    Unsupported,
}

/// The three rules of one address range, decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    /// The CFA.
    pub cfa: Cfa,
    /// The caller's frame pointer.
    pub fp: SavedFp,
    /// The return address.
    pub ra: ReturnAddress,
}

impl Rule {
    /// The rule of addresses without unwind information.
    pub const NONE: Rule = Rule {
        cfa: Cfa::None,
        fp: SavedFp::Unchanged,
        ra: ReturnAddress::Undefined,
    };

    /// Whether a walk can continue through a frame with this rule.
    pub fn is_supported(&self) -> bool {
        !matches!(self.cfa, Cfa::None | Cfa::Unsupported)
            && self.fp != SavedFp::Unsupported
            && self.ra != ReturnAddress::Unsupported
    }
}

/// One encoded row: the rule from `pc` up to the next row's `pc`.
///
/// `#[repr(C)]` with fields in layout order and no padding: byte for byte
/// what the BPF program reads from its array map.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Row {
    /// First address (ELF virtual address, before load bias) the row covers.
    pub pc: u32,
    /// One of the `CFA_*` constants.
    pub cfa_kind: u8,
    /// One of the `FP_*` constants.
    pub fp_kind: u8,
    /// One of the `RA_*` constants.
    pub ra_kind: u8,
    /// Extra operand of the CFA rule: the PLT threshold, else 0.
    pub aux: u8,
    /// Offset of the CFA rule.
    pub cfa_offset: i16,
    /// Offset of the frame pointer rule.
    pub fp_offset: i16,
}

impl Row {
    /// Encodes `rule` for the range starting at `pc`.
    pub fn new(pc: u32, rule: Rule) -> Row {
        let mut row = Row {
            pc,
            ..Row::default()
        };
        (row.cfa_kind, row.cfa_offset, row.aux) = match rule.cfa {
            Cfa::None => (CFA_NONE, 0, 0),
            Cfa::SpOffset(offset) => (CFA_SP_OFFSET, offset, 0),
            Cfa::FpOffset(offset) => (CFA_FP_OFFSET, offset, 0),
            Cfa::Plt {
                sp_offset,
                threshold,
            } => (CFA_PLT, sp_offset, threshold),
            Cfa::Unsupported => (CFA_UNSUPPORTED, 0, 0),
        };
        (row.fp_kind, row.fp_offset) = match rule.fp {
            SavedFp::Unchanged => (FP_UNCHANGED, 0),
            SavedFp::AtCfa(offset) => (FP_AT_CFA_OFFSET, offset),
            SavedFp::Unsupported => (FP_UNSUPPORTED, 0),
        };
        row.ra_kind = match rule.ra {
            ReturnAddress::Undefined => RA_UNDEFINED,
            ReturnAddress::AtCfaMinus8 => RA_AT_CFA_MINUS_8,
            ReturnAddress::Unsupported => RA_UNSUPPORTED,
        };
        row
    }

    /// Decodes the rule; kinds this version does not know read as
    /// unsupported, so a walk ends instead of guessing.
    pub fn rule(&self) -> Rule {
        let cfa = match self.cfa_kind {
            CFA_NONE => Cfa::None,
            CFA_SP_OFFSET => Cfa::SpOffset(self.cfa_offset),
            CFA_FP_OFFSET => Cfa::FpOffset(self.cfa_offset),
            CFA_PLT => Cfa::Plt {
                sp_offset: self.cfa_offset,
                threshold: self.aux,
            },
            _ => Cfa::Unsupported,
        };
        let fp = match self.fp_kind {
            FP_UNCHANGED => SavedFp::Unchanged,
            FP_AT_CFA_OFFSET => SavedFp::AtCfa(self.fp_offset),
            _ => SavedFp::Unsupported,
        };
        let ra = match self.ra_kind {
            RA_UNDEFINED => ReturnAddress::Undefined,
            RA_AT_CFA_MINUS_8 => ReturnAddress::AtCfaMinus8,
            _ => ReturnAddress::Unsupported,
        };
        Rule { cfa, fp, ra }
    }

    /// The row in its little-endian wire form.
    pub fn to_bytes(&self) -> [u8; ROW_SIZE] {
        let mut out = [0; ROW_SIZE];
        out[0..4].copy_from_slice(&self.pc.to_le_bytes());
        out[4] = self.cfa_kind;
        out[5] = self.fp_kind;
        out[6] = self.ra_kind;
        out[7] = self.aux;
        out[8..10].copy_from_slice(&self.cfa_offset.to_le_bytes());
        out[10..12].copy_from_slice(&self.fp_offset.to_le_bytes());
        out
    }

    /// Reads a row from its wire form.
    pub fn from_bytes(bytes: &[u8; ROW_SIZE]) -> Row {
        Row {
            pc: u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]),
            cfa_kind: bytes[4],
            fp_kind: bytes[5],
            ra_kind: bytes[6],
            aux: bytes[7],
            cfa_offset: i16::from_le_bytes([bytes[8], bytes[9]]),
            fp_offset: i16::from_le_bytes([bytes[10], bytes[11]]),
        }
    }
}

/// The unwind table of one executable or shared object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnwindTable {
    arch: Arch,
    rows: Vec<Row>,
    code: Vec<CodeSegment>,
}

impl UnwindTable {
    /// Builds a table from rows sorted by `pc`, merging neighbours with the
    /// same rule. The last row must be [`Rule::NONE`] (the end of coverage).
    pub(crate) fn from_sorted_rows(
        arch: Arch,
        code: Vec<CodeSegment>,
        sorted: impl IntoIterator<Item = Row>,
    ) -> Self {
        let mut rows: Vec<Row> = Vec::new();
        for row in sorted {
            // A later row at the same address replaces the earlier one.
            if rows.last().is_some_and(|last| last.pc == row.pc) {
                rows.pop();
            }
            if !rows.last().is_some_and(|last| same_rule(last, &row)) {
                rows.push(row);
            }
        }
        // A NONE row at the very start covers nothing useful.
        if rows.first().is_some_and(|row| row.cfa_kind == CFA_NONE) {
            rows.remove(0);
        }
        UnwindTable { arch, rows, code }
    }

    /// The architecture of the rules.
    pub fn arch(&self) -> Arch {
        self.arch
    }

    /// The load bias of the binary when `range` (a line of
    /// `/proc/PID/maps`) maps its code, or `None` if no executable segment
    /// begins in the range's first page.
    pub fn load_bias(&self, range: &MappedRange) -> Option<LoadBias> {
        LoadBias::of(&self.code, range)
    }

    /// The executable segments of the binary, which [`LoadBias::of`] needs
    /// once the rows are loaded elsewhere.
    pub fn code_segments(&self) -> &[CodeSegment] {
        &self.code
    }

    /// The rows, sorted by strictly increasing `pc`.
    pub fn rows(&self) -> &[Row] {
        &self.rows
    }

    /// Bytes the rows take once loaded (rows × [`ROW_SIZE`]).
    pub fn size_bytes(&self) -> usize {
        self.rows.len() * ROW_SIZE
    }

    /// The rule at `pc`, or `None` when no unwind information covers it.
    /// The same binary search the BPF side runs.
    pub fn lookup(&self, pc: ElfAddr) -> Option<Rule> {
        let pc = u32::try_from(pc.0).ok()?;
        let after = self.rows.partition_point(|row| row.pc <= pc);
        let row = self.rows.get(after.checked_sub(1)?)?;
        let rule = row.rule();
        (rule.cfa != Cfa::None).then_some(rule)
    }

    /// All rows in wire form, ready for a BPF array map.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.rows.iter().flat_map(Row::to_bytes).collect()
    }
}

fn same_rule(a: &Row, b: &Row) -> bool {
    Row { pc: 0, ..*a } == Row { pc: 0, ..*b }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::{align_of, offset_of, size_of};

    #[test]
    fn layout_is_pinned() {
        assert_eq!(size_of::<Row>(), ROW_SIZE);
        assert_eq!(align_of::<Row>(), 4);
        let offsets = [
            offset_of!(Row, pc),
            offset_of!(Row, cfa_kind),
            offset_of!(Row, fp_kind),
            offset_of!(Row, ra_kind),
            offset_of!(Row, aux),
            offset_of!(Row, cfa_offset),
            offset_of!(Row, fp_offset),
        ];
        assert_eq!(offsets, [0, 4, 5, 6, 7, 8, 10]);
    }

    #[test]
    fn rules_round_trip_through_bytes() {
        let rules = [
            Rule::NONE,
            Rule {
                cfa: Cfa::SpOffset(-32768),
                fp: SavedFp::AtCfa(-16),
                ra: ReturnAddress::AtCfaMinus8,
            },
            Rule {
                cfa: Cfa::FpOffset(16),
                fp: SavedFp::Unsupported,
                ra: ReturnAddress::Unsupported,
            },
            Rule {
                cfa: Cfa::Plt {
                    sp_offset: 8,
                    threshold: 11,
                },
                fp: SavedFp::Unchanged,
                ra: ReturnAddress::AtCfaMinus8,
            },
            Rule {
                cfa: Cfa::Unsupported,
                fp: SavedFp::Unchanged,
                ra: ReturnAddress::Undefined,
            },
        ];
        for rule in rules {
            let row = Row::new(0x1234_5678, rule);
            let back = Row::from_bytes(&row.to_bytes());
            assert_eq!(back, row);
            assert_eq!(back.rule(), rule);
        }
        assert_eq!(
            Row::new(0x0102_0304, Rule::NONE).to_bytes()[..4],
            [4, 3, 2, 1]
        );
    }

    #[test]
    fn unknown_kinds_decode_as_unsupported() {
        let row = Row {
            cfa_kind: 200,
            fp_kind: 200,
            ra_kind: 200,
            ..Row::default()
        };
        assert!(!row.rule().is_supported());
        assert_eq!(row.rule().cfa, Cfa::Unsupported);
    }

    #[test]
    fn merges_equal_neighbours_and_looks_up_ranges() {
        let sp8 = Rule {
            cfa: Cfa::SpOffset(8),
            fp: SavedFp::Unchanged,
            ra: ReturnAddress::AtCfaMinus8,
        };
        let sp16 = Rule {
            cfa: Cfa::SpOffset(16),
            ..sp8
        };
        let table = UnwindTable::from_sorted_rows(
            Arch::X86_64,
            Vec::new(),
            [
                Row::new(0x100, sp8),
                Row::new(0x104, sp16),
                Row::new(0x110, sp8),
                Row::new(0x120, sp8),
                Row::new(0x130, Rule::NONE),
                Row::new(0x140, sp8),
                Row::new(0x150, Rule::NONE),
            ],
        );
        let pcs: Vec<u32> = table.rows().iter().map(|row| row.pc).collect();
        assert_eq!(pcs, [0x100, 0x104, 0x110, 0x130, 0x140, 0x150]);
        assert_eq!(table.lookup(ElfAddr(0xff)), None);
        assert_eq!(table.lookup(ElfAddr(0x100)), Some(sp8));
        assert_eq!(table.lookup(ElfAddr(0x10f)), Some(sp16));
        assert_eq!(table.lookup(ElfAddr(0x12f)), Some(sp8));
        assert_eq!(table.lookup(ElfAddr(0x135)), None);
        assert_eq!(table.lookup(ElfAddr(0x14f)), Some(sp8));
        assert_eq!(table.lookup(ElfAddr(0x150)), None);
        assert_eq!(table.lookup(ElfAddr(u64::MAX)), None);
        assert_eq!(table.to_bytes().len(), table.size_bytes());
    }
}
