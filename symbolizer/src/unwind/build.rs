//! Builds an [`UnwindTable`] from the `.eh_frame` and `.debug_frame` of an
//! ELF executable or shared object: gimli evaluates each FDE's CFI program,
//! [`compile_row`] reduces every row to a compact rule, and the rows of all
//! FDEs are laid out by address with explicit gaps.

use std::borrow::Cow;
use std::fs::File;
use std::io::Read;
use std::ops::Range;
use std::path::Path;

use gimli::{
    BaseAddresses, CieOrFde, DebugFrame, EhFrame, EndianSlice, LittleEndian, UnwindContext,
    UnwindSection,
};
use object::read::{CompressionFormat, ReadCache, ReadRef};
use object::{Architecture, Object, ObjectSection, ObjectSegment, SegmentFlags};

use super::compile::compile_row;
use super::table::{Arch, Row, Rule, UnwindTable};
use crate::{
    addr::{CodeSegment, ElfAddr, FileOffset},
    error::{Error, Result},
};

/// ELF program header flag of executable segments.
const PF_X: u32 = 1;

/// Rows use 32-bit addresses: code must lie below 4 GiB in the ELF's own
/// address space (true of shared objects and of executables linked at the
/// usual bases).
const MAX_ADDRESS: u64 = u32::MAX as u64;

/// Gaps between FDEs up to this size are alignment padding between
/// functions, never executed: the previous row extends over them instead of
/// costing a `CFA_NONE` row each (functions are aligned to at most 16
/// bytes by default).
const MAX_PADDING: u64 = 15;

/// Which section wins where two FDEs cover the same code: `.eh_frame` is
/// what the runtime itself trusts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Source {
    EhFrame,
    DebugFrame,
}

/// What a build saw, for benchmarks and diagnostics.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BuildStats {
    /// Size of `.eh_frame`, 0 when absent.
    pub eh_frame_bytes: u64,
    /// Size of `.debug_frame` once decompressed, 0 when absent.
    pub debug_frame_bytes: u64,
    /// FDEs whose rows made it into the table.
    pub fdes: usize,
    /// FDEs dropped because another FDE already covers their start.
    pub overlapping_fdes: usize,
    /// FDEs dropped because they point outside executable segments (left
    /// behind for code the linker discarded).
    pub fdes_outside_code: usize,
}

/// A table and what its build saw.
#[derive(Debug, Clone)]
pub struct Built {
    /// The table.
    pub table: UnwindTable,
    /// What the build saw.
    pub stats: BuildStats,
}

/// Builds the table of the ELF file at `path`, reading only the headers and
/// the CFI sections.
pub fn build_from_path(path: &Path) -> Result<Built> {
    let file = File::open(path).map_err(|source| Error::Io {
        path: path.to_owned(),
        source,
    })?;
    let cache = ReadCache::new(file);
    build(&cache, path)
}

/// Builds the table of an ELF image held in memory; `path` names it in
/// errors.
pub fn build_from_bytes(data: &[u8], path: &Path) -> Result<Built> {
    build(data, path)
}

fn build<'data, R: ReadRef<'data>>(data: R, path: &Path) -> Result<Built> {
    let elf_error = |source: object::Error| Error::NotElf {
        path: path.to_owned(),
        source,
    };
    let file = object::File::parse(data).map_err(elf_error)?;
    if file.architecture() != Architecture::X86_64 || !file.is_little_endian() || !file.is_64() {
        return Err(Error::UnsupportedArch {
            path: path.to_owned(),
            arch: format!("{:?}", file.architecture()),
        });
    }
    let segments = code_segments(&file);
    let code: Vec<Range<u64>> = segments.iter().map(|(_, range)| range.clone()).collect();
    let bases = base_addresses(&file);
    let mut collected = Collected::new(&code);
    let mut stats = BuildStats::default();
    let cfi_error = |section: &'static str| {
        move |reason: String| Error::BadCfi {
            path: path.to_owned(),
            section,
            reason,
        }
    };
    if let Some(data) = section_data(&file, ".eh_frame").map_err(cfi_error(".eh_frame"))? {
        stats.eh_frame_bytes = data.len() as u64;
        let mut section = EhFrame::new(&data, LittleEndian);
        section.set_address_size(8);
        collected
            .add_section(&section, &bases, Source::EhFrame)
            .map_err(|error| cfi_error(".eh_frame")(error.to_string()))?;
    }
    if let Some(data) = section_data(&file, ".debug_frame").map_err(cfi_error(".debug_frame"))? {
        stats.debug_frame_bytes = data.len() as u64;
        let mut section = DebugFrame::new(&data, LittleEndian);
        section.set_address_size(8);
        collected
            .add_section(&section, &BaseAddresses::default(), Source::DebugFrame)
            .map_err(|error| cfi_error(".debug_frame")(error.to_string()))?;
    }
    stats.fdes_outside_code = collected.outside_code;
    let placements = segments
        .into_iter()
        .map(|(placement, _)| placement)
        .collect();
    let table = collected.into_table(placements, &mut stats, path)?;
    Ok(Built { table, stats })
}

/// The executable segments.
fn code_segments<'data, R: ReadRef<'data>>(
    file: &object::File<'data, R>,
) -> Vec<(CodeSegment, Range<u64>)> {
    file.segments()
        .filter(|segment| matches!(segment.flags(), SegmentFlags::Elf { p_flags, .. } if p_flags.0 & PF_X != 0))
        .map(|segment| {
            let placement = CodeSegment {
                file_offset: FileOffset(segment.file_range().0),
                address: ElfAddr(segment.address()),
            };
            let range = segment.address()..segment.address().saturating_add(segment.size());
            (placement, range)
        })
        .collect()
}

/// Section addresses that pointer encodings in `.eh_frame` are relative to.
fn base_addresses<'data, R: ReadRef<'data>>(file: &object::File<'data, R>) -> BaseAddresses {
    let address = |name| file.section_by_name(name).map(|section| section.address());
    let mut bases = BaseAddresses::default();
    if let Some(address) = address(".eh_frame") {
        bases = bases.set_eh_frame(address);
    }
    if let Some(address) = address(".eh_frame_hdr") {
        bases = bases.set_eh_frame_hdr(address);
    }
    if let Some(address) = address(".text") {
        bases = bases.set_text(address);
    }
    if let Some(address) = address(".got") {
        bases = bases.set_got(address);
    }
    bases
}

/// The bytes of a section, decompressed if needed; `None` when absent or
/// without file data (`SHT_NOBITS` in a stripped debug file).
fn section_data<'data, R: ReadRef<'data>>(
    file: &object::File<'data, R>,
    name: &str,
) -> std::result::Result<Option<Cow<'data, [u8]>>, String> {
    let Some(section) = file.section_by_name(name) else {
        return Ok(None);
    };
    let compressed = section
        .compressed_data()
        .map_err(|error| error.to_string())?;
    let data = match compressed.format {
        CompressionFormat::None => Cow::Borrowed(compressed.data),
        CompressionFormat::Zlib => {
            let mut out = Vec::new();
            let limit = compressed.uncompressed_size;
            flate2::read::ZlibDecoder::new(compressed.data)
                .take(limit)
                .read_to_end(&mut out)
                .map_err(|error| format!("zlib: {error}"))?;
            Cow::Owned(out)
        }
        other => return Err(format!("unsupported compression {other:?}")),
    };
    Ok((!data.is_empty()).then_some(data))
}

/// One FDE's address range and where its rows are in [`Collected::rows`].
struct FdeRows {
    range: Range<u64>,
    source: Source,
    rows: Range<usize>,
}

/// Rows of every FDE, before they are ordered and merged.
struct Collected<'a> {
    code: &'a [Range<u64>],
    fdes: Vec<FdeRows>,
    rows: Vec<(u64, Rule)>,
    outside_code: usize,
}

impl<'a> Collected<'a> {
    fn new(code: &'a [Range<u64>]) -> Self {
        Collected {
            code,
            fdes: Vec::new(),
            rows: Vec::new(),
            outside_code: 0,
        }
    }

    fn in_code(&self, range: &Range<u64>) -> bool {
        self.code
            .iter()
            .any(|code| code.start <= range.start && range.end <= code.end)
    }

    fn add_section<'input, S>(
        &mut self,
        section: &S,
        bases: &BaseAddresses,
        source: Source,
    ) -> gimli::Result<()>
    where
        S: UnwindSection<EndianSlice<'input, LittleEndian>>,
    {
        let mut context = Box::new(UnwindContext::new());
        let mut entries = section.entries(bases);
        while let Some(entry) = entries.next()? {
            let CieOrFde::Fde(partial) = entry else {
                continue;
            };
            let fde =
                partial.parse(|section, bases, offset| section.cie_from_offset(bases, offset))?;
            let range = fde.initial_address()..fde.end_address();
            if range.is_empty() {
                continue;
            }
            if !self.in_code(&range) {
                self.outside_code += 1;
                continue;
            }
            let first = self.rows.len();
            let mut rows = fde.rows(section, bases, &mut context)?;
            while let Some(row) = rows.next_row()? {
                if row.start_address() < row.end_address() {
                    self.rows
                        .push((row.start_address(), compile_row(section, row)));
                }
            }
            let rows = first..self.rows.len();
            self.fdes.push(FdeRows {
                range,
                source,
                rows,
            });
        }
        Ok(())
    }

    /// Orders FDEs by address (`.eh_frame` first on ties), drops the ones
    /// that overlap code already covered, and marks gaps with NONE rows.
    fn into_table(
        mut self,
        code: Vec<CodeSegment>,
        stats: &mut BuildStats,
        path: &Path,
    ) -> Result<UnwindTable> {
        self.fdes
            .sort_unstable_by_key(|fde| (fde.range.start, fde.source));
        let mut out = Vec::with_capacity(self.rows.len() + self.fdes.len());
        let mut covered_to: Option<u64> = None;
        for fde in &self.fdes {
            if covered_to.is_some_and(|end| fde.range.start < end) {
                stats.overlapping_fdes += 1;
                continue;
            }
            if fde.range.end > MAX_ADDRESS {
                return Err(Error::AddressTooHigh {
                    path: path.to_owned(),
                    address: ElfAddr(fde.range.end),
                });
            }
            // Addresses fit 32 bits from here on: the range was checked.
            if let Some(end) = covered_to.filter(|&end| fde.range.start - end > MAX_PADDING) {
                out.push(Row::new(end as u32, Rule::NONE));
            }
            stats.fdes += 1;
            out.extend(
                self.rows[fde.rows.clone()]
                    .iter()
                    .filter(|(pc, _)| fde.range.contains(pc))
                    .map(|&(pc, rule)| Row::new(pc as u32, rule)),
            );
            covered_to = Some(fde.range.end);
        }
        if let Some(end) = covered_to {
            out.push(Row::new(end as u32, Rule::NONE));
        }
        Ok(UnwindTable::from_sorted_rows(Arch::X86_64, code, out))
    }
}
