//! Kernel symbols from `/proc/kallsyms`.
//!
//! Only text symbols are kept, in one sorted table with a shared string
//! arena: the host kernel has ~200,000 of them and the agent's memory budget
//! is tight.

use std::{
    fs::File,
    io::{BufRead, BufReader},
    path::{Path, PathBuf},
};

use crate::{
    addr::AbsAddr,
    hex::{hex_bytes, parse_hex_u64},
    Error, Lines, Result, SourceLine, Symbolized, Unknown,
};

/// Where the kernel publishes its symbols.
pub const KALLSYMS_PATH: &str = "/proc/kallsyms";

/// Where the kernel publishes its ELF notes, the GNU build id among them.
pub const KERNEL_NOTES_PATH: &str = "/sys/kernel/notes";
/// `NT_GNU_BUILD_ID`.
const NT_GNU_BUILD_ID: u32 = 3;

/// Hex build id of the running kernel, when `/sys/kernel/notes` has one.
pub fn kernel_build_id() -> Option<String> {
    build_id_from_notes(&std::fs::read(KERNEL_NOTES_PATH).ok()?)
}

/// Finds the GNU build id in a sequence of ELF notes (native endianness,
/// 4-byte aligned name and descriptor).
fn build_id_from_notes(mut notes: &[u8]) -> Option<String> {
    let word = |bytes: &[u8], at: usize| -> Option<u32> {
        Some(u32::from_ne_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
    };
    let aligned = |n: usize| n.checked_add(3).map(|n| n & !3);
    while notes.len() >= 12 {
        let (name_size, desc_size, kind) = (word(notes, 0)?, word(notes, 4)?, word(notes, 8)?);
        let name_end = 12usize.checked_add(aligned(name_size as usize)?)?;
        let desc_end = name_end.checked_add(aligned(desc_size as usize)?)?;
        let name = notes.get(12..12 + name_size as usize)?;
        let desc = notes.get(name_end..name_end + desc_size as usize)?;
        if kind == NT_GNU_BUILD_ID && name == b"GNU\0" {
            return Some(hex_bytes(desc));
        }
        notes = notes.get(desc_end..)?;
    }
    None
}

/// An address further than this past the nearest symbol start is not taken
/// to belong to it: kallsyms has no sizes, and gaps between text sections
/// would otherwise be blamed on their last symbol. 1 MiB is larger than any
/// kernel function.
pub const MAX_SYMBOL_SPAN: u64 = 1 << 20;

/// Text symbols of the running kernel, sorted by address.
#[derive(Debug, Default)]
pub struct KernelSymbols {
    starts: Vec<u64>,
    /// (offset, length) of each name in `arena`.
    names: Vec<(u32, u32)>,
    arena: String,
}

impl KernelSymbols {
    /// Reads `/proc/kallsyms`.
    pub fn load() -> Result<Self> {
        Self::load_path(Path::new(KALLSYMS_PATH))
    }

    /// Reads a file in the kallsyms format.
    pub fn load_path(path: &Path) -> Result<Self> {
        let io = |source| Error::Io {
            path: path.to_owned(),
            source,
        };
        let file = File::open(path).map_err(io)?;
        Self::read(BufReader::new(file), path)
    }

    /// Parses the kallsyms format (`ADDRESS TYPE NAME [MODULE]` per line);
    /// `path` names the source in errors.
    pub fn read(reader: impl BufRead, path: &Path) -> Result<Self> {
        let mut symbols: Vec<(u64, u32, u32)> = Vec::new();
        let mut arena = String::new();
        let mut nonzero = false;
        for (index, line) in reader.lines().enumerate() {
            let line = line.map_err(|source| Error::Io {
                path: path.to_owned(),
                source,
            })?;
            let malformed = || Error::Malformed {
                path: PathBuf::from(path),
                line: index + 1,
                text: line.clone(),
            };
            let mut fields = line.split_ascii_whitespace();
            let (Some(addr), Some(kind), Some(name)) =
                (fields.next(), fields.next(), fields.next())
            else {
                return Err(malformed());
            };
            let addr = parse_hex_u64(addr).ok_or_else(malformed)?;
            nonzero |= addr != 0;
            if !matches!(kind, "t" | "T" | "w" | "W") {
                continue;
            }
            let offset = u32::try_from(arena.len()).map_err(|_| malformed())?;
            arena.push_str(name);
            symbols.push((addr, offset, name.len() as u32));
        }
        if !symbols.is_empty() && !nonzero {
            return Err(Error::KernelAddressesHidden);
        }
        symbols.sort_unstable_by_key(|s| s.0);
        arena.shrink_to_fit();
        Ok(Self {
            starts: symbols.iter().map(|s| s.0).collect(),
            names: symbols.iter().map(|s| (s.1, s.2)).collect(),
            arena,
        })
    }

    /// Number of symbols.
    pub fn len(&self) -> usize {
        self.starts.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.starts.is_empty()
    }

    /// The symbol containing `addr`, if any.
    pub fn resolve(&self, addr: AbsAddr) -> Option<&str> {
        let AbsAddr(addr) = addr;
        let index = self
            .starts
            .partition_point(|&start| start <= addr)
            .checked_sub(1)?;
        if addr - self.starts[index] > MAX_SYMBOL_SPAN {
            return None;
        }
        let (offset, len) = self.names[index];
        self.arena.get(offset as usize..(offset + len) as usize)
    }

    /// One entry per address: its function, or [`Unknown::NoSymbol`].
    pub fn symbolize(&self, addrs: &[AbsAddr]) -> Vec<Symbolized> {
        addrs
            .iter()
            .map(|&addr| match self.resolve(addr) {
                Some(name) => Symbolized::Frames(Lines::from([SourceLine::function(name)])),
                None => Symbolized::Unknown(Unknown::NoSymbol),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<KernelSymbols> {
        KernelSymbols::read(text.as_bytes(), Path::new("kallsyms"))
    }

    #[test]
    fn resolves_text_symbols_by_nearest_start() {
        let symbols = parse(
            "ffffffff81000200 T second\n\
             ffffffff81000000 T _stext\n\
             ffffffff81000100 d some_data\n\
             ffffffffc0000000 t mod_fn\t[nf_tables]\n",
        )
        .unwrap();
        assert_eq!(symbols.len(), 3);
        assert_eq!(symbols.resolve(AbsAddr(0xffffffff81000000)), Some("_stext"));
        assert_eq!(symbols.resolve(AbsAddr(0xffffffff81000150)), Some("_stext"));
        assert_eq!(symbols.resolve(AbsAddr(0xffffffff81000201)), Some("second"));
        assert_eq!(symbols.resolve(AbsAddr(0xffffffffc0000010)), Some("mod_fn"));
        assert_eq!(symbols.resolve(AbsAddr(0xffffffff80000000)), None);
        assert_eq!(
            symbols.resolve(AbsAddr(0xffffffff81000200 + MAX_SYMBOL_SPAN + 1)),
            None
        );
    }

    #[test]
    fn hidden_addresses_are_an_error_that_says_what_to_do() {
        let err = parse("0000000000000000 T _stext\n0000000000000000 T x\n").unwrap_err();
        assert!(err.to_string().contains("root"), "{err}");
    }

    fn note(name: &[u8], kind: u32, desc: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&(name.len() as u32).to_ne_bytes());
        out.extend_from_slice(&(desc.len() as u32).to_ne_bytes());
        out.extend_from_slice(&kind.to_ne_bytes());
        for part in [name, desc] {
            out.extend_from_slice(part);
            out.resize(out.len().div_ceil(4) * 4, 0);
        }
        out
    }

    #[test]
    fn build_id_is_found_among_other_notes() {
        let mut notes = note(b"Linux\0", 6, &[1, 1, 0, 0]);
        notes.extend(note(b"GNU\0", NT_GNU_BUILD_ID, &[0xab, 0xcd, 0x01]));
        assert_eq!(build_id_from_notes(&notes).as_deref(), Some("abcd01"));
        assert_eq!(build_id_from_notes(&note(b"Linux\0", 6, &[1])), None);
        assert_eq!(build_id_from_notes(&notes[..20]), None, "truncated");
        assert_eq!(build_id_from_notes(&[0xff; 12]), None, "absurd sizes");
    }

    #[test]
    fn malformed_lines_are_reported_with_their_number() {
        let err = parse("ffffffff81000000 T ok\nnot-hex T bad\n").unwrap_err();
        assert!(err.to_string().contains("line 2"), "{err}");
    }

    #[test]
    fn unknown_addresses_symbolize_to_no_lines() {
        let symbols = parse("ffffffff81000000 T f\n").unwrap();
        let lines = symbolizer_output(&symbols);
        assert_eq!(lines[0].lines(), &[SourceLine::function("f")]);
        assert!(lines[1].lines().is_empty());
        assert_eq!(lines[1].unknown(), Some(Unknown::NoSymbol));
    }

    fn symbolizer_output(symbols: &KernelSymbols) -> Vec<Symbolized> {
        symbols.symbolize(&[AbsAddr(0xffffffff81000010), AbsAddr(0x1000)])
    }
}
