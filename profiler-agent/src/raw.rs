//! Raw samples as the sampler drains them, with the memory maps of their
//! processes: everything the converter needs, and nothing that needs BPF.
//!
//! [`RawProfile::to_text`] and [`RawProfile::parse`] give it a line-based
//! text form, so a live recording can be kept in `testdata/` and replayed
//! through the converter exactly as live input is:
//!
//! ```text
//! brasa-raw-samples 1
//! frequency 99
//! time 1764115200000000000 5000000000
//! kernel BUILD_ID
//! map PID START END OFFSET BUILD_ID|- PATH
//! sample PID TID COUNT user=ADDR,ADDR kernel=ADDR [python=FRAME,FRAME] COMM
//! ```
//!
//! Addresses and offsets are hexadecimal, stacks leaf first; the path and
//! the comm come last because they may contain spaces. A Python frame is
//! `CODE:INSTR:FLAGS:OWNER` (see [`RawPythonFrame`]); the field is left out
//! when a sample has none.

use std::{collections::BTreeMap, fmt::Write as _};

use brasa_symbolizer::{
    addr::{AbsAddr, FileOffset, MappedRange},
    hex::parse_hex_u64,
};

use crate::{Error, Result};

/// First line of the text form.
const HEADER: &str = "brasa-raw-samples 1";
/// Start of a sample's Python frames field.
const PYTHON_FIELD: &str = "python=";
/// [`RawPythonFrame::entry`] in the flags of the text form.
const PYTHON_ENTRY_FLAG: u8 = 1;

/// Samples with the same process, thread, name and stacks, counted.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RawSample {
    /// Process (tgid).
    pub pid: u32,
    /// Thread.
    pub tid: u32,
    /// Thread name when sampled.
    pub comm: String,
    /// User stack, leaf first: the sampled instruction, then return addresses.
    pub user: Vec<u64>,
    /// Kernel stack, leaf first.
    pub kernel: Vec<u64>,
    /// The thread's Python frames, innermost first, when it ran CPython.
    pub python: Vec<RawPythonFrame>,
    /// Number of samples.
    pub count: u64,
}

/// A Python frame as the sampler recorded it: where in the interpreter's
/// memory its code was, named later from the process's memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RawPythonFrame {
    /// Address of the `PyCodeObject`.
    pub code: u64,
    /// Address of the last instruction started (`prev_instr`).
    pub prev_instr: u64,
    /// The first Python frame of a call of the eval loop: the frames after
    /// it belong to the next eval frame of the native stack.
    pub entry: bool,
    /// `_PyInterpreterFrame.owner`.
    pub owner: u8,
}

/// An executable mapping of a process, as `/proc/PID/maps` showed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawMapping {
    /// The addresses mapped and the file offset they start at.
    pub range: MappedRange,
    /// Hex build id, empty when unknown.
    pub build_id: String,
    /// Path or pseudo name (`[vdso]`).
    pub path: String,
}

/// A recording: samples plus the maps of every process they mention.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawProfile {
    /// Sampling frequency in Hz; the period of one sample is 1 s / frequency.
    pub frequency: u64,
    /// Start of the recording, unix nanoseconds.
    pub time_nanos: i64,
    /// Length of the recording.
    pub duration_nanos: i64,
    /// Hex build id of the running kernel, empty when unknown.
    pub kernel_build_id: String,
    /// Executable mappings per process, sorted by start address.
    pub processes: BTreeMap<u32, Vec<RawMapping>>,
    /// The samples.
    pub samples: Vec<RawSample>,
}

impl RawProfile {
    /// The mapping of `pid` containing `addr`.
    pub fn mapping_of(&self, pid: u32, addr: AbsAddr) -> Option<&RawMapping> {
        let mappings = self.processes.get(&pid)?;
        let index = mappings
            .partition_point(|m| m.range.start <= addr)
            .checked_sub(1)?;
        let mapping = &mappings[index];
        mapping.range.contains(addr).then_some(mapping)
    }

    /// Total number of samples.
    pub fn sample_count(&self) -> u64 {
        self.samples.iter().map(|s| s.count).sum()
    }

    /// The text form (see the module docs).
    pub fn to_text(&self) -> String {
        let mut out = format!("{HEADER}\nfrequency {}\n", self.frequency);
        let _ = writeln!(out, "time {} {}", self.time_nanos, self.duration_nanos);
        if !self.kernel_build_id.is_empty() {
            let _ = writeln!(out, "kernel {}", self.kernel_build_id);
        }
        for (pid, mappings) in &self.processes {
            for m in mappings {
                let build_id = if m.build_id.is_empty() {
                    "-"
                } else {
                    &m.build_id
                };
                let _ = writeln!(
                    out,
                    "map {pid} {:x} {:x} {:x} {build_id} {}",
                    m.range.start,
                    m.range.end,
                    m.range.offset,
                    one_line(&m.path)
                );
            }
        }
        for s in &self.samples {
            let python = if s.python.is_empty() {
                String::new()
            } else {
                let frames: Vec<String> = s.python.iter().map(python_frame_text).collect();
                format!("{PYTHON_FIELD}{} ", frames.join(","))
            };
            let _ = writeln!(
                out,
                "sample {} {} {} user={} kernel={} {python}{}",
                s.pid,
                s.tid,
                s.count,
                hex_list(&s.user),
                hex_list(&s.kernel),
                one_line(&s.comm)
            );
        }
        out
    }

    /// Parses the text form (see the module docs).
    pub fn parse(text: &str) -> Result<Self> {
        let mut lines = text.lines().enumerate();
        match lines.next() {
            Some((_, HEADER)) => {}
            _ => {
                return Err(format_error(
                    0,
                    format!("the first line must be `{HEADER}`"),
                ))
            }
        }
        let mut raw = RawProfile::default();
        for (index, line) in lines {
            let number = index + 1;
            let line = line.trim_end();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (keyword, rest) = line.split_once(' ').unwrap_or((line, ""));
            let parsed = match keyword {
                "frequency" => rest.parse().map(|f| raw.frequency = f).ok(),
                "time" => {
                    parse_time(rest).map(|(t, d)| (raw.time_nanos, raw.duration_nanos) = (t, d))
                }
                "kernel" => parse_build_id(rest).map(|id| raw.kernel_build_id = id),
                "map" => {
                    parse_map(rest).map(|(pid, m)| raw.processes.entry(pid).or_default().push(m))
                }
                "sample" => parse_sample(rest).map(|s| raw.samples.push(s)),
                _ => return Err(format_error(number, format!("unknown record `{keyword}`"))),
            };
            if parsed.is_none() {
                return Err(format_error(
                    number,
                    format!("malformed `{keyword}` record: {line}"),
                ));
            }
        }
        if raw.frequency == 0 {
            return Err(format_error(
                0,
                "a positive `frequency` record is required".into(),
            ));
        }
        for mappings in raw.processes.values_mut() {
            mappings.sort_by_key(|m| m.range.start);
        }
        Ok(raw)
    }
}

fn format_error(line: usize, message: String) -> Error {
    Error::RawFormat { line, message }
}

fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

fn hex_list(addrs: &[u64]) -> String {
    let parts: Vec<String> = addrs.iter().map(|a| format!("{a:x}")).collect();
    parts.join(",")
}

fn parse_hex_list(s: &str) -> Option<Vec<u64>> {
    if s.is_empty() {
        return Some(Vec::new());
    }
    s.split(',').map(parse_hex_u64).collect()
}

fn parse_build_id(id: &str) -> Option<String> {
    id.bytes()
        .all(|b| b.is_ascii_hexdigit())
        .then(|| id.to_owned())
}

fn parse_time(rest: &str) -> Option<(i64, i64)> {
    let (time, duration) = rest.split_once(' ')?;
    Some((time.parse().ok()?, duration.parse().ok()?))
}

fn parse_map(rest: &str) -> Option<(u32, RawMapping)> {
    let mut fields = rest.splitn(6, ' ');
    let pid = fields.next()?.parse().ok()?;
    let range = MappedRange {
        start: AbsAddr(parse_hex_u64(fields.next()?)?),
        end: AbsAddr(parse_hex_u64(fields.next()?)?),
        offset: FileOffset(parse_hex_u64(fields.next()?)?),
    };
    let build_id = match fields.next()? {
        "-" => String::new(),
        id => parse_build_id(id)?,
    };
    let path = fields.next().unwrap_or_default().to_owned();
    (range.start < range.end).then_some((
        pid,
        RawMapping {
            range,
            build_id,
            path,
        },
    ))
}

fn parse_sample(rest: &str) -> Option<RawSample> {
    let mut fields = rest.splitn(6, ' ');
    let pid = fields.next()?.parse().ok()?;
    let tid = fields.next()?.parse().ok()?;
    let count = fields.next()?.parse().ok()?;
    let user = parse_hex_list(fields.next()?.strip_prefix("user=")?)?;
    let kernel = parse_hex_list(fields.next()?.strip_prefix("kernel=")?)?;
    let mut comm = fields.next().unwrap_or_default();
    let mut python = Vec::new();
    if let Some(rest) = comm.strip_prefix(PYTHON_FIELD) {
        let (frames, after) = rest.split_once(' ').unwrap_or((rest, ""));
        python = frames
            .split(',')
            .map(parse_python_frame)
            .collect::<Option<_>>()?;
        comm = after;
    }
    Some(RawSample {
        pid,
        tid,
        comm: comm.to_owned(),
        user,
        kernel,
        python,
        count,
    })
}

fn python_frame_text(frame: &RawPythonFrame) -> String {
    let flags = if frame.entry { PYTHON_ENTRY_FLAG } else { 0 };
    format!(
        "{:x}:{:x}:{flags:x}:{:x}",
        frame.code, frame.prev_instr, frame.owner
    )
}

fn parse_python_frame(text: &str) -> Option<RawPythonFrame> {
    let mut parts = text.split(':');
    let code = parse_hex_u64(parts.next()?)?;
    let prev_instr = parse_hex_u64(parts.next()?)?;
    let flags = u8::try_from(parse_hex_u64(parts.next()?)?).ok()?;
    let owner = u8::try_from(parse_hex_u64(parts.next()?)?).ok()?;
    if parts.next().is_some() {
        return None;
    }
    Some(RawPythonFrame {
        code,
        prev_instr,
        entry: flags & PYTHON_ENTRY_FLAG != 0,
        owner,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> RawProfile {
        let mut raw = RawProfile {
            frequency: 99,
            time_nanos: 1_764_115_200_000_000_000,
            duration_nanos: 5_000_000_000,
            kernel_build_id: "4a5a9b0a".into(),
            ..RawProfile::default()
        };
        raw.processes.insert(
            42,
            vec![RawMapping {
                range: MappedRange {
                    start: AbsAddr(0x5000),
                    end: AbsAddr(0x9000),
                    offset: FileOffset(0x1000),
                },
                build_id: "abcd".into(),
                path: "/opt/my app/bin".into(),
            }],
        );
        raw.samples.push(RawSample {
            pid: 42,
            tid: 43,
            comm: "worker 1".into(),
            user: vec![0x5010, 0x6020],
            kernel: vec![0xffffffff81000010],
            python: vec![],
            count: 7,
        });
        raw
    }

    #[test]
    fn text_form_round_trips_spaces_and_empty_stacks() {
        let mut raw = sample();
        raw.samples.push(RawSample {
            kernel: vec![],
            user: vec![],
            ..raw.samples[0].clone()
        });
        raw.samples.push(RawSample {
            python: vec![
                RawPythonFrame {
                    code: 0x7f00_1000,
                    prev_instr: 0x7f00_10c4,
                    entry: false,
                    owner: 0,
                },
                RawPythonFrame {
                    code: 0x7f00_2000,
                    prev_instr: 0x7f00_20d0,
                    entry: true,
                    owner: 1,
                },
            ],
            ..raw.samples[0].clone()
        });
        let parsed = RawProfile::parse(&raw.to_text()).unwrap();
        assert_eq!(parsed, raw);
    }

    #[test]
    fn finds_mappings_by_address() {
        let raw = sample();
        let at = |pid, addr| raw.mapping_of(pid, AbsAddr(addr));
        assert_eq!(at(42, 0x5000).unwrap().path, "/opt/my app/bin");
        assert!(at(42, 0x9000).is_none());
        assert!(at(42, 0x4fff).is_none());
        assert!(at(7, 0x5000).is_none());
    }

    #[test]
    fn malformed_input_names_the_line() {
        let bad = "brasa-raw-samples 1\nfrequency 99\nsample 1 2 x user= kernel= a\n";
        let err = RawProfile::parse(bad).unwrap_err().to_string();
        assert!(err.contains("line 3"), "{err}");
        assert!(RawProfile::parse("nonsense\n").is_err());
        let no_frequency = RawProfile::parse("brasa-raw-samples 1\n").unwrap_err();
        assert!(no_frequency.to_string().contains("frequency"));
    }
}
