//! A reference stack walker over [`UnwindTable`]s: the algorithm the BPF
//! program runs, in plain Rust, so tests can prove that tables unwind real
//! stacks and the BPF side has an oracle to compare with.

use super::table::{Cfa, ReturnAddress, SavedFp, UnwindTable};
use crate::addr::{AbsAddr, LoadBias, MappedRange};

/// x86-64 PLT entries are 16 bytes long; the PLT rule looks at the offset
/// of the PC inside its entry.
const PLT_ENTRY_MASK: u64 = 15;
/// Bytes pushed by the PLT entry before it jumps to the resolver.
const PLT_PUSH: u64 = 8;

/// The registers a walk starts from (and carries from frame to frame).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Registers {
    /// Instruction pointer (RIP).
    pub pc: AbsAddr,
    /// Stack pointer (RSP): where `read` finds stack words.
    pub sp: u64,
    /// Frame pointer (RBP).
    pub fp: u64,
}

/// A table placed in a process: the executable range it covers at run
/// time and the load bias to subtract to get back to ELF addresses.
#[derive(Debug, Clone, Copy)]
pub struct LoadedTable<'a> {
    /// The table.
    pub table: &'a UnwindTable,
    /// Run-time addresses the table covers (the executable mapping).
    pub range: MappedRange,
    /// Run-time address minus ELF address.
    pub bias: LoadBias,
}

/// Why a walk stopped; the BPF side counts the same reasons per CPU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// The outermost frame: the return address is undefined or zero.
    EndOfStack,
    /// No loaded table covers the PC (JIT code, anonymous memory).
    NoTable,
    /// A table covers the mapping but not the PC (a gap between FDEs).
    NoUnwindInfo,
    /// The rule at the PC cannot be evaluated.
    UnsupportedRule,
    /// Reading the stack failed.
    ReadFailed,
    /// The stack did not grow towards the caller (a corrupt frame).
    NotProgressing,
    /// `max_frames` frames were collected.
    DepthLimit,
}

/// The frames of a walk, innermost first: the starting PC, then return
/// addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Walk {
    /// PCs, innermost first.
    pub frames: Vec<AbsAddr>,
    /// Why the walk stopped.
    pub stop: Stop,
}

/// Walks the stack from `registers`, reading 8-byte words of the stack with
/// `read` (which returns `None` for unreadable memory).
pub fn walk(
    tables: &[LoadedTable<'_>],
    mut registers: Registers,
    max_frames: usize,
    mut read: impl FnMut(u64) -> Option<u64>,
) -> Walk {
    let mut frames = Vec::new();
    loop {
        if frames.len() == max_frames {
            return Walk {
                frames,
                stop: Stop::DepthLimit,
            };
        }
        frames.push(registers.pc);
        // A return address points after the call, possibly past the end of
        // the caller's function: look up the call instruction itself.
        let lookup_pc = if frames.len() == 1 {
            registers.pc
        } else {
            registers.pc.minus(1)
        };
        match step(tables, registers, lookup_pc, &mut read) {
            Ok(next) => registers = next,
            Err(stop) => return Walk { frames, stop },
        }
    }
}

/// The caller's registers.
fn step(
    tables: &[LoadedTable<'_>],
    registers: Registers,
    lookup_pc: AbsAddr,
    read: &mut impl FnMut(u64) -> Option<u64>,
) -> Result<Registers, Stop> {
    let loaded = tables
        .iter()
        .find(|loaded| loaded.range.contains(lookup_pc))
        .ok_or(Stop::NoTable)?;
    let rule = loaded
        .table
        .lookup(loaded.bias.elf_addr_of(lookup_pc))
        .ok_or(Stop::NoUnwindInfo)?;
    if !rule.is_supported() {
        return Err(Stop::UnsupportedRule);
    }
    let offset = |base: u64, offset: i16| base.wrapping_add_signed(i64::from(offset));
    let cfa = match rule.cfa {
        Cfa::SpOffset(delta) => offset(registers.sp, delta),
        Cfa::FpOffset(delta) => offset(registers.fp, delta),
        Cfa::Plt {
            sp_offset,
            threshold,
        } => {
            let pushed = (registers.pc.0 & PLT_ENTRY_MASK) >= u64::from(threshold);
            offset(registers.sp, sp_offset) + if pushed { PLT_PUSH } else { 0 }
        }
        Cfa::None | Cfa::Unsupported => return Err(Stop::UnsupportedRule),
    };
    let pc = match rule.ra {
        ReturnAddress::AtCfaMinus8 => read(cfa.wrapping_sub(8)).ok_or(Stop::ReadFailed)?,
        ReturnAddress::Undefined => return Err(Stop::EndOfStack),
        ReturnAddress::Unsupported => return Err(Stop::UnsupportedRule),
    };
    let fp = match rule.fp {
        SavedFp::Unchanged => registers.fp,
        SavedFp::AtCfa(delta) => read(offset(cfa, delta)).ok_or(Stop::ReadFailed)?,
        SavedFp::Unsupported => return Err(Stop::UnsupportedRule),
    };
    if pc == 0 {
        return Err(Stop::EndOfStack);
    }
    if cfa <= registers.sp {
        return Err(Stop::NotProgressing);
    }
    Ok(Registers {
        pc: AbsAddr(pc),
        sp: cfa,
        fp,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::addr::FileOffset;
    use crate::unwind::table::{Arch, Row, Rule};

    /// The run-time addresses `start..end`, as a table's range.
    fn range(start: u64, end: u64) -> MappedRange {
        MappedRange {
            start: AbsAddr(start),
            end: AbsAddr(end),
            offset: FileOffset(0),
        }
    }

    const SP8: Rule = Rule {
        cfa: Cfa::SpOffset(8),
        fp: SavedFp::Unchanged,
        ra: ReturnAddress::AtCfaMinus8,
    };

    /// f at 0x1000 (frameless, 16 bytes of locals: CFA = SP + 24), g at
    /// 0x1100 (pushes RBP and uses it: CFA = RBP + 16, RBP at CFA - 16),
    /// start at 0x1200 (outermost), then a gap at 0x1300.
    fn table() -> UnwindTable {
        UnwindTable::from_sorted_rows(
            Arch::X86_64,
            Vec::new(),
            [
                Row::new(0x1000, SP8),
                Row::new(
                    0x1004,
                    Rule {
                        cfa: Cfa::SpOffset(24),
                        ..SP8
                    },
                ),
                Row::new(0x1100, SP8),
                Row::new(
                    0x1108,
                    Rule {
                        cfa: Cfa::FpOffset(16),
                        fp: SavedFp::AtCfa(-16),
                        ra: ReturnAddress::AtCfaMinus8,
                    },
                ),
                Row::new(
                    0x1200,
                    Rule {
                        ra: ReturnAddress::Undefined,
                        ..SP8
                    },
                ),
                Row::new(0x1300, Rule::NONE),
            ],
        )
    }

    /// A stack at 0x7000.. as f (at 0x1010) called from g (0x1150) called
    /// from start (0x1210), with the table loaded at bias 0x40_0000.
    #[test]
    fn walks_a_synthetic_stack_to_its_end() {
        let table = table();
        let bias = 0x40_0000;
        let loaded = [LoadedTable {
            table: &table,
            range: range(bias + 0x1000, bias + 0x2000),
            bias: LoadBias(bias),
        }];
        let stack: [(u64, u64); 3] = [
            (0x7010, bias + 0x1150), // f's return address at CFA(0x7018) - 8
            (0x7018, 0x7777),        // g's saved RBP at CFA(0x7028) - 16
            (0x7020, bias + 0x1210), // g's return address
        ];
        let read = |address| stack.iter().find(|(at, _)| *at == address).map(|(_, v)| *v);
        let start = Registers {
            pc: AbsAddr(bias + 0x1010),
            sp: 0x7000,
            fp: 0x7018,
        };
        let walk = walk(&loaded, start, 16, read);
        let frames = [bias + 0x1010, bias + 0x1150, bias + 0x1210].map(AbsAddr);
        assert_eq!(walk.frames, frames);
        assert_eq!(walk.stop, Stop::EndOfStack);

        let short = super::walk(&loaded, start, 2, read);
        assert_eq!(short.stop, Stop::DepthLimit);
        assert_eq!(short.frames.len(), 2);

        let nothing = |_| None;
        assert_eq!(
            super::walk(&loaded, start, 16, nothing).stop,
            Stop::ReadFailed
        );
        let in_gap = Registers {
            pc: AbsAddr(bias + 0x1300),
            ..start
        };
        assert_eq!(
            super::walk(&loaded, in_gap, 16, read).stop,
            Stop::NoUnwindInfo
        );
        let jit = Registers {
            pc: AbsAddr(0x9000),
            ..start
        };
        assert_eq!(super::walk(&loaded, jit, 16, read).stop, Stop::NoTable);
    }

    #[test]
    fn plt_rule_adds_the_push_from_the_threshold_on() {
        let plt = Rule {
            cfa: Cfa::Plt {
                sp_offset: 8,
                threshold: 11,
            },
            ..SP8
        };
        let table = UnwindTable::from_sorted_rows(
            Arch::X86_64,
            Vec::new(),
            [Row::new(0x20, plt), Row::new(0x40, Rule::NONE)],
        );
        let loaded = [LoadedTable {
            table: &table,
            range: range(0, 0x1000),
            bias: LoadBias(0),
        }];
        let read = |address| Some(address);
        for (pc, cfa) in [(0x26, 0x108), (0x2b, 0x110), (0x30, 0x108)] {
            let registers = Registers {
                pc: AbsAddr(pc),
                sp: 0x100,
                fp: 0,
            };
            let walk = walk(&loaded, registers, 2, read);
            // `read` returns the address it was asked for: the return
            // address slot, CFA - 8.
            assert_eq!(walk.frames[1], AbsAddr(cfa - 8), "pc {pc:#x}");
        }
    }

    proptest::proptest! {
        /// Garbage registers and stack contents end the walk within the
        /// frame limit, with the stack growing at every step.
        #[test]
        fn any_stack_contents_end_the_walk(
            pc in 0x40_0ff0u64..0x40_1400,
            sp in proptest::prelude::any::<u64>(),
            fp in proptest::prelude::any::<u64>(),
            seed in proptest::prelude::any::<u64>(),
        ) {
            let table = table();
            let bias = 0x40_0000;
            let loaded = [LoadedTable { table: &table, range: range(bias + 0x1000, bias + 0x1400), bias: LoadBias(bias) }];
            // Pseudo-random words, some of them pointing back into the code.
            let read = |address: u64| {
                let word = (address ^ seed).wrapping_mul(0x9e37_79b9_7f4a_7c15);
                Some(if word % 3 == 0 { bias + 0x1000 + word % 0x400 } else { word })
            };
            let walk = walk(&loaded, Registers { pc: AbsAddr(pc), sp, fp }, 32, read);
            proptest::prop_assert!(walk.frames.len() <= 32);
        }
    }

    #[test]
    fn a_frame_that_does_not_move_the_stack_stops_the_walk() {
        let table = UnwindTable::from_sorted_rows(
            Arch::X86_64,
            Vec::new(),
            [
                Row::new(
                    0x10,
                    Rule {
                        cfa: Cfa::FpOffset(0),
                        ..SP8
                    },
                ),
                Row::new(0x20, Rule::NONE),
            ],
        );
        let loaded = [LoadedTable {
            table: &table,
            range: range(0, 0x100),
            bias: LoadBias(0),
        }];
        let registers = Registers {
            pc: AbsAddr(0x10),
            sp: 0x500,
            fp: 0x400,
        };
        let walk = walk(&loaded, registers, 8, |_| Some(0x15));
        assert_eq!(walk.stop, Stop::NotProgressing);
    }
}
