//! Symbols for live recordings: the converter's [`Resolve`] backed by the
//! process snapshots, blazesym, kallsyms, the perf maps of JIT runtimes
//! and the code objects of Python processes.

use std::time::Duration;

use brasa_profile::error_chain;
use brasa_symbolizer::{
    addr::{AbsAddr, FileOffset},
    elf::ElfSymbolizer,
    kallsyms::KernelSymbols,
    SourceLine, Symbolized, Unknown,
};

use crate::{
    convert::Resolve,
    jit::{JvmPerfMaps, PerfMaps},
    processes::ProcessTable,
    python::names::PythonNames,
    raw::{RawMapping, RawPythonFrame, RawSample},
};

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
    /// The perf maps of processes with JIT code.
    pub perf_maps: PerfMaps,
    /// Asks JVMs for their perf maps, when enabled.
    jvm_perfmap: Option<JvmPerfMaps>,
    /// The code objects of Python processes.
    python: PythonNames,
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

    /// Asks every JVM sampled to write its perf map (`jcmd PID
    /// Compiler.perfmap`), at most once per `interval` each.
    pub fn ask_jvms_for_perf_maps(&mut self, interval: Duration) {
        self.jvm_perfmap = Some(JvmPerfMaps::new(interval));
    }

    /// Takes note of drained samples while their processes (most likely)
    /// still run: reads the maps of processes whose addresses the snapshots
    /// do not cover yet, the code objects of Python frames, and the perf
    /// maps of processes with addresses that may be JIT code (asking JVMs
    /// to write theirs, when enabled).
    pub fn drained(&mut self, samples: &[RawSample]) {
        self.processes.cover(samples);
        self.python.read(samples);
        let mut jit: Vec<u32> = samples
            .iter()
            .filter(|s| {
                s.user
                    .iter()
                    .any(|&a| self.processes.may_be_jit(s.pid, AbsAddr(a)))
            })
            .map(|s| s.pid)
            .collect();
        jit.sort_unstable();
        jit.dedup();
        self.perf_maps.refresh(jit.iter().copied());
        if let Some(jvms) = &mut self.jvm_perfmap {
            let mut pids: Vec<u32> = samples.iter().map(|s| s.pid).collect();
            pids.sort_unstable();
            pids.dedup();
            jvms.request(pids.into_iter().filter(|&pid| self.processes.is_jvm(pid)));
        }
    }

    /// Forgets exited processes and the binaries only they mapped; call it
    /// after converting the samples drained so far.
    pub fn forget_exited(&mut self) {
        self.processes.forget_exited();
        self.perf_maps.forget_exited();
        self.python.forget_exited();
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

    fn jit(&mut self, pid: u32, addrs: &[AbsAddr]) -> Option<Vec<Symbolized>> {
        let map = self.perf_maps.get(pid)?;
        Some(
            addrs
                .iter()
                .map(|&addr| match map.lookup(addr) {
                    Some(name) => Symbolized::Frames([SourceLine::function(&**name)].into()),
                    None => Symbolized::Unknown(Unknown::NotInPerfMap),
                })
                .collect(),
        )
    }

    fn python(&mut self, pid: u32, frames: &[RawPythonFrame]) -> Vec<Option<Symbolized>> {
        frames.iter().map(|f| self.python.name(pid, f)).collect()
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
    fn jit_addresses_are_named_from_the_perf_map_of_their_process() {
        let mut resolver = resolver();
        let map = brasa_symbolizer::perf_map::PerfMap::parse(b"7f0000 100 JS:*hot /a.js:1:1\n");
        resolver.perf_maps.insert(PID, map);
        let results = resolver
            .jit(PID, &[AbsAddr(0x7f0010), AbsAddr(0x7f0100)])
            .expect("the process has a perf map");
        assert_eq!(results[0].lines()[0].function, "JS:*hot /a.js:1:1");
        assert_eq!(results[1], Symbolized::Unknown(Unknown::NotInPerfMap));
        assert!(resolver.jit(PID + 1, &[AbsAddr(0x7f0010)]).is_none());
    }

    #[test]
    fn an_unreadable_binary_is_unknown_for_that_reason() {
        let mut resolver = resolver();
        let results = resolver.user(PID, &raw(0x1000), &[FileOffset(0x10), FileOffset(0x20)]);
        let unreadable = Symbolized::Unknown(Unknown::FileUnreadable);
        assert_eq!(results, [unreadable.clone(), unreadable]);
    }
}
