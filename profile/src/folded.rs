//! Folded stacks, the text form flame graph tools share: one line per
//! distinct stack, frames root first separated by `;`, then a space and a
//! count (`main;parse;read 42`).
//!
//! Lines starting with `#` are comments. Brasa writes one first, naming the
//! sample type and unit of the counts (`# brasa: sample_type=cpu
//! unit=nanoseconds`), and reads it back, so a folded file merges with the
//! pprof it came from; other folded readers skip it, as it ends in no count.

use std::collections::BTreeMap;

use brasa_proto::pprof::{Line, Profile};

use crate::{
    builder::{FunctionInfo, ProfileBuilder},
    strings::FrameNames,
    Error, Result,
};

/// The sample type given to profiles built from folded stacks.
pub const FOLDED_SAMPLE_TYPE: (&str, &str) = ("samples", "count");

/// Starts the comment line that names the sample type and unit.
const HEADER_PREFIX: &str = "# brasa:";

/// Separator between frames of one stack.
pub const FRAME_SEPARATOR: char = ';';

/// Distinct stacks (frames root first, joined by `;`) and their counts.
///
/// Stacks are kept sorted, so rendering and text output are deterministic.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Folded {
    /// Stack → summed count. Zero counts are never stored.
    pub stacks: BTreeMap<String, i64>,
    /// What the counts measure, as (type, unit); `None` is
    /// [`FOLDED_SAMPLE_TYPE`], and is not written out.
    pub sample_type: Option<(String, String)>,
}

impl Folded {
    /// Parses folded text. Blank lines are skipped; counts must be
    /// non-negative integers; the stack is everything before the last run of
    /// white space, so frame names may contain spaces.
    pub fn parse(text: &str) -> Result<Self> {
        let mut folded = Self::default();
        for (index, line) in text.lines().enumerate() {
            let line = line.trim();
            if let Some(header) = line.strip_prefix(HEADER_PREFIX) {
                folded.sample_type =
                    Some(parse_header(header).map_err(|reason| Error::Folded {
                        line: index + 1,
                        reason,
                    })?);
                continue;
            }
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (stack, count) = parse_line(line).map_err(|reason| Error::Folded {
                line: index + 1,
                reason,
            })?;
            folded.add(stack, count);
        }
        Ok(folded)
    }

    /// Adds `count` to `stack`.
    pub fn add(&mut self, stack: &str, count: i64) {
        if count == 0 {
            return;
        }
        let sum = self.stacks.entry(stack.to_owned()).or_insert(0);
        *sum = sum.saturating_add(count);
        if *sum == 0 {
            self.stacks.remove(stack);
        }
    }

    /// Sum of all counts.
    pub fn total(&self) -> i64 {
        self.stacks.values().fold(0i64, |a, b| a.saturating_add(*b))
    }

    /// True when there is no stack.
    pub fn is_empty(&self) -> bool {
        self.stacks.is_empty()
    }

    /// The stacks of one sample type of a profile. Frame names that contain
    /// the separator or line breaks are sanitized so the text stays parseable.
    pub fn from_profile(profile: &Profile, sample_type: usize) -> Self {
        let names = FrameNames::new(profile);
        let mut folded = Self {
            sample_type: crate::sample_type::sample_type_names(profile)
                .get(sample_type)
                .and_then(|name| name.split_once('/'))
                .filter(|&type_unit| type_unit != FOLDED_SAMPLE_TYPE)
                .map(|(t, u)| (t.to_owned(), u.to_owned())),
            ..Self::default()
        };
        let mut stack = String::new();
        for sample in &profile.sample {
            let Some(&value) = sample.value.get(sample_type) else {
                continue;
            };
            if value == 0 {
                continue;
            }
            stack.clear();
            for (i, frame) in names.root_first(sample).into_iter().enumerate() {
                if i > 0 {
                    stack.push(FRAME_SEPARATOR);
                }
                push_sanitized(&mut stack, frame);
            }
            folded.add(&stack, value);
        }
        folded
    }

    /// A profile with one value per stack, of [`Folded::sample_type`]
    /// (`samples/count` when unknown), one function and one location per
    /// distinct frame name.
    pub fn to_profile(&self) -> Profile {
        let sample_type = self
            .sample_type
            .as_ref()
            .map_or(FOLDED_SAMPLE_TYPE, |(t, u)| (t.as_str(), u.as_str()));
        let mut builder = ProfileBuilder::new(&[sample_type]);
        let mut locations = Vec::new();
        for (stack, &count) in &self.stacks {
            locations.clear();
            for frame in stack.split(FRAME_SEPARATOR).rev() {
                let function_id = builder.function(FunctionInfo {
                    name: frame,
                    ..FunctionInfo::default()
                });
                let line = Line {
                    function_id,
                    ..Line::default()
                };
                locations.push(builder.location(0, 0, &[line]));
            }
            builder.add_sample(&locations, &[count], &[]);
        }
        builder.build()
    }

    /// The text form: the sample type comment when the type is known, then
    /// one `stack count` line per stack, sorted by stack.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        if let Some((r#type, unit)) = &self.sample_type {
            out.push_str(&format!("{HEADER_PREFIX} sample_type={type} unit={unit}\n"));
        }
        for line in self.lines() {
            out.push_str(&line);
            out.push('\n');
        }
        out
    }

    /// Lines of the text form, without line breaks.
    pub fn lines(&self) -> impl Iterator<Item = String> + '_ {
        self.stacks
            .iter()
            .map(|(stack, count)| format!("{stack} {count}"))
    }
}

fn parse_line(line: &str) -> std::result::Result<(&str, i64), String> {
    let Some((stack, count)) = line.rsplit_once(char::is_whitespace) else {
        return Err("no count after the stack".to_owned());
    };
    let count: i64 = count
        .parse()
        .map_err(|_| format!("count {count:?} is not an integer"))?;
    if count < 0 {
        return Err(format!("count {count} is negative"));
    }
    let stack = stack.trim_end();
    if stack.is_empty() {
        return Err("empty stack".to_owned());
    }
    Ok((stack, count))
}

fn push_sanitized(out: &mut String, frame: &str) {
    for c in frame.chars() {
        out.push(match c {
            FRAME_SEPARATOR => ':',
            '\n' | '\r' => ' ',
            c => c,
        });
    }
}

/// `sample_type=TYPE unit=UNIT`, what follows [`HEADER_PREFIX`].
fn parse_header(header: &str) -> std::result::Result<(String, String), String> {
    let (mut r#type, mut unit) = (None, None);
    for field in header.split_whitespace() {
        match field.split_once('=') {
            Some(("sample_type", value)) => r#type = Some(value),
            Some(("unit", value)) => unit = Some(value),
            _ => {}
        }
    }
    match (r#type, unit) {
        (Some(t), Some(u)) if !t.is_empty() && !u.is_empty() => Ok((t.to_owned(), u.to_owned())),
        _ => Err(format!(
            "the `{HEADER_PREFIX}` comment needs `sample_type=TYPE unit=UNIT`"
        )),
    }
}

/// True when `text` looks like folded stacks: its first line that is not
/// blank or a comment parses.
pub fn looks_folded(text: &str) -> bool {
    text.lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))
        .is_some_and(|l| parse_line(l).is_ok())
}
