//! Symbols for live recordings: the converter's [`Resolve`] backed by the
//! process snapshots, blazesym and kallsyms.

use brasa_profile::error_chain;
use brasa_symbolizer::{
    addr::{AbsAddr, FileOffset},
    elf::ElfSymbolizer,
    kallsyms::KernelSymbols,
    Symbolized, Unknown,
};

use crate::{convert::Resolve, processes::ProcessTable, raw::RawMapping};

/// Why the kernel's symbols could not be loaded.
#[derive(Debug)]
struct KernelProblem {
    /// What every kernel address is unknown for.
    reason: Unknown,
    /// The error and its causes on one line.
    message: String,
}

/// Resolves addresses of the processes in its [`ProcessTable`].
#[derive(Debug, Default)]
pub struct LiveResolver {
    /// Where the binaries of each process are.
    pub processes: ProcessTable,
    elf: ElfSymbolizer,
    /// Loaded on the first kernel address.
    kernel: Option<Result<KernelSymbols, KernelProblem>>,
}

impl LiveResolver {
    /// A resolver that names functions from ELF symbol tables only, never
    /// parsing DWARF (see [`ElfSymbolizer::symbols_only`]).
    pub fn symbols_only() -> Self {
        Self {
            elf: ElfSymbolizer::symbols_only(),
            ..Self::default()
        }
    }

    /// Forgets exited processes and the binaries only they mapped; call it
    /// after converting the samples drained so far.
    pub fn forget_exited(&mut self) {
        self.processes.forget_exited();
        self.elf.forget_unmapped();
    }

    /// Why kernel frames are unsymbolized, if they are: the error and its
    /// causes on one line.
    pub fn kernel_problem(&self) -> Option<&str> {
        let problem = self.kernel.as_ref()?.as_ref().err()?;
        Some(&problem.message)
    }
}

impl Resolve for LiveResolver {
    fn user(&mut self, pid: u32, mapping: &RawMapping, offsets: &[FileOffset]) -> Vec<Symbolized> {
        match self.processes.file_at(pid, mapping.range.start) {
            Ok(file) => {
                let file = file.clone();
                self.elf.symbolize(&file, offsets)
            }
            Err(reason) => vec![Symbolized::Unknown(reason); offsets.len()],
        }
    }

    fn kernel(&mut self, addrs: &[AbsAddr]) -> Vec<Symbolized> {
        let symbols = self.kernel.get_or_insert_with(|| {
            KernelSymbols::load().map_err(|error| KernelProblem {
                reason: error.unknown(),
                message: error_chain(&error),
            })
        });
        match symbols {
            Ok(symbols) => symbols.symbolize(addrs),
            Err(problem) => vec![Symbolized::Unknown(problem.reason); addrs.len()],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use brasa_symbolizer::{
        addr::MappedRange,
        process::{Mapping, ProcessMaps},
    };

    const PID: u32 = 4242;

    fn range(start: u64) -> MappedRange {
        MappedRange {
            start: AbsAddr(start),
            end: AbsAddr(start + 0x1000),
            offset: FileOffset(0),
        }
    }

    fn raw(start: u64) -> RawMapping {
        RawMapping {
            range: range(start),
            build_id: String::new(),
            path: "/usr/lib/libgone.so".into(),
        }
    }

    /// A resolver that knows one process, whose only mapping's binary
    /// could not be opened.
    fn resolver() -> LiveResolver {
        let mut resolver = LiveResolver::default();
        resolver.processes.insert(ProcessMaps {
            pid: PID,
            mappings: vec![Mapping {
                range: range(0x1000),
                path: "/usr/lib/libgone.so".into(),
                file: None,
            }],
        });
        resolver
    }

    #[test]
    fn an_address_outside_every_known_mapping_is_unknown_for_want_of_one() {
        let mut resolver = resolver();
        let offsets = [FileOffset(0x10)];
        for (pid, start) in [(PID, 0x8000), (PID + 1, 0x1000)] {
            let results = resolver.user(pid, &raw(start), &offsets);
            assert_eq!(results, [Symbolized::Unknown(Unknown::NoMapping)]);
        }
    }

    #[test]
    fn an_unreadable_binary_is_unknown_for_that_reason() {
        let mut resolver = resolver();
        let results = resolver.user(PID, &raw(0x1000), &[FileOffset(0x10), FileOffset(0x20)]);
        let unreadable = Symbolized::Unknown(Unknown::FileUnreadable);
        assert_eq!(results, [unreadable.clone(), unreadable]);
    }
}
