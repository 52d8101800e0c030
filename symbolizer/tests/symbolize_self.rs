//! Symbolizes this very test process: its own code through its memory
//! maps, and the running kernel.

use std::hint::black_box;

use brasa_symbolizer::{
    addr::{AbsAddr, FileOffset},
    elf::ElfSymbolizer,
    hex::parse_hex_u64,
    kallsyms::KernelSymbols,
    process::{MappedFile, ProcessMaps},
    Unknown,
};

/// The address of the instruction after the `lea`, inside whatever function
/// this is inlined into.
#[inline(always)]
fn inlined_probe() -> AbsAddr {
    let pc: u64;
    // SAFETY: reads the instruction pointer into a register, nothing else.
    unsafe { std::arch::asm!("lea {}, [rip]", out(reg) pc, options(nomem, nostack)) };
    AbsAddr(black_box(pc))
}

#[inline(never)]
fn outer_function() -> AbsAddr {
    black_box(inlined_probe())
}

#[test]
fn own_code_resolves_to_function_file_line_and_inlined_frames() {
    let pc = outer_function();
    let maps = ProcessMaps::snapshot(std::process::id()).unwrap();
    let mapping = maps.find(pc).expect("own code is mapped");
    let file = mapping.file.clone().expect("own binary is open");
    assert!(mapping.build_id().is_some_and(|id| !id.is_empty()));
    let mut symbolizer = ElfSymbolizer::default();
    let offset = mapping.range.file_offset_of(pc);
    let lines = symbolizer.symbolize(&file, &[offset, FileOffset(u64::MAX / 2)]);

    // This crate is optimised in dev builds too (see the workspace
    // manifest), which also inlines `black_box` at the probed instruction:
    // leave out the standard library's frames before ours.
    let ours: Vec<_> = lines[0]
        .lines()
        .iter()
        .skip_while(|l| l.function.starts_with("core::"))
        .collect();
    let names: Vec<&str> = ours.iter().map(|l| l.function.as_str()).collect();
    assert_eq!(
        names.len(),
        2,
        "inlined callee then its function: {:?}",
        lines[0]
    );
    assert!(names[0].ends_with("inlined_probe"), "{names:?}");
    assert!(names[1].ends_with("outer_function"), "{names:?}");
    assert!(
        !names[1].contains("17h"),
        "demangled without hash: {names:?}"
    );
    assert!(ours[0].file.ends_with("symbolize_self.rs"), "{:?}", ours[0]);
    assert!(ours[0].line > 0 && ours[1].line > 0);
    assert_eq!(
        lines[1].unknown(),
        Some(Unknown::NoSymbol),
        "an offset past the file resolves to nothing"
    );
}

#[test]
fn symbols_only_names_the_function_without_reading_dwarf() {
    let pc = outer_function();
    let maps = ProcessMaps::snapshot(std::process::id()).unwrap();
    let mapping = maps.find(pc).unwrap();
    let file = mapping.file.clone().unwrap();
    let mut symbolizer = ElfSymbolizer::symbols_only();
    let lines = symbolizer.symbolize(&file, &[mapping.range.file_offset_of(pc)]);
    // The symbol table knows the function the code sits in, not what was
    // inlined into it, nor files and lines: those live in DWARF.
    let lines = lines[0].lines();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].function.ends_with("outer_function"), "{lines:?}");
    assert!(lines[0].file.is_empty() && lines[0].line == 0, "{lines:?}");
}

#[test]
fn same_build_id_is_parsed_once_and_served_from_the_cache() {
    let pc = outer_function();
    let maps = ProcessMaps::snapshot(std::process::id()).unwrap();
    let mapping = maps.find(pc).unwrap();
    let offset = mapping.range.file_offset_of(pc);
    // The same binary opened a second time, as another process would map it.
    let again = MappedFile::open(&std::fs::read_link("/proc/self/exe").unwrap()).unwrap();
    assert_eq!(again.build_id.as_deref(), mapping.build_id());

    let mut symbolizer = ElfSymbolizer::default();
    let first = symbolizer.symbolize(mapping.file.as_ref().unwrap(), &[offset]);
    let second = symbolizer.symbolize(&again, &[offset]);
    assert_eq!(first, second);
    let debug = format!("{symbolizer:?}");
    assert!(debug.contains("binaries: 1"), "{debug}");
    assert!(debug.contains("cached_addresses: 1"), "{debug}");

    // Still mapped (this process, `again`): kept.
    symbolizer.forget_unmapped();
    assert!(format!("{symbolizer:?}").contains("binaries: 1"));
    // Once nobody holds it, the binary and its results go.
    drop(maps);
    drop(again);
    symbolizer.forget_unmapped();
    let debug = format!("{symbolizer:?}");
    assert!(
        debug.contains("binaries: 0") && debug.contains("cached_addresses: 0"),
        "{debug}"
    );
}

#[test]
fn deleted_binary_is_still_symbolized_through_its_open_file() {
    let exe = std::fs::read_link("/proc/self/exe").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("copy");
    std::fs::copy(&exe, &copy).unwrap();
    let file = MappedFile::open(&copy).unwrap();
    std::fs::remove_file(&copy).unwrap();

    let pc = outer_function();
    let maps = ProcessMaps::snapshot(std::process::id()).unwrap();
    let offset = maps.find(pc).unwrap().range.file_offset_of(pc);
    let lines = ElfSymbolizer::default().symbolize(&file, &[offset]);
    assert!(lines[0]
        .lines()
        .last()
        .is_some_and(|l| l.function.ends_with("outer_function")));
}

#[test]
fn kernel_addresses_resolve_through_kallsyms() {
    let symbols = KernelSymbols::load().expect("root reads /proc/kallsyms");
    assert!(symbols.len() > 10_000);
    let text = std::fs::read_to_string("/proc/kallsyms").unwrap();
    let line = text
        .lines()
        .find(|l| l.ends_with(" T do_syscall_64") || l.ends_with(" t do_syscall_64"))
        .expect("every x86-64 kernel has do_syscall_64");
    let addr = parse_hex_u64(line.split(' ').next().unwrap()).unwrap();
    assert_eq!(symbols.resolve(AbsAddr(addr + 4)), Some("do_syscall_64"));
}

#[test]
fn a_file_that_is_not_elf_is_unknown_because_symbolization_failed() {
    let dir = tempfile::tempdir().unwrap();
    let not_elf = dir.path().join("not-elf");
    std::fs::write(&not_elf, vec![0x41u8; 8192]).unwrap();
    let file = MappedFile::open(&not_elf).unwrap();
    let mut symbolizer = ElfSymbolizer::default();
    let results = symbolizer.symbolize(&file, &[FileOffset(0x10), FileOffset(0x20)]);
    for result in results {
        assert_eq!(result.unknown(), Some(Unknown::SymbolizationFailed));
    }
}
