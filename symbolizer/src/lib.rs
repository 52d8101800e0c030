//! Brasa's symbolizer: addresses to functions, files, lines and inlined
//! frames.
//!
//! - [`addr`]: absolute addresses, file offsets and ELF addresses as
//!   distinct types, each conversion between them in one place.
//! - [`process`]: snapshots of `/proc/PID/maps` taken when a process is
//!   first seen, holding each mapped binary open (through
//!   `/proc/PID/map_files`, else `/proc/PID/root`), so a process that has
//!   exited, a deleted binary, or a binary in another mount namespace is
//!   still symbolized.
//! - [`debug_file`]: the separate debug files of stripped binaries (by
//!   build id or `.gnu_debuglink`), whose symbol tables name their local
//!   functions.
//! - [`elf`]: user-space symbolization with blazesym (ELF symbols, DWARF
//!   lines and inlined functions, demangled C++/Rust names), one parse per
//!   build id and a result cache per address.
//! - [`kallsyms`]: the kernel, from `/proc/kallsyms`.
//! - [`perf_map`]: JIT code, from the `/tmp/perf-PID.map` files runtimes
//!   write for it.
//! - [`unwind`]: compact stack unwind tables compiled from `.eh_frame` and
//!   `.debug_frame`, for walking stacks without frame pointers.
//!
//! Symbolization is batch-first and never fails for a batch: each address
//! comes back [`Symbolized`], as its lines or as [`Unknown`] with the
//! reason (no mapping, no file, an unreadable file, no symbol, a file that
//! could not be symbolized), and the caller keeps an unknown address as an
//! address in its mapping.
//!
//! ```no_run
//! use brasa_symbolizer::{addr::AbsAddr, elf::ElfSymbolizer, process::ProcessMaps};
//!
//! fn here() {}
//! let addr = AbsAddr(here as fn() as usize as u64);
//! let maps = ProcessMaps::snapshot(std::process::id()).unwrap();
//! let mapping = maps.find(addr).unwrap();
//! let offset = mapping.range.file_offset_of(addr);
//! let mut symbolizer = ElfSymbolizer::default();
//! let lines = symbolizer.symbolize(mapping.file.as_ref().unwrap(), &[offset]);
//! println!("{:?}", lines[0].lines()); // [SourceLine { function: "rust_out::main::here", .. }]
//! ```

#![warn(missing_docs)]

pub mod addr;
pub mod debug_file;
pub mod elf;
mod error;
pub mod exported;
pub mod frame;
pub mod hex;
pub mod kallsyms;
pub mod perf_map;
pub mod process;
pub mod unwind;

pub use error::{Error, Result};
pub use frame::{Lines, SourceLine, Symbolized, Unknown};
