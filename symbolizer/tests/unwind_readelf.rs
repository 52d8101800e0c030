//! The unwind tables agree, row by row, with binutils' evaluation of the
//! same CFI (`readelf --debug-dump=frames-interp`) on C and Rust builds
//! without frame pointers, Debian's libc and libstdc++.

mod unwind_common;

use std::ops::Range;
use std::path::Path;

use brasa_symbolizer::addr::ElfAddr;
use brasa_symbolizer::unwind::{build_from_path, Cfa, ReturnAddress, Rule, SavedFp, UnwindTable};
use object::{Object, ObjectSection, ObjectSegment, SegmentFlags};
use unwind_common::readelf::{self, Fde};
use unwind_common::{build_c_chain, build_rust_chain, LIBC, LIBSTDCXX};

/// Where the code is, from the ELF headers.
struct Layout {
    executable: Vec<Range<u64>>,
    plt: Vec<Range<u64>>,
}

fn layout(path: &Path) -> Layout {
    let data = std::fs::read(path).unwrap();
    let file = object::File::parse(&*data).unwrap();
    let executable = file
        .segments()
        .filter(|segment| matches!(segment.flags(), SegmentFlags::Elf { p_flags, .. } if p_flags.0 & 1 != 0))
        .map(|segment| segment.address()..segment.address() + segment.size())
        .collect();
    let plt = file
        .sections()
        .filter(|section| section.name().is_ok_and(|name| name.starts_with(".plt")))
        .map(|section| section.address()..section.address() + section.size())
        .collect();
    Layout { executable, plt }
}

/// `rsp+8` to (register, offset).
fn register_offset(text: &str) -> Option<(&str, i64)> {
    let split = text.find(['+', '-'])?;
    let (register, offset) = text.split_at(split);
    Some((register, offset.parse().ok()?))
}

fn cfa_agrees(text: &str, got: Cfa, in_plt: bool) -> bool {
    if text == "exp" {
        return if in_plt {
            matches!(got, Cfa::Plt { .. })
        } else {
            got == Cfa::Unsupported
        };
    }
    let Some((register, offset)) = register_offset(text) else {
        return got == Cfa::Unsupported;
    };
    match (register, i16::try_from(offset)) {
        ("rsp", Ok(offset)) => got == Cfa::SpOffset(offset),
        ("rbp", Ok(offset)) => got == Cfa::FpOffset(offset),
        _ => got == Cfa::Unsupported,
    }
}

fn fp_agrees(text: Option<&str>, got: SavedFp) -> bool {
    match text {
        None | Some("u" | "s") => got == SavedFp::Unchanged,
        Some(text) => match text
            .strip_prefix('c')
            .and_then(|offset| offset.parse::<i16>().ok())
        {
            Some(offset) => got == SavedFp::AtCfa(offset),
            None => got == SavedFp::Unsupported,
        },
    }
}

fn ra_agrees(text: Option<&str>, got: ReturnAddress) -> bool {
    match text {
        Some("c-8") => got == ReturnAddress::AtCfaMinus8,
        Some("u") => got == ReturnAddress::Undefined,
        _ => got == ReturnAddress::Unsupported,
    }
}

fn agrees(row: &readelf::Row, rule: Rule, in_plt: bool) -> bool {
    cfa_agrees(&row.cfa, rule.cfa, in_plt)
        && fp_agrees(row.rbp.as_deref(), rule.fp)
        && ra_agrees(row.ra.as_deref(), rule.ra)
}

/// FDEs that share an address with another FDE: which one the table keeps
/// is a policy, not something readelf can judge.
fn overlapping(fdes: &[Fde]) -> Vec<bool> {
    let mut order: Vec<usize> = (0..fdes.len()).collect();
    order.sort_by_key(|&index| fdes[index].start);
    let mut overlaps = vec![false; fdes.len()];
    let mut reach: Option<(u64, usize)> = None;
    for index in order {
        if let Some((end, owner)) = reach {
            if fdes[index].start < end {
                overlaps[index] = true;
                overlaps[owner] = true;
            }
        }
        if reach.is_none_or(|(end, _)| fdes[index].end > end) {
            reach = Some((fdes[index].end, index));
        }
    }
    overlaps
}

#[derive(Debug, Default)]
struct Summary {
    fdes: usize,
    rows: usize,
    skipped_overlapping: usize,
    unsupported_rows: usize,
    mismatches: Vec<String>,
}

fn compare(table: &UnwindTable, fdes: &[Fde], layout: &Layout) -> Summary {
    let mut summary = Summary::default();
    let fdes: Vec<Fde> = fdes
        .iter()
        .filter(|fde| fde.start < fde.end)
        .cloned()
        .collect();
    let overlaps = overlapping(&fdes);
    for (fde, overlaps) in fdes.iter().zip(overlaps) {
        if overlaps {
            summary.skipped_overlapping += 1;
            continue;
        }
        let in_code = layout
            .executable
            .iter()
            .any(|code| code.start <= fde.start && fde.end <= code.end);
        if !in_code {
            if table.lookup(ElfAddr(fde.start)).is_some() {
                summary
                    .mismatches
                    .push(format!("{fde:x?} is outside code but covered"));
            }
            continue;
        }
        summary.fdes += 1;
        for (index, row) in fde.rows.iter().enumerate() {
            let end = fde.rows.get(index + 1).map_or(fde.end, |next| next.loc);
            if row.loc >= end {
                continue;
            }
            summary.rows += 1;
            let in_plt = layout.plt.iter().any(|plt| plt.contains(&row.loc));
            for pc in [row.loc, end - 1] {
                match table.lookup(ElfAddr(pc)) {
                    Some(rule) if agrees(row, rule, in_plt) => {
                        summary.unsupported_rows +=
                            usize::from(!rule.is_supported() && pc == row.loc);
                    }
                    got => summary.mismatches.push(format!(
                        "{} pc {pc:#x}: readelf {row:?}, table {got:?}",
                        fde.section
                    )),
                }
            }
        }
    }
    summary
}

/// Builds the table of `path`, compares it with readelf, and returns the
/// summary after checking the table's own counts against readelf's.
fn check(path: &Path) -> Summary {
    let built = build_from_path(path).unwrap();
    let fdes = readelf::frames(path);
    let summary = compare(&built.table, &fdes, &layout(path));
    println!(
        "{}: {} FDEs, {} readelf rows compared, {} unsupported, {} overlapping FDEs skipped; table {} rows ({} bytes)",
        path.display(),
        summary.fdes,
        summary.rows,
        summary.unsupported_rows,
        summary.skipped_overlapping,
        built.table.rows().len(),
        built.table.size_bytes(),
    );
    assert!(
        summary.mismatches.is_empty(),
        "{} of the rows disagree with readelf, first ones:\n{}",
        summary.mismatches.len(),
        summary.mismatches[..summary.mismatches.len().min(20)].join("\n")
    );
    assert!(summary.fdes > 0 && summary.rows >= summary.fdes);
    // Every FDE that readelf shows in code and alone made it into the table.
    assert!(
        built.stats.fdes >= summary.fdes,
        "{:?} vs {summary:?}",
        built.stats
    );
    // Merging keeps the table no larger than readelf's row count plus one
    // end-of-coverage row per FDE.
    assert!(
        built.table.rows().len() <= summary.rows + built.stats.fdes + summary.skipped_overlapping
    );
    summary
}

#[test]
fn c_build_without_frame_pointers_agrees_with_readelf() {
    let dir = tempfile::tempdir().unwrap();
    let binary = build_c_chain(dir.path(), "chain", &[]);
    let summary = check(&binary);
    // The PLT rows and the RBP-based frame of the variable-length array
    // are in there.
    let table = build_from_path(&binary).unwrap().table;
    let rules: Vec<Rule> = table.rows().iter().map(|row| row.rule()).collect();
    assert!(rules
        .iter()
        .any(|rule| matches!(rule.cfa, Cfa::Plt { threshold: 11, .. })));
    assert!(rules
        .iter()
        .any(|rule| matches!(rule.cfa, Cfa::FpOffset(16))));
    assert!(
        rules.iter().any(|rule| rule.ra == ReturnAddress::Undefined),
        "_start ends walks"
    );
    // Only big_frame's rows with offsets beyond 16 bits are unsupported.
    let unsupported = rules
        .iter()
        .filter(|rule| rule.cfa == Cfa::Unsupported)
        .count();
    assert!(
        unsupported >= 1 && summary.unsupported_rows >= 1,
        "{summary:?}"
    );
    assert!(rules
        .iter()
        .all(|rule| rule.cfa == Cfa::Unsupported || rule.is_supported() || rule.cfa == Cfa::None));
}

#[test]
fn c_build_with_debug_frame_only_agrees_with_readelf() {
    let dir = tempfile::tempdir().unwrap();
    let binary = build_c_chain(
        dir.path(),
        "chain-debug-frame",
        &["-g", "-fno-asynchronous-unwind-tables"],
    );
    let built = build_from_path(&binary).unwrap();
    assert!(built.stats.debug_frame_bytes > 0, "{:?}", built.stats);
    let fdes = readelf::frames(&binary);
    assert!(fdes.iter().any(|fde| fde.section == ".debug_frame"));
    check(&binary);
}

#[test]
fn c_build_with_compressed_debug_frame_gives_the_same_table() {
    let dir = tempfile::tempdir().unwrap();
    let flags = ["-g", "-fno-asynchronous-unwind-tables"];
    let plain = build_c_chain(dir.path(), "plain", &flags);
    let compressed = build_c_chain(dir.path(), "zlib", &[&flags[..], &["-gz=zlib"]].concat());
    let plain = build_from_path(&plain).unwrap();
    let compressed = build_from_path(&compressed).unwrap();
    assert_eq!(
        plain.stats.debug_frame_bytes,
        compressed.stats.debug_frame_bytes
    );
    assert_eq!(plain.table, compressed.table);
}

#[test]
fn rust_release_build_without_frame_pointers_agrees_with_readelf() {
    let dir = tempfile::tempdir().unwrap();
    let summary = check(&build_rust_chain(dir.path()));
    assert!(summary.fdes > 100, "std's frames are in there: {summary:?}");
}

#[test]
fn debian_libc_agrees_with_readelf() {
    let summary = check(Path::new(LIBC));
    assert!(summary.fdes > 1000, "{summary:?}");
}

#[test]
fn libstdcxx_agrees_with_readelf() {
    let summary = check(Path::new(LIBSTDCXX));
    assert!(summary.fdes > 1000, "{summary:?}");
}
