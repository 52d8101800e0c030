//! User-space symbolization with blazesym.
//!
//! blazesym parses a binary once per path it is given, so each binary is
//! always handed over through the first open file seen with its build id:
//! the same library mapped by a hundred processes is parsed once. Results
//! are cached per (binary, file offset), since the same addresses recur in
//! every drain.

use std::{
    collections::{HashMap, VecDeque},
    path::Path,
    sync::Arc,
};

use blazesym::{
    symbolize::{
        self as blaze,
        evict::Evict,
        source::{Elf, Source},
        CodeInfo, Input, Reason, Sym, Symbolizer,
    },
    ErrorKind,
};

use crate::{
    addr::{ElfAddr, FileOffset},
    process::MappedFile,
    SourceLine, Symbolized, Unknown,
};

/// Resolved addresses kept before the result cache is cleared: about
/// 100 bytes each, so the cache stays in the tens of megabytes at worst.
pub const MAX_CACHED_ADDRESSES: usize = 1 << 17;

/// Binaries at least this large stay parsed only while they are among the
/// last few symbolized: parsing one with DWARF maps and indexes its debug
/// info, which costs about its size in memory, and the agent's budget is
/// 40 MiB. Smaller binaries (most shared libraries) stay parsed for the
/// next drain.
pub const LARGE_BINARY_BYTES: u64 = 16 << 20;
/// Large binaries kept parsed with DWARF: one at a time.
pub const LARGE_BINARIES_KEPT_WITH_DWARF: usize = 1;
/// Large binaries kept parsed from their symbol tables only, least
/// recently symbolized dropped first. blazesym 0.2.7 indexes a symbol
/// table with 8 bytes per symbol (under 1 MiB for the 109,000 symbols of
/// Debian's `node` 20) and reads the rest from the mapped file; a host often
/// runs several large binaries at once (a runtime, a server, a browser),
/// and indexing them again at every drain cost the agent more than all else
/// it did.
pub const LARGE_BINARIES_KEPT_SYMBOLS_ONLY: usize = 4;

/// Symbolizes file offsets in ELF binaries (see the module docs).
pub struct ElfSymbolizer {
    blaze: Symbolizer,
    /// Build id (or file identity) -> the open file blazesym reads it from.
    canonical: HashMap<String, Arc<MappedFile>>,
    /// The large binaries that stay parsed (see [`LARGE_BINARY_BYTES`]),
    /// the most recently symbolized last.
    large: VecDeque<Arc<MappedFile>>,
    /// How many of them stay parsed.
    large_kept: usize,
    /// (build id, address kind) -> address -> what it resolved to.
    results: HashMap<(String, AddressKind), HashMap<u64, Symbolized>>,
    /// Addresses in `results`.
    cached: usize,
    /// Whether DWARF is read (files, lines, inlined frames), or only the
    /// ELF symbol tables.
    debug_info: bool,
}

impl Default for ElfSymbolizer {
    fn default() -> Self {
        Self {
            blaze: Symbolizer::builder()
                .enable_code_info(true)
                .enable_inlined_fns(true)
                .enable_demangling(true)
                .build(),
            canonical: HashMap::new(),
            large: VecDeque::new(),
            large_kept: LARGE_BINARIES_KEPT_WITH_DWARF,
            results: HashMap::new(),
            cached: 0,
            debug_info: true,
        }
    }
}

impl std::fmt::Debug for ElfSymbolizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ElfSymbolizer")
            .field("binaries", &self.canonical.len())
            .field("cached_addresses", &self.cached)
            .finish()
    }
}

/// Which address space the addresses of a batch are in; results are
/// cached per space.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum AddressKind {
    FileOffset,
    Elf,
}

impl ElfSymbolizer {
    /// A symbolizer that reads only the ELF symbol tables, never DWARF:
    /// function names without files, lines or inlined frames, for a
    /// fraction of the CPU and memory. The always-on agent's choice: parsing
    /// the debug information of every binary a busy host runs costs more
    /// than the sampling itself.
    pub fn symbols_only() -> Self {
        Self {
            debug_info: false,
            large_kept: LARGE_BINARIES_KEPT_SYMBOLS_ONLY,
            ..Self::default()
        }
    }

    /// Resolves file offsets of `file`: one entry per offset, the lines of
    /// that address innermost first, or why it has none.
    pub fn symbolize(&mut self, file: &Arc<MappedFile>, offsets: &[FileOffset]) -> Vec<Symbolized> {
        let raw: Vec<u64> = offsets.iter().map(|offset| offset.0).collect();
        self.symbolize_kind(file, &raw, AddressKind::FileOffset)
    }

    /// Like [`Self::symbolize`], for addresses in the ELF file's own layout
    /// (what `nm`, `addr2line` and `llvm-symbolizer` take).
    pub fn symbolize_elf_addrs(
        &mut self,
        file: &Arc<MappedFile>,
        addrs: &[ElfAddr],
    ) -> Vec<Symbolized> {
        let raw: Vec<u64> = addrs.iter().map(|addr| addr.0).collect();
        self.symbolize_kind(file, &raw, AddressKind::Elf)
    }

    /// Resolves addresses of one kind, as plain numbers from here on: the
    /// cache and blazesym hold them per kind.
    fn symbolize_kind(
        &mut self,
        file: &Arc<MappedFile>,
        offsets: &[u64],
        kind: AddressKind,
    ) -> Vec<Symbolized> {
        let id = file
            .build_id
            .clone()
            .unwrap_or_else(|| file.read_path().display().to_string());
        let canonical = Arc::clone(
            self.canonical
                .entry(id.clone())
                .or_insert_with(|| Arc::clone(file)),
        );
        let key = (id, kind);
        let mut missing = self.missing(&key, offsets);
        if self.cached + missing.len() > MAX_CACHED_ADDRESSES {
            // Start over, and resolve the whole batch: what it found cached
            // is gone too.
            self.results.clear();
            self.cached = 0;
            missing = self.missing(&key, offsets);
        }
        if !missing.is_empty() {
            self.resolve_missing(&canonical, key.clone(), &missing);
        }
        // Every offset is cached by now; an empty batch has no entry at all.
        let known = self.results.get(&key);
        offsets
            .iter()
            .map(|offset| {
                known
                    .and_then(|k| k.get(offset))
                    .cloned()
                    .unwrap_or(Symbolized::Unknown(Unknown::SymbolizationFailed))
            })
            .collect()
    }

    /// The offsets without a cached result, sorted and each once.
    fn missing(&self, key: &(String, AddressKind), offsets: &[u64]) -> Vec<u64> {
        let known = self.results.get(key);
        let mut missing: Vec<u64> = offsets
            .iter()
            .copied()
            .filter(|offset| known.is_none_or(|k| !k.contains_key(offset)))
            .collect();
        missing.sort_unstable();
        missing.dedup();
        missing
    }

    fn resolve_missing(
        &mut self,
        file: &Arc<MappedFile>,
        key: (String, AddressKind),
        missing: &[u64],
    ) {
        self.make_room_for(file);
        let kind = key.1;
        let names = self.names(file, kind, missing);
        let resolved = if self.debug_info {
            let code = self.run(file.read_path(), true, kind, missing);
            code.into_iter()
                .zip(names)
                .map(|(code, name)| named_by_symbols(code, name))
                .collect()
        } else {
            names
        };
        let known = self.results.entry(key).or_default();
        known.extend(missing.iter().copied().zip(resolved));
        self.cached += missing.len();
    }

    /// Function names from the symbol tables: the binary's own, then, for
    /// addresses they miss (local functions of a stripped binary), its
    /// separate debug file's. Both the agent and `record` name functions
    /// this way, with or without DWARF.
    fn names(&mut self, file: &MappedFile, kind: AddressKind, missing: &[u64]) -> Vec<Symbolized> {
        let mut names = self.run(file.read_path(), false, kind, missing);
        let Some(debug) = &file.debug_file else {
            return names;
        };
        let (indexes, addrs): (Vec<usize>, Vec<u64>) = names
            .iter()
            .zip(missing)
            .enumerate()
            .filter(|(_, (name, _))| name.unknown() == Some(Unknown::NoSymbol))
            .filter_map(|(index, (_, &offset))| {
                let addr = match kind {
                    AddressKind::FileOffset => debug.elf_addr_of(offset)?,
                    AddressKind::Elf => offset,
                };
                Some((index, addr))
            })
            .unzip();
        if addrs.is_empty() {
            return names;
        }
        let found = self.run(debug.read_path(), false, AddressKind::Elf, &addrs);
        for (index, name) in indexes.into_iter().zip(found) {
            if name.unknown().is_none() {
                names[index] = name;
            }
        }
        names
    }

    /// One blazesym batch over the ELF file at `path`, with DWARF or
    /// without: one result per address, whatever happens.
    fn run(
        &mut self,
        path: &Path,
        dwarf: bool,
        kind: AddressKind,
        addrs: &[u64],
    ) -> Vec<Symbolized> {
        let mut elf = Elf::new(path);
        elf.debug_syms = dwarf;
        let source = Source::Elf(elf);
        let input = match kind {
            AddressKind::FileOffset => Input::FileOffset(addrs),
            AddressKind::Elf => Input::VirtOffset(addrs),
        };
        // A batch that fails as a whole gives every address the reason.
        let resolved = self.blaze.symbolize(&source, input);
        (0..addrs.len())
            .map(|index| match &resolved {
                Ok(resolved) => match resolved.get(index) {
                    Some(blaze::Symbolized::Sym(sym)) => {
                        Symbolized::from_lines(lines_of(sym).into())
                    }
                    Some(blaze::Symbolized::Unknown(reason)) => {
                        Symbolized::Unknown(unknown_because(*reason))
                    }
                    None => Symbolized::Unknown(Unknown::SymbolizationFailed),
                },
                Err(error) => Symbolized::Unknown(failed_because(error)),
            })
            .collect()
    }
}

/// DWARF's answer for an address (`code`: files, lines, inlined frames)
/// with the function that holds the code named as the symbol tables name
/// it (`symbol`), so names do not depend on whether DWARF was read (DWARF
/// calls glibc's `__libc_start_main` `__libc_start_main_impl`, for one).
fn named_by_symbols(code: Symbolized, symbol: Symbolized) -> Symbolized {
    let Some(named) = symbol.lines().last() else {
        return code;
    };
    match code {
        Symbolized::Frames(lines) => {
            let mut lines = lines.to_vec();
            if let Some(outer) = lines.last_mut() {
                outer.function.clone_from(&named.function);
            }
            Symbolized::from_lines(lines.into())
        }
        Symbolized::Unknown(_) => symbol,
    }
}

/// Our reason for one of blazesym's.
fn unknown_because(reason: Reason) -> Unknown {
    match reason {
        Reason::Unmapped => Unknown::NoMapping,
        Reason::MissingComponent => Unknown::NoFile,
        Reason::InvalidFileOffset | Reason::MissingSyms | Reason::UnknownAddr => Unknown::NoSymbol,
        _ => Unknown::SymbolizationFailed,
    }
}

/// Our reason for a batch that blazesym could not symbolize at all.
fn failed_because(error: &blazesym::Error) -> Unknown {
    match error.kind() {
        ErrorKind::NotFound | ErrorKind::PermissionDenied | ErrorKind::UnexpectedEof => {
            Unknown::FileUnreadable
        }
        _ => Unknown::SymbolizationFailed,
    }
}

impl ElfSymbolizer {
    /// Forgets binaries that nothing else holds open any more (their
    /// processes are gone): parsed data, cached results and the open file.
    pub fn forget_unmapped(&mut self) {
        let unused: Vec<String> = self
            .canonical
            .iter()
            .filter(|(_, file)| {
                let held_here = 1 + usize::from(self.large.iter().any(|l| Arc::ptr_eq(l, file)));
                Arc::strong_count(file) <= held_here
            })
            .map(|(id, _)| id.clone())
            .collect();
        for id in unused {
            if let Some(file) = self.canonical.remove(&id) {
                self.evict(&file);
                self.large.retain(|l| !Arc::ptr_eq(l, &file));
            }
            for kind in [AddressKind::FileOffset, AddressKind::Elf] {
                if let Some(known) = self.results.remove(&(id.clone(), kind)) {
                    self.cached -= known.len();
                }
            }
        }
    }

    /// Drops what blazesym holds parsed of `file` and of its debug file.
    fn evict(&mut self, file: &MappedFile) {
        let debug = file.debug_file.as_ref().map(|d| d.read_path());
        for path in std::iter::once(file.read_path()).chain(debug) {
            let evict = Evict::Elf(blazesym::symbolize::evict::Elf::new(path));
            // Nothing cached for it is not an error worth reporting.
            let _ = self.blaze.evict(&evict);
        }
    }

    /// Before parsing a large binary, forgets the least recently
    /// symbolized large one when too many are parsed.
    fn make_room_for(&mut self, file: &Arc<MappedFile>) {
        if file.size() < LARGE_BINARY_BYTES {
            return;
        }
        self.large.retain(|l| !Arc::ptr_eq(l, file));
        self.large.push_back(Arc::clone(file));
        while self.large.len() > self.large_kept {
            if let Some(oldest) = self.large.pop_front() {
                self.evict(&oldest);
            }
        }
    }
}

/// pprof order: the innermost inlined function first, the function that
/// holds the code last. blazesym lists them outermost first, each with the
/// position reached inside it.
fn lines_of(sym: &Sym<'_>) -> Vec<SourceLine> {
    let mut lines: Vec<SourceLine> = sym
        .inlined
        .iter()
        .rev()
        .map(|inlined| line(&inlined.name, inlined.code_info.as_ref()))
        .collect();
    lines.push(line(&sym.name, sym.code_info.as_deref()));
    lines
}

fn line(name: &str, code: Option<&CodeInfo<'_>>) -> SourceLine {
    SourceLine {
        function: name.to_owned(),
        system_name: String::new(),
        file: code
            .map(|c| c.to_path().display().to_string())
            .unwrap_or_default(),
        line: code.and_then(|c| c.line).unwrap_or(0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_that_cannot_be_read_is_unknown_because_unreadable() {
        let io = |kind| blazesym::Error::from(std::io::Error::from(kind));
        for kind in [
            std::io::ErrorKind::NotFound,
            std::io::ErrorKind::PermissionDenied,
        ] {
            assert_eq!(
                failed_because(&io(kind)),
                Unknown::FileUnreadable,
                "{kind:?}"
            );
        }
        let corrupt = io(std::io::ErrorKind::InvalidData);
        assert_eq!(failed_because(&corrupt), Unknown::SymbolizationFailed);
    }

    #[test]
    fn blazesym_reasons_become_ours() {
        assert_eq!(unknown_because(Reason::Unmapped), Unknown::NoMapping);
        assert_eq!(unknown_because(Reason::MissingComponent), Unknown::NoFile);
        assert_eq!(unknown_because(Reason::UnknownAddr), Unknown::NoSymbol);
        assert_eq!(
            unknown_because(Reason::Unsupported),
            Unknown::SymbolizationFailed
        );
    }
}
