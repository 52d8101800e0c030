//! Shared by the unwind table tests: building the workloads of
//! `testdata/workloads/unwind/` and reading `readelf`'s view of their CFI.

#![allow(dead_code)] // Each test file uses a different part.

pub mod readelf;

use std::path::{Path, PathBuf};
use std::process::Command;

use brasa_symbolizer::addr::{AbsAddr, ElfAddr, LoadBias, MappedRange};

/// Debian's C library, the one `qsort` comes from.
pub const LIBC: &str = "/lib/x86_64-linux-gnu/libc.so.6";
/// GCC's C++ library (installed with clang).
pub const LIBSTDCXX: &str = "/usr/lib/x86_64-linux-gnu/libstdc++.so.6";

pub use brasa_test_support::workloads::run;

/// A source file of the unwind workloads.
pub fn workload_source(name: &str) -> PathBuf {
    brasa_test_support::testdata("workloads/unwind").join(name)
}

/// Builds `chain.c` into `dir` with `-O2 -fomit-frame-pointer` and `extra`
/// flags.
pub fn build_c_chain(dir: &Path, name: &str, extra: &[&str]) -> PathBuf {
    let out = dir.join(name);
    run(Command::new("clang")
        .args(["-O2", "-fomit-frame-pointer"])
        .args(extra)
        .arg(workload_source("chain.c"))
        .arg("-o")
        .arg(&out));
    out
}

/// Builds `chain.rs` into `dir` as a release build without frame pointers.
pub fn build_rust_chain(dir: &Path) -> PathBuf {
    let out = dir.join("chain-rs");
    run(Command::new("rustc")
        .args(["-O", "-C", "force-frame-pointers=no", "--edition", "2021"])
        .arg(workload_source("chain.rs"))
        .arg("-o")
        .arg(&out));
    out
}

/// The tables of a process's executable file mappings, and where each is
/// loaded.
pub struct Loaded {
    /// Per mapping: table, run-time range, load bias, path.
    pub modules: Vec<(
        brasa_symbolizer::unwind::UnwindTable,
        MappedRange,
        LoadBias,
        String,
    )>,
}

impl Loaded {
    /// Builds the tables of every executable mapping of `maps` (text of
    /// `/proc/PID/maps`) whose file exists.
    pub fn from_maps(maps: &str) -> Loaded {
        let lines = brasa_symbolizer::process::parse_maps(maps, Path::new("maps")).unwrap();
        let modules = lines
            .iter()
            .filter(|line| line.is_executable() && line.path.starts_with('/'))
            .map(|line| {
                let path = Path::new(&line.path);
                let table = brasa_symbolizer::unwind::build_from_path(path)
                    .unwrap()
                    .table;
                let bias = table.load_bias(&line.range).expect("code mapping");
                (table, line.range, bias, line.path.clone())
            })
            .collect();
        Loaded { modules }
    }

    /// The walker's view.
    pub fn tables(&self) -> Vec<brasa_symbolizer::unwind::LoadedTable<'_>> {
        self.modules
            .iter()
            .map(
                |(table, range, bias, _)| brasa_symbolizer::unwind::LoadedTable {
                    table,
                    range: *range,
                    bias: *bias,
                },
            )
            .collect()
    }

    /// The module holding `pc`: its path and the ELF address of `pc`.
    pub fn locate(&self, pc: AbsAddr) -> Option<(&str, ElfAddr)> {
        let (_, _, bias, path) = self
            .modules
            .iter()
            .find(|(_, range, _, _)| range.contains(pc))?;
        Some((path, bias.elf_addr_of(pc)))
    }
}

/// The name of the function of the ELF symbol table of `path` that holds
/// `address`.
pub fn function_at(path: &Path, address: ElfAddr) -> Option<String> {
    let ElfAddr(address) = address;
    use object::{Object, ObjectSymbol, SymbolKind};
    let data = std::fs::read(path).unwrap();
    let file = object::File::parse(&*data).unwrap();
    let symbols = file.symbols().chain(file.dynamic_symbols());
    symbols
        .filter(|symbol| symbol.kind() == SymbolKind::Text)
        .find(|symbol| symbol.address() <= address && address < symbol.address() + symbol.size())
        .and_then(|symbol| symbol.name().ok().map(str::to_owned))
}
