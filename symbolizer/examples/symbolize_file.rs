//! Symbolizes virtual addresses (hex, one per line on stdin) of one ELF
//! file, twice with the same symbolizer: the first pass parses the file
//! (cold), the second is served from the caches (warm). Prints
//! `ADDRESS FUNCTION FILE:LINE` lines (inlined frames joined by ` > `,
//! outermost first) on stdout and the timings on stderr.
//!
//! `cargo run --release -p brasa-symbolizer --example symbolize_file -- BINARY < addresses`

use std::{
    io::{BufRead, Write},
    path::PathBuf,
    process::ExitCode,
    time::Instant,
};

use brasa_symbolizer::{
    addr::ElfAddr, elf::ElfSymbolizer, hex::parse_hex_u64, process::MappedFile,
};

fn main() -> ExitCode {
    let Some(path) = std::env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("usage: symbolize_file BINARY < addresses");
        return ExitCode::from(2);
    };
    let addrs: Vec<ElfAddr> = std::io::stdin()
        .lock()
        .lines()
        .map_while(Result::ok)
        .filter_map(|l| parse_hex_u64(l.trim().trim_start_matches("0x")))
        .map(ElfAddr)
        .collect();
    let file = match MappedFile::open(&path) {
        Ok(file) => file,
        Err(e) => {
            eprintln!("symbolize_file: {e}");
            return ExitCode::from(2);
        }
    };
    let mut symbolizer = ElfSymbolizer::default();
    let started = Instant::now();
    let lines = symbolizer.symbolize_elf_addrs(&file, &addrs);
    let cold = started.elapsed();
    let started = Instant::now();
    let again = symbolizer.symbolize_elf_addrs(&file, &addrs);
    let warm = started.elapsed();
    assert_eq!(lines, again);

    let mut out = std::io::stdout().lock();
    for (addr, lines) in addrs.iter().zip(&lines) {
        let frames: Vec<String> = lines
            .lines()
            .iter()
            .rev()
            .map(|l| format!("{} {}:{}", l.function, l.file, l.line))
            .collect();
        let _ = writeln!(out, "{addr:#x} {}", frames.join(" > "));
    }
    let resolved = lines.iter().filter(|l| l.unknown().is_none()).count();
    eprintln!(
        "symbolize_file: {} addresses, {resolved} resolved, cold {:.3} ms, warm {:.3} ms",
        addrs.len(),
        cold.as_secs_f64() * 1e3,
        warm.as_secs_f64() * 1e3
    );
    ExitCode::SUCCESS
}
