//! Symbols a binary exports by name (`.dynsym`), for agents that find a
//! runtime's state in a process's memory (CPython's `_PyRuntime`).

use std::path::Path;

use object::{Object, ObjectSegment, ObjectSymbol};

use crate::{Error, Result};

/// Where an exported symbol lives, in the binary's own addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExportedSymbol {
    /// The symbol's ELF virtual address.
    pub address: u64,
    /// The first loadable segment's virtual address minus its file offset:
    /// a mapping of file offset `o` at run-time address `a` has load bias
    /// `a - o - base`.
    pub base: u64,
}

/// Looks up `name` among the dynamic symbols of the ELF file at `path`;
/// `None` when the file does not export it.
pub fn exported_symbol(path: &Path, name: &str) -> Result<Option<ExportedSymbol>> {
    let data = std::fs::read(path).map_err(|source| Error::Io {
        path: path.to_owned(),
        source,
    })?;
    let file = object::File::parse(&*data).map_err(|source| Error::NotElf {
        path: path.to_owned(),
        source,
    })?;
    let Some(symbol) = file
        .dynamic_symbols()
        .find(|s| s.name() == Ok(name) && s.address() != 0)
    else {
        return Ok(None);
    };
    let base = file
        .segments()
        .next()
        .map(|segment| segment.address() - segment.file_range().0)
        .unwrap_or(0);
    Ok(Some(ExportedSymbol {
        address: symbol.address(),
        base,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_a_symbol_libc_exports_and_not_one_it_does_not() {
        let libc = Path::new("/lib/x86_64-linux-gnu/libc.so.6");
        let found = exported_symbol(libc, "malloc")
            .unwrap()
            .expect("libc exports malloc");
        assert_ne!(found.address, 0);
        assert_eq!(
            exported_symbol(libc, "no_such_symbol_in_libc").unwrap(),
            None
        );
    }
}
