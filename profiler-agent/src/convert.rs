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
//! - JIT code (addresses in anonymous executable memory or in no mapping,
//!   of a process whose runtime writes a perf map) is named by
//!   [`Resolve::jit`] and sits in a mapping named [`JIT_MAPPING_NAME`]
//!   (`[jit]`): that mapping name is a frame's kind, as `[kernel.kallsyms]`
//!   is for the kernel; the runtime is in the name itself (V8 writes
//!   `JS:…`, HotSpot `Interpreter` and `Class::method`);
//! - Python frames (CPython's, as the sampler recorded them) are named by
//!   [`Resolve::python`] and sit in a mapping named
//!   [`PYTHON_MAPPING_NAME`] (`[python]`), at their code object's address;
//!   each run of them takes the place of the native eval-loop frame that
//!   ran it (see [`crate::python::interleave`]), so C extensions and
//!   native callers stay where they ran;
//! - an address that cannot be resolved stays as an address in its
//!   mapping (or in none), never dropped, and is counted by why in
//!   [`Converted::unsymbolized`]; its location's function is the
//!   mapping's, one per mapping named after it (`[libc.so.6]`, see
//!   [`unknown_function_name`]), as pprof names code without symbols;
//! - `pid` and `tid` are numeric sample labels, `thread_name` (the
//!   sampled thread's name) a string label; the process's name is a series
//!   label of the agent's, never a sample label, so that one process is
//!   one series whatever its threads are called.

use std::collections::{BTreeMap, HashMap, HashSet};

use brasa_profile::{
    builder::{FunctionInfo, MappingInfo},
    pprof::Line,
    Profile, ProfileBuilder,
};
use brasa_symbolizer::{
    addr::{AbsAddr, FileOffset},
    SourceLine, Symbolized, Unknown,
};

use crate::{
    jit::may_hold_jit_code,
    python::interleave::{interleave, Slot, EVAL_FUNCTION},
    raw::{RawMapping, RawProfile, RawPythonFrame},
};

pub use brasa_profile::frame_kind::{JIT_MAPPING_NAME, KERNEL_MAPPING_NAME, PYTHON_MAPPING_NAME};
/// Function of addresses in no mapping that nothing resolves.
pub const UNMAPPED_FUNCTION_NAME: &str = "[unknown]";
/// Kernel addresses start here on x86-64 and arm64 (the upper half).
pub const KERNEL_SPACE_START: u64 = 0xffff_0000_0000_0000;
const NANOS_PER_SECOND: u64 = 1_000_000_000;
/// Sample label holding the name of the thread sampled.
pub const THREAD_NAME_LABEL: &str = "thread_name";

/// Source of symbols for the converter.
pub trait Resolve {
    /// Resolves file offsets in a user-space mapping of `pid`: one entry
    /// per offset, its lines innermost first or why it has none.
    fn user(
        &mut self,
        pid: u32,
        mapping: &RawMapping,
        file_offsets: &[FileOffset],
    ) -> Vec<Symbolized>;
    /// Resolves kernel addresses the same way.
    fn kernel(&mut self, addrs: &[AbsAddr]) -> Vec<Symbolized>;
    /// Resolves addresses of `pid` that may be JIT code (in anonymous
    /// executable memory or in no mapping, see
    /// [`crate::jit::may_hold_jit_code`]) from the process's perf map: one
    /// entry per address, or `None` when the process has no perf map (its
    /// addresses are then unknown as if this were not asked). Default:
    /// `None`.
    fn jit(&mut self, pid: u32, addrs: &[AbsAddr]) -> Option<Vec<Symbolized>> {
        let _ = (pid, addrs);
        None
    }
    /// Names Python frames of `pid`: one entry per frame, `None` for a
    /// frame that has not started its function's code (left out of the
    /// stack). Default: every frame unknown
    /// ([`Unknown::PythonCodeUnreadable`]).
    fn python(&mut self, pid: u32, frames: &[RawPythonFrame]) -> Vec<Option<Symbolized>> {
        let _ = pid;
        vec![Some(Symbolized::Unknown(Unknown::PythonCodeUnreadable)); frames.len()]
    }
}

/// Resolves nothing: every frame stays an address in its mapping, unknown
/// for want of symbols.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoSymbols;

impl Resolve for NoSymbols {
    fn user(&mut self, _: u32, _: &RawMapping, offsets: &[FileOffset]) -> Vec<Symbolized> {
        vec![Symbolized::Unknown(Unknown::NoSymbol); offsets.len()]
    }
    fn kernel(&mut self, addrs: &[AbsAddr]) -> Vec<Symbolized> {
        vec![Symbolized::Unknown(Unknown::NoSymbol); addrs.len()]
    }
}

/// Distinct frames of a profile left as bare addresses, by why.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Unsymbolized {
    by_reason: BTreeMap<Unknown, u64>,
}

impl Unsymbolized {
    /// Counts one more frame unknown for `reason`.
    pub fn add(&mut self, reason: Unknown) {
        *self.by_reason.entry(reason).or_default() += 1;
    }

    /// Frames unknown for `reason`.
    pub fn get(&self, reason: Unknown) -> u64 {
        self.by_reason.get(&reason).copied().unwrap_or(0)
    }

    /// Every reason with at least one frame, and its count.
    pub fn iter(&self) -> impl Iterator<Item = (Unknown, u64)> + '_ {
        self.by_reason
            .iter()
            .map(|(&reason, &count)| (reason, count))
    }

    /// Frames unknown for any reason.
    pub fn total(&self) -> u64 {
        self.by_reason.values().sum()
    }
}

/// What [`convert`] makes of a recording.
#[derive(Debug, Clone)]
pub struct Converted {
    /// The profile.
    pub profile: Profile,
    /// Its frames that stayed addresses, by why.
    pub unsymbolized: Unsymbolized,
}

/// Options of [`convert`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ConvertOptions {
    /// Attach `pid`, `tid` and `thread_name` labels to samples. Default:
    /// true.
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
pub fn convert(
    raw: &RawProfile,
    resolver: &mut dyn Resolve,
    options: &ConvertOptions,
) -> Converted {
    let mut builder = ProfileBuilder::new(&[("samples", "count"), ("cpu", "nanoseconds")]);
    let period = NANOS_PER_SECOND / raw.frequency.max(1);
    builder.set_period("cpu", "nanoseconds", period as i64);
    builder.set_default_sample_type("cpu");
    builder.set_time(raw.time_nanos, raw.duration_nanos);

    let (placed, mut unsymbolized) = place_frames(raw, resolver, &mut builder);
    let python = place_python_frames(raw, resolver, &mut builder, &mut unsymbolized);
    for sample in &raw.samples {
        let location = |f: Frame| placed.locations[&f];
        let mut ids: Vec<u64> = stack_frames(sample.pid, &sample.kernel, true)
            .map(location)
            .collect();
        let user = stack_frames(sample.pid, &sample.user, false).map(location);
        if sample.python.is_empty() {
            ids.extend(user);
        } else {
            let user: Vec<u64> = user.collect();
            let is_eval: Vec<bool> = user.iter().map(|id| placed.eval.contains(id)).collect();
            let is_entry: Vec<bool> = sample.python.iter().map(|f| f.entry).collect();
            ids.extend(
                interleave(&is_eval, &is_entry)
                    .into_iter()
                    .filter_map(|slot| match slot {
                        Slot::Native(i) => Some(user[i]),
                        Slot::Python(j) => python[&(sample.pid, sample.python[j])],
                    }),
            );
        }
        let labels = if options.thread_labels {
            vec![
                builder.label_num("pid", i64::from(sample.pid), ""),
                builder.label_num("tid", i64::from(sample.tid), ""),
                builder.label_str(THREAD_NAME_LABEL, &sample.comm),
            ]
        } else {
            Vec::new()
        };
        let count = sample.count.min(i64::MAX as u64) as i64;
        builder.add_sample(&ids, &[count, count.saturating_mul(period as i64)], &labels);
    }
    Converted {
        profile: builder.build(),
        unsymbolized,
    }
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

/// The native frames' locations, and which of them are eval-loop frames.
struct Placed {
    locations: HashMap<Frame, u64>,
    eval: HashSet<u64>,
}

/// Resolves every distinct frame once, in batches per mapping, and interns
/// its location; counts the frames that stay addresses.
fn place_frames(
    raw: &RawProfile,
    resolver: &mut dyn Resolve,
    builder: &mut ProfileBuilder,
) -> (Placed, Unsymbolized) {
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
    let mut placer = Placer {
        builder,
        placed: HashMap::with_capacity(seen.len()),
        eval: HashSet::new(),
        unsymbolized: Unsymbolized::default(),
    };
    let mut groups: Vec<_> = user.into_iter().collect();
    groups.sort_unstable_by_key(|(key, _)| *key);
    // Resolve binary by binary (a symbolizer holds few large binaries at
    // once), then intern in address order so the main binary comes first.
    let mut by_binary: Vec<usize> = (0..groups.len()).collect();
    by_binary.sort_by_key(|&i| {
        let ((pid, _), addrs) = &groups[i];
        raw.mapping_of(*pid, addrs[0]).map(|m| m.path.as_str())
    });
    // Each group's answers, and whether they came from a perf map.
    let mut resolved: Vec<(Vec<Symbolized>, bool)> = vec![(Vec::new(), false); groups.len()];
    for i in by_binary {
        let ((pid, start), addrs) = &groups[i];
        let mapping = start.and_then(|_| raw.mapping_of(*pid, addrs[0]));
        if mapping.is_none_or(|m| may_hold_jit_code(&m.path)) {
            if let Some(results) = resolver.jit(*pid, addrs) {
                resolved[i] = (pad(results, addrs.len()), true);
                continue;
            }
        }
        resolved[i].0 = match mapping {
            Some(m) => {
                let offsets: Vec<FileOffset> =
                    addrs.iter().map(|&a| m.range.file_offset_of(a)).collect();
                pad(resolver.user(*pid, m, &offsets), addrs.len())
            }
            None => vec![Symbolized::Unknown(Unknown::NoMapping); addrs.len()],
        };
    }
    for (((pid, start), addrs), (results, jit)) in groups.into_iter().zip(resolved) {
        let mapping = start.and_then(|_| raw.mapping_of(pid, addrs[0]));
        let mapping_id = match (mapping, jit) {
            (Some(m), false) => intern_mapping(placer.builder, m, &results),
            (None, false) => 0,
            (m, true) => intern_jit_mapping(placer.builder, m, &addrs, &results),
        };
        let unknown = unknown_function_name(mapping.map(|m| m.path.as_str()), jit);
        for (&addr, result) in addrs.iter().zip(&results) {
            let frame = Frame {
                pid,
                addr,
                kernel: false,
            };
            placer.place(frame, mapping_id, result, &unknown);
        }
    }
    if !kernel.is_empty() {
        let results = pad(resolver.kernel(&kernel), kernel.len());
        let mapping = placer.builder.mapping(MappingInfo {
            memory_start: KERNEL_SPACE_START,
            memory_limit: u64::MAX,
            filename: KERNEL_MAPPING_NAME,
            build_id: &raw.kernel_build_id,
            has_functions: results.iter().any(|r| !r.lines().is_empty()),
            ..MappingInfo::default()
        });
        for (&addr, result) in kernel.iter().zip(&results) {
            let frame = Frame {
                pid: 0,
                addr,
                kernel: true,
            };
            placer.place(frame, mapping, result, KERNEL_MAPPING_NAME);
        }
    }
    let placed = Placed {
        locations: placer.placed,
        eval: placer.eval,
    };
    (placed, placer.unsymbolized)
}

/// Interns locations, and counts the frames that stay addresses.
struct Placer<'a> {
    builder: &'a mut ProfileBuilder,
    placed: HashMap<Frame, u64>,
    eval: HashSet<u64>,
    unsymbolized: Unsymbolized,
}

impl Placer<'_> {
    /// Interns the location of `frame`; an unknown one gets the function
    /// named `unknown`.
    fn place(&mut self, frame: Frame, mapping_id: u64, result: &Symbolized, unknown: &str) {
        let lines = match result.unknown() {
            Some(reason) => {
                self.unsymbolized.add(reason);
                &[SourceLine::function(unknown)][..]
            }
            None => result.lines(),
        };
        let id = location(self.builder, mapping_id, frame.addr, lines);
        if lines.iter().any(|l| l.function == EVAL_FUNCTION) {
            self.eval.insert(id);
        }
        self.placed.insert(frame, id);
    }
}

/// Names every distinct Python frame once and interns its location in the
/// `[python]` mapping; `None` for a frame left out of its stacks.
fn place_python_frames(
    raw: &RawProfile,
    resolver: &mut dyn Resolve,
    builder: &mut ProfileBuilder,
    unsymbolized: &mut Unsymbolized,
) -> HashMap<(u32, RawPythonFrame), Option<u64>> {
    let mut by_pid: BTreeMap<u32, Vec<RawPythonFrame>> = BTreeMap::new();
    let mut seen = HashSet::new();
    for sample in &raw.samples {
        for &frame in &sample.python {
            if seen.insert((sample.pid, frame)) {
                by_pid.entry(sample.pid).or_default().push(frame);
            }
        }
    }
    let mut placed = HashMap::with_capacity(seen.len());
    if by_pid.is_empty() {
        return placed;
    }
    let mapping = builder.mapping(MappingInfo {
        filename: PYTHON_MAPPING_NAME,
        has_functions: true,
        has_filenames: true,
        has_line_numbers: true,
        ..MappingInfo::default()
    });
    for (pid, frames) in by_pid {
        let mut names = resolver.python(pid, &frames);
        names.resize(
            frames.len(),
            Some(Symbolized::Unknown(Unknown::SymbolizationFailed)),
        );
        for (frame, name) in frames.into_iter().zip(names) {
            let id = name.map(|name| {
                let unknown = [SourceLine::function(PYTHON_MAPPING_NAME)];
                let lines = match name.unknown() {
                    Some(reason) => {
                        unsymbolized.add(reason);
                        &unknown[..]
                    }
                    None => name.lines(),
                };
                location(builder, mapping, AbsAddr(frame.code), lines)
            });
            placed.insert((pid, frame), id);
        }
    }
    placed
}

/// The function of the unknown addresses of a mapping: its file's name in
/// brackets (`[libc.so.6]`), a pseudo mapping's own name (`[vdso]`),
/// [`JIT_MAPPING_NAME`] for JIT code, or [`UNMAPPED_FUNCTION_NAME`].
pub fn unknown_function_name(mapping_path: Option<&str>, jit: bool) -> String {
    match mapping_path {
        _ if jit => JIT_MAPPING_NAME.to_owned(),
        None | Some("") => UNMAPPED_FUNCTION_NAME.to_owned(),
        Some(path) if path.starts_with('[') => path.to_owned(),
        Some(path) => {
            let base = path.rsplit('/').next().unwrap_or(path);
            format!("[{}]", base.trim_end_matches(" (deleted)"))
        }
    }
}

/// A resolver's answer with exactly one entry per address, whatever it
/// returned.
fn pad(mut results: Vec<Symbolized>, len: usize) -> Vec<Symbolized> {
    results.resize(len, Symbolized::Unknown(Unknown::SymbolizationFailed));
    results
}

fn intern_mapping(builder: &mut ProfileBuilder, m: &RawMapping, results: &[Symbolized]) -> u64 {
    let resolved = results.iter().flat_map(|r| r.lines());
    builder.mapping(MappingInfo {
        memory_start: m.range.start.0,
        memory_limit: m.range.end.0,
        file_offset: m.range.offset.0,
        filename: &m.path,
        build_id: &m.build_id,
        has_functions: resolved.clone().next().is_some(),
        has_filenames: resolved.clone().any(|l| !l.file.is_empty()),
        has_line_numbers: resolved.clone().any(|l| l.line != 0),
        has_inline_frames: results.iter().any(|r| r.lines().len() > 1),
    })
}

/// The `[jit]` mapping of JIT frames: the anonymous mapping's range, or
/// for addresses in no mapping the range they span.
fn intern_jit_mapping(
    builder: &mut ProfileBuilder,
    mapping: Option<&RawMapping>,
    addrs: &[AbsAddr],
    results: &[Symbolized],
) -> u64 {
    let (start, limit) = match mapping {
        Some(m) => (m.range.start.0, m.range.end.0),
        None => {
            let low = addrs.iter().min().map_or(0, |a| a.0);
            let high = addrs.iter().max().map_or(0, |a| a.0);
            (low, high.saturating_add(1))
        }
    };
    builder.mapping(MappingInfo {
        memory_start: start,
        memory_limit: limit,
        filename: JIT_MAPPING_NAME,
        has_functions: results.iter().any(|r| !r.lines().is_empty()),
        ..MappingInfo::default()
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

#[cfg(test)]
mod tests {
    use super::*;

    /// One process with one mapping at 0x400000, one sample through it, a
    /// frame outside it, and a kernel frame.
    fn raw() -> RawProfile {
        RawProfile::parse(
            "brasa-raw-samples 1\nfrequency 100\n\
             map 7 400000 401000 0 - /bin/app\n\
             sample 7 7 3 user=400010,400500,900000 kernel=ffffffff81000010 app\n",
        )
        .unwrap()
    }

    /// Every user address unknown for `reason`, every kernel one named.
    struct Unresolved(Unknown);

    impl Resolve for Unresolved {
        fn user(&mut self, _: u32, _: &RawMapping, offsets: &[FileOffset]) -> Vec<Symbolized> {
            vec![Symbolized::Unknown(self.0); offsets.len()]
        }
        fn kernel(&mut self, addrs: &[AbsAddr]) -> Vec<Symbolized> {
            let named = Symbolized::from_lines([SourceLine::function("k")].into());
            vec![named; addrs.len()]
        }
    }

    #[test]
    fn unknown_frames_are_counted_by_reason_and_kept_as_addresses() {
        let raw = raw();
        let converted = convert(
            &raw,
            &mut Unresolved(Unknown::FileUnreadable),
            &ConvertOptions::default(),
        );
        let unsymbolized = &converted.unsymbolized;
        assert_eq!(unsymbolized.get(Unknown::FileUnreadable), 2);
        assert_eq!(unsymbolized.get(Unknown::NoMapping), 1, "0x900000");
        assert_eq!(unsymbolized.total(), 3);
        // The same profile as with no symbols at all, but for the kernel.
        let profile = &converted.profile;
        assert_eq!(profile.location.len(), 4);
        let string = |i: i64| profile.string_table[i as usize].as_str();
        let function_of = |l: &brasa_profile::pprof::Location| {
            let id = l.line[0].function_id;
            (id, string(profile.function[id as usize - 1].name))
        };
        // Each unknown location keeps its address; the two of /bin/app share
        // the mapping's one function.
        let app: Vec<_> = profile
            .location
            .iter()
            .filter(|l| l.mapping_id == 1)
            .map(|l| (l.address, function_of(l)))
            .collect();
        assert_eq!(app.len(), 2, "{app:?}");
        assert_ne!(app[0].0, app[1].0);
        assert_eq!(app[0].1, app[1].1);
        assert_eq!(app[0].1 .1, "[app]");
        let unmapped = profile.location.iter().find(|l| l.mapping_id == 0);
        assert_eq!(unmapped.map(|l| l.address), Some(0x8fffff));
        assert_eq!(unmapped.map(|l| function_of(l).1), Some("[unknown]"));
    }

    #[test]
    fn unknown_functions_are_named_after_their_mapping() {
        let name = unknown_function_name;
        assert_eq!(
            name(Some("/usr/lib/x86_64-linux-gnu/libc.so.6"), false),
            "[libc.so.6]"
        );
        assert_eq!(name(Some("/opt/app (deleted)"), false), "[app]");
        assert_eq!(name(Some("[vdso]"), false), "[vdso]");
        assert_eq!(name(Some("[anon:x]"), true), JIT_MAPPING_NAME);
        assert_eq!(name(None, false), UNMAPPED_FUNCTION_NAME);
    }

    /// Names JIT addresses of pid 7 below 0x7f0800 and nothing else.
    struct PerfMapped;

    impl Resolve for PerfMapped {
        fn user(&mut self, _: u32, _: &RawMapping, offsets: &[FileOffset]) -> Vec<Symbolized> {
            vec![Symbolized::Unknown(Unknown::NoFile); offsets.len()]
        }
        fn kernel(&mut self, addrs: &[AbsAddr]) -> Vec<Symbolized> {
            vec![Symbolized::Unknown(Unknown::NoSymbol); addrs.len()]
        }
        fn jit(&mut self, pid: u32, addrs: &[AbsAddr]) -> Option<Vec<Symbolized>> {
            let name = |a: &AbsAddr| match a.0 {
                0x7f0000..0x7f0800 => {
                    Symbolized::from_lines([SourceLine::function(format!("JS:*f{:x}", a.0))].into())
                }
                0x900000..0x900100 => Symbolized::from_lines([SourceLine::function("stub")].into()),
                _ => Symbolized::Unknown(Unknown::NotInPerfMap),
            };
            (pid == 7).then(|| addrs.iter().map(name).collect())
        }
    }

    #[test]
    fn jit_frames_are_named_by_the_perf_map_in_a_jit_mapping() {
        let raw = RawProfile::parse(
            "brasa-raw-samples 1\nfrequency 100\n\
             map 7 400000 401000 0 - /bin/node\n\
             map 7 7f0000 7f1000 0 - [anon:jit]\n\
             map 8 7f0000 7f1000 0 - [anon:jit]\n\
             sample 7 7 3 user=7f0010,7f0900,900010,400500 kernel= node\n\
             sample 8 8 1 user=7f0010,900010 kernel= other\n",
        )
        .unwrap();
        let converted = convert(&raw, &mut PerfMapped, &ConvertOptions::default());
        let unsymbolized = &converted.unsymbolized;
        assert_eq!(unsymbolized.get(Unknown::NotInPerfMap), 1, "0x7f0900");
        assert_eq!(
            unsymbolized.get(Unknown::NoFile),
            2,
            "/bin/node, pid 8's anon"
        );
        assert_eq!(unsymbolized.get(Unknown::NoMapping), 1, "pid 8's 0x900010");
        let profile = &converted.profile;
        let string = |i: i64| profile.string_table[i as usize].as_str();
        let named: Vec<(&str, &str)> = profile
            .location
            .iter()
            .filter(|l| l.mapping_id != 0)
            .map(|l| {
                let function = &profile.function[l.line[0].function_id as usize - 1];
                let mapping = &profile.mapping[l.mapping_id as usize - 1];
                (string(function.name), string(mapping.filename))
            })
            // Unknown code is named after its mapping, in brackets.
            .filter(|(function, _)| !function.starts_with('['))
            .collect();
        assert_eq!(named.len(), 2, "{named:?}");
        assert!(
            named.contains(&("JS:*f7f0010", JIT_MAPPING_NAME)),
            "{named:?}"
        );
        // Caller frames are moved into their call: 0x90000f.
        assert!(named.contains(&("stub", JIT_MAPPING_NAME)), "{named:?}");
    }

    #[test]
    fn a_short_answer_is_padded_with_unknown_frames() {
        struct Silent;
        impl Resolve for Silent {
            fn user(&mut self, _: u32, _: &RawMapping, _: &[FileOffset]) -> Vec<Symbolized> {
                Vec::new()
            }
            fn kernel(&mut self, _: &[AbsAddr]) -> Vec<Symbolized> {
                Vec::new()
            }
        }
        let converted = convert(&raw(), &mut Silent, &ConvertOptions::default());
        assert_eq!(converted.unsymbolized.get(Unknown::SymbolizationFailed), 3);
        assert_eq!(converted.profile.location.len(), 4);
    }
}
