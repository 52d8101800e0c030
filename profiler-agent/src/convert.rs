//! Raw samples to a pprof profile: a pure function of its input.
//!
//! The same code turns a live recording and a recorded fixture into a
//! profile; symbols come through the [`Resolve`] trait, so tests supply
//! their own and the agent supplies the live symbolizer.
//!
//! Conventions:
//! - sample types `samples/count` and `cpu/nanoseconds`, period type
//!   `cpu/nanoseconds`, period = 1 s / frequency;
//! - each stack is the kernel frames (leaf first) then the user frames, so
//!   kernel code shows under the user code that entered it;
//! - a caller frame's address is its return address minus one, which lies
//!   inside the call instruction, so its line is the call's line;
//! - user locations sit in mappings with their start, limit, file offset,
//!   path and build id; kernel locations in `[kernel.kallsyms]` with the
//!   kernel's build id;
//! - an address that cannot be resolved stays as an address in its
//!   mapping (or in none), never dropped;
//! - `pid` and `tid` are numeric sample labels, `comm` a string label.

use std::collections::HashMap;

use brasa_profile::{
    builder::{FunctionInfo, MappingInfo},
    pprof::Line,
    Profile, ProfileBuilder,
};
use brasa_symbolizer::{
    addr::{AbsAddr, FileOffset},
    Lines, SourceLine,
};

use crate::raw::{RawMapping, RawProfile};

/// Name of the kernel's pseudo mapping, as `perf` and pprof tools know it.
pub const KERNEL_MAPPING_NAME: &str = "[kernel.kallsyms]";
/// Kernel addresses start here on x86-64 and arm64 (the upper half).
pub const KERNEL_SPACE_START: u64 = 0xffff_0000_0000_0000;
const NANOS_PER_SECOND: u64 = 1_000_000_000;

/// Source of symbols for the converter.
pub trait Resolve {
    /// Resolves file offsets in a user-space mapping of `pid`: one entry
    /// per offset, its lines innermost first, empty when unknown.
    fn user(&mut self, pid: u32, mapping: &RawMapping, file_offsets: &[FileOffset]) -> Vec<Lines>;
    /// Resolves kernel addresses the same way.
    fn kernel(&mut self, addrs: &[AbsAddr]) -> Vec<Lines>;
}

/// Resolves nothing: every frame stays an address in its mapping.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoSymbols;

impl Resolve for NoSymbols {
    fn user(&mut self, _: u32, _: &RawMapping, offsets: &[FileOffset]) -> Vec<Lines> {
        vec![Lines::from([]); offsets.len()]
    }
    fn kernel(&mut self, addrs: &[AbsAddr]) -> Vec<Lines> {
        vec![Lines::from([]); addrs.len()]
    }
}

/// Options of [`convert`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ConvertOptions {
    /// Attach `pid`, `tid` and `comm` labels to samples. Default: true.
    pub thread_labels: bool,
}

impl Default for ConvertOptions {
    fn default() -> Self {
        Self {
            thread_labels: true,
        }
    }
}

/// A frame to place: the address as stored in the profile (caller frames
/// already moved into their call instruction) and whether it is kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Frame {
    pid: u32,
    addr: AbsAddr,
    kernel: bool,
}

/// Builds a pprof profile from raw samples (see the module docs).
pub fn convert(raw: &RawProfile, resolver: &mut dyn Resolve, options: &ConvertOptions) -> Profile {
    let mut builder = ProfileBuilder::new(&[("samples", "count"), ("cpu", "nanoseconds")]);
    let period = NANOS_PER_SECOND / raw.frequency.max(1);
    builder.set_period("cpu", "nanoseconds", period as i64);
    builder.set_default_sample_type("cpu");
    builder.set_time(raw.time_nanos, raw.duration_nanos);

    let locations = place_frames(raw, resolver, &mut builder);
    for sample in &raw.samples {
        let frames = stack_frames(sample.pid, &sample.kernel, true).chain(stack_frames(
            sample.pid,
            &sample.user,
            false,
        ));
        let ids: Vec<u64> = frames.map(|f| locations[&f]).collect();
        let labels = if options.thread_labels {
            vec![
                builder.label_num("pid", i64::from(sample.pid), ""),
                builder.label_num("tid", i64::from(sample.tid), ""),
                builder.label_str("comm", &sample.comm),
            ]
        } else {
            Vec::new()
        };
        let count = sample.count.min(i64::MAX as u64) as i64;
        builder.add_sample(&ids, &[count, count.saturating_mul(period as i64)], &labels);
    }
    builder.build()
}

/// The frames of one stack: the leaf as sampled, callers minus one.
fn stack_frames(pid: u32, addrs: &[u64], kernel: bool) -> impl Iterator<Item = Frame> + '_ {
    addrs.iter().enumerate().map(move |(depth, &addr)| Frame {
        pid: if kernel { 0 } else { pid },
        addr: AbsAddr(if depth == 0 {
            addr
        } else {
            addr.saturating_sub(1)
        }),
        kernel,
    })
}

/// Resolves every distinct frame once, in batches per mapping, and interns
/// its location.
fn place_frames(
    raw: &RawProfile,
    resolver: &mut dyn Resolve,
    builder: &mut ProfileBuilder,
) -> HashMap<Frame, u64> {
    let mut kernel: Vec<AbsAddr> = Vec::new();
    // (pid, mapping start) -> addresses in that mapping; `None` start: unmapped.
    let mut user: HashMap<(u32, Option<AbsAddr>), Vec<AbsAddr>> = HashMap::new();
    let mut seen: HashMap<Frame, u64> = HashMap::new();
    for sample in &raw.samples {
        for frame in stack_frames(sample.pid, &sample.kernel, true).chain(stack_frames(
            sample.pid,
            &sample.user,
            false,
        )) {
            if seen.insert(frame, 0).is_some() {
                continue;
            }
            if frame.kernel {
                kernel.push(frame.addr);
            } else {
                let start = raw.mapping_of(frame.pid, frame.addr).map(|m| m.range.start);
                user.entry((frame.pid, start)).or_default().push(frame.addr);
            }
        }
    }

    // User mappings first: pprof tools take the first mapping for the
    // main binary.
    let mut placed = HashMap::with_capacity(seen.len());
    let mut groups: Vec<_> = user.into_iter().collect();
    groups.sort_unstable_by_key(|(key, _)| *key);
    // Resolve binary by binary (a symbolizer holds few large binaries at
    // once), then intern in address order so the main binary comes first.
    let mut by_binary: Vec<usize> = (0..groups.len()).collect();
    by_binary.sort_by_key(|&i| {
        let ((pid, _), addrs) = &groups[i];
        raw.mapping_of(*pid, addrs[0]).map(|m| m.path.as_str())
    });
    let mut resolved: Vec<Vec<Lines>> = vec![Vec::new(); groups.len()];
    for i in by_binary {
        let ((pid, start), addrs) = &groups[i];
        if let Some(m) = start.and_then(|_| raw.mapping_of(*pid, addrs[0])) {
            let offsets: Vec<FileOffset> =
                addrs.iter().map(|&a| m.range.file_offset_of(a)).collect();
            resolved[i] = pad(resolver.user(*pid, m, &offsets), addrs.len());
        }
    }
    for (((pid, start), addrs), lines) in groups.into_iter().zip(resolved) {
        let mapping = start.and_then(|_| raw.mapping_of(pid, addrs[0]));
        let (mapping_id, lines) = match mapping {
            Some(m) => (intern_mapping(builder, m, &lines), lines),
            None => (0, vec![Lines::from([]); addrs.len()]),
        };
        for (addr, lines) in addrs.iter().zip(lines) {
            let id = location(builder, mapping_id, *addr, &lines);
            placed.insert(
                Frame {
                    pid,
                    addr: *addr,
                    kernel: false,
                },
                id,
            );
        }
    }
    if !kernel.is_empty() {
        let lines = resolver.kernel(&kernel);
        let mapping = builder.mapping(MappingInfo {
            memory_start: KERNEL_SPACE_START,
            memory_limit: u64::MAX,
            filename: KERNEL_MAPPING_NAME,
            build_id: &raw.kernel_build_id,
            has_functions: lines.iter().any(|l| !l.is_empty()),
            ..MappingInfo::default()
        });
        for (addr, lines) in kernel.iter().zip(pad(lines, kernel.len())) {
            let id = location(builder, mapping, *addr, &lines);
            placed.insert(
                Frame {
                    pid: 0,
                    addr: *addr,
                    kernel: true,
                },
                id,
            );
        }
    }

    placed
}

/// A resolver's answer with exactly one entry per address, whatever it
/// returned.
fn pad(mut lines: Vec<Lines>, len: usize) -> Vec<Lines> {
    lines.resize(len, Lines::from([]));
    lines
}

fn intern_mapping(builder: &mut ProfileBuilder, m: &RawMapping, lines: &[Lines]) -> u64 {
    let resolved = lines.iter().flat_map(|l| l.iter());
    builder.mapping(MappingInfo {
        memory_start: m.range.start.0,
        memory_limit: m.range.end.0,
        file_offset: m.range.offset.0,
        filename: &m.path,
        build_id: &m.build_id,
        has_functions: resolved.clone().next().is_some(),
        has_filenames: resolved.clone().any(|l| !l.file.is_empty()),
        has_line_numbers: resolved.clone().any(|l| l.line != 0),
        has_inline_frames: lines.iter().any(|l| l.len() > 1),
    })
}

fn location(
    builder: &mut ProfileBuilder,
    mapping_id: u64,
    addr: AbsAddr,
    lines: &[SourceLine],
) -> u64 {
    let lines: Vec<Line> = lines
        .iter()
        .map(|l| Line {
            function_id: builder.function(FunctionInfo {
                name: &l.function,
                system_name: &l.system_name,
                filename: &l.file,
                start_line: 0,
            }),
            line: i64::from(l.line),
            column: 0,
        })
        .collect();
    builder.location(mapping_id, addr.0, &lines)
}
