//! Stack unwind tables compiled from DWARF call frame information, for
//! walking user stacks that have no frame pointers.
//!
//! [`build_from_path`] evaluates the `.eh_frame` (and `.debug_frame`, where
//! `.eh_frame` does not cover the code) of an executable or shared object
//! with gimli and reduces every row of the CFI to three rules: how to find
//! the canonical frame address (CFA), the caller's frame pointer and the
//! return address. Rows are sorted by address and neighbours with the same
//! rules merged, so one binary search per frame finds the rule of a PC.
//! [`walk`] is the reference walker over such tables.
//!
//! # Row layout
//!
//! A table is an array of 12-byte little-endian rows ([`Row`], `#[repr(C)]`,
//! 4-byte aligned, no padding), sorted by strictly increasing `pc`. A row
//! holds from its `pc` up to the next row's; the last row of a table is a
//! `CFA_NONE` row marking the end of coverage, and gaps between functions
//! without CFI are `CFA_NONE` rows too. Addresses are ELF virtual addresses
//! (run-time PC minus load bias), which fit 32 bits for code below 4 GiB.
//!
//! | offset | size | field        | meaning |
//! |-------:|-----:|--------------|---------|
//! | 0      | 4    | `pc`         | first address covered (u32) |
//! | 4      | 1    | `cfa_kind`   | `CFA_NONE` 0, `CFA_SP_OFFSET` 1, `CFA_FP_OFFSET` 2, `CFA_PLT` 3, `CFA_UNSUPPORTED` 4 |
//! | 5      | 1    | `fp_kind`    | `FP_UNCHANGED` 0, `FP_AT_CFA_OFFSET` 1, `FP_UNSUPPORTED` 2 |
//! | 6      | 1    | `ra_kind`    | `RA_UNDEFINED` 0 (outermost frame), `RA_AT_CFA_MINUS_8` 1, `RA_UNSUPPORTED` 2 |
//! | 7      | 1    | `aux`        | `CFA_PLT`: threshold of `pc & 15` from which 8 is added; else 0 |
//! | 8      | 2    | `cfa_offset` | i16 added to SP or FP for the CFA |
//! | 10     | 2    | `fp_offset`  | i16: the caller's FP is saved at CFA + `fp_offset` |
//!
//! A C mirror:
//!
//! ```c
//! struct unwind_row {
//!     __u32 pc;
//!     __u8 cfa_kind, fp_kind, ra_kind, aux;
//!     __s16 cfa_offset, fp_offset;
//! };
//! _Static_assert(sizeof(struct unwind_row) == 12, "unwind_row is 12 bytes");
//! _Static_assert(__builtin_offsetof(struct unwind_row, cfa_offset) == 8, "layout");
//! ```
//!
//! Register names are per architecture ([`Arch`]): on x86-64 SP is RSP, FP
//! is RBP, and the return address is always at CFA - 8. Kinds above the
//! listed ones are reserved for arm64 (return address in the link register
//! or saved at CFA + 8 × `aux`), and an unknown kind reads as unsupported.
//!
//! # What ends a walk
//!
//! A CFA based on another register, a DWARF expression other than the PLT
//! pattern, an offset beyond 16 bits, and frame pointer or return address
//! rules other than the ones above become `*_UNSUPPORTED`: the walk stops
//! there cleanly instead of guessing. A `CFA_NONE` row (no CFI) is where
//! the BPF side falls back to frame pointers.
//!
//! ```no_run
//! use brasa_symbolizer::{addr::ElfAddr, unwind::{build_from_path, Cfa}};
//!
//! let built = build_from_path("/lib/x86_64-linux-gnu/libc.so.6".as_ref()).unwrap();
//! println!("{} rows, {} bytes", built.table.rows().len(), built.table.size_bytes());
//! let rule = built.table.lookup(ElfAddr(0x28000));
//! assert!(rule.is_none_or(|rule| rule.cfa != Cfa::None));
//! ```

mod build;
mod compile;
mod table;
mod walk;

pub use build::{build_from_bytes, build_from_path, BuildStats, Built};
pub use table::{
    Arch, Cfa, ReturnAddress, Row, Rule, SavedFp, UnwindTable, CFA_FP_OFFSET, CFA_NONE, CFA_PLT,
    CFA_SP_OFFSET, CFA_UNSUPPORTED, FP_AT_CFA_OFFSET, FP_UNCHANGED, FP_UNSUPPORTED,
    RA_AT_CFA_MINUS_8, RA_UNDEFINED, RA_UNSUPPORTED, ROW_SIZE,
};
pub use walk::{walk, LoadedTable, Registers, Stop, Walk};
