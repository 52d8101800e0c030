//! Names the local functions of this host's stripped libc from its
//! separate debug file (Debian's `libc6-dbg`, see scripts/apt-packages.txt),
//! and names its functions the same with DWARF and without.

use brasa_symbolizer::{
    addr::ElfAddr,
    elf::ElfSymbolizer,
    process::{MappedFile, ProcessMaps},
};
use object::{Object, ObjectSymbol};

/// The libc this test process runs on, opened through its mapping as the
/// agent opens it.
fn libc() -> std::sync::Arc<MappedFile> {
    let maps = ProcessMaps::snapshot(std::process::id()).unwrap();
    let mapping = maps
        .mappings
        .iter()
        .find(|m| m.path.ends_with("/libc.so.6"))
        .expect("this test runs on glibc");
    mapping.file.clone().expect("libc is readable")
}

/// The ELF address of the first symbol of `file` whose name starts with
/// `prefix`.
fn address_of(file: &std::path::Path, prefix: &str) -> u64 {
    let data = std::fs::read(file).unwrap();
    let elf = object::File::parse(&*data).unwrap();
    elf.symbols()
        .chain(elf.dynamic_symbols())
        .find(|s| s.name().is_ok_and(|n| n.starts_with(prefix)) && s.size() > 0)
        .map(|s| s.address())
        .unwrap_or_else(|| panic!("{file:?} has no {prefix}"))
}

#[test]
fn local_functions_of_a_stripped_library_are_named_from_its_debug_file() {
    let libc = libc();
    let debug = libc
        .debug_file
        .as_ref()
        .expect("libc6-dbg is installed (scripts/apt-packages.txt)");
    let msort = address_of(debug.read_path(), "msort_with_tmp");
    for mut symbolizer in [ElfSymbolizer::symbols_only(), ElfSymbolizer::default()] {
        let result = symbolizer.symbolize_elf_addrs(&libc, &[ElfAddr(msort + 4)]);
        let outer = result[0].lines().last().expect("msort_with_tmp is named");
        assert!(
            outer.function.starts_with("msort_with_tmp"),
            "{:?}",
            result[0]
        );
    }
}

#[test]
fn functions_are_named_the_same_with_dwarf_and_without() {
    let libc = libc();
    let start = address_of(libc.read_path(), "__libc_start_main");
    let qsort = address_of(libc.read_path(), "qsort");
    let addrs = [ElfAddr(start + 4), ElfAddr(qsort + 4)];
    let names = |mut symbolizer: ElfSymbolizer| -> Vec<String> {
        symbolizer
            .symbolize_elf_addrs(&libc, &addrs)
            .iter()
            .map(|r| r.lines().last().expect("named").function.clone())
            .collect()
    };
    let plain = names(ElfSymbolizer::symbols_only());
    assert_eq!(plain, names(ElfSymbolizer::default()));
    assert_eq!(plain[0], "__libc_start_main");
}
