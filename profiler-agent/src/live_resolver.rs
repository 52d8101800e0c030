//! Symbols for live recordings: the converter's [`Resolve`] backed by the
//! process snapshots, blazesym and kallsyms.

use brasa_profile::error_chain;
use brasa_symbolizer::{
    addr::{AbsAddr, FileOffset},
    elf::ElfSymbolizer,
    kallsyms::KernelSymbols,
    Lines,
};

use crate::{convert::Resolve, processes::ProcessTable, raw::RawMapping};

/// Resolves addresses of the processes in its [`ProcessTable`].
#[derive(Debug, Default)]
pub struct LiveResolver {
    /// Where the binaries of each process are.
    pub processes: ProcessTable,
    elf: ElfSymbolizer,
    /// Loaded on the first kernel address; `Err` when unreadable.
    kernel: Option<Result<KernelSymbols, String>>,
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
        self.kernel.as_ref()?.as_ref().err().map(String::as_str)
    }
}

impl Resolve for LiveResolver {
    fn user(&mut self, pid: u32, mapping: &RawMapping, offsets: &[FileOffset]) -> Vec<Lines> {
        match self.processes.file_at(pid, mapping.range.start) {
            Some(file) => {
                let file = file.clone();
                self.elf.symbolize(&file, offsets)
            }
            None => vec![Lines::from([]); offsets.len()],
        }
    }

    fn kernel(&mut self, addrs: &[AbsAddr]) -> Vec<Lines> {
        let symbols = self
            .kernel
            .get_or_insert_with(|| KernelSymbols::load().map_err(|e| error_chain(&e)));
        match symbols {
            Ok(symbols) => symbols.symbolize(addrs),
            Err(_) => vec![Lines::from([]); addrs.len()],
        }
    }
}
