//! What an address resolves to: its source lines, or why it has none.

use std::sync::Arc;

/// The lines of one address, innermost first. Shared, because cached
/// results are handed out at every drain.
pub type Lines = Arc<[SourceLine]>;

/// One source line of a resolved address. An address inside inlined code
/// resolves to several: the innermost (inlined callee) first, as pprof
/// orders the lines of one location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceLine {
    /// Demangled function name.
    pub function: String,
    /// Name as found in the binary when it differs (mangled), else empty.
    pub system_name: String,
    /// Source file, empty when unknown.
    pub file: String,
    /// Line number, 0 when unknown.
    pub line: u32,
}

impl SourceLine {
    /// A line that only names its function.
    pub fn function(name: impl Into<String>) -> Self {
        Self {
            function: name.into(),
            system_name: String::new(),
            file: String::new(),
            line: 0,
        }
    }
}

/// Why an address resolved to no function. The frame is still kept, as an
/// address in its mapping; the reason is what the agent counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Unknown {
    /// The address lies in no mapping known for its process (code mapped
    /// and unmapped between two reads of its maps, or a process that
    /// exited before they could be read).
    NoMapping,
    /// The mapping has no file behind it: anonymous memory (JIT code) or a
    /// pseudo mapping such as `[vdso]`.
    NoFile,
    /// The mapped file (or the kernel's symbol list) could not be opened or
    /// read.
    FileUnreadable,
    /// No symbol covers the address: a stripped binary, code between
    /// symbols, an offset outside the file's code.
    NoSymbol,
    /// The file was read but could not be symbolized (not ELF, corrupt, or
    /// a format the symbolizer does not support).
    SymbolizationFailed,
    /// JIT code: the process has a perf map (`/tmp/perf-PID.map`), but no
    /// entry of it covers the address (code written before the runtime
    /// started its map, runtime stubs it does not list, or a map read
    /// before the runtime appended the entry).
    NotInPerfMap,
    /// A Python frame whose code object could not be read: the process
    /// exited (or freed the code) before its samples were drained.
    PythonCodeUnreadable,
}

impl Unknown {
    /// Every reason, in declaration order.
    pub const ALL: [Unknown; 7] = [
        Unknown::NoMapping,
        Unknown::NoFile,
        Unknown::FileUnreadable,
        Unknown::NoSymbol,
        Unknown::SymbolizationFailed,
        Unknown::NotInPerfMap,
        Unknown::PythonCodeUnreadable,
    ];

    /// The reason as a metric label value.
    pub fn label(self) -> &'static str {
        match self {
            Unknown::NoMapping => "no_mapping",
            Unknown::NoFile => "no_file",
            Unknown::FileUnreadable => "file_unreadable",
            Unknown::NoSymbol => "no_symbol",
            Unknown::SymbolizationFailed => "symbolization_failed",
            Unknown::NotInPerfMap => "not_in_perf_map",
            Unknown::PythonCodeUnreadable => "python_code_unreadable",
        }
    }
}

/// What one address resolved to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Symbolized {
    /// Its lines, innermost first; never empty.
    Frames(Lines),
    /// Nothing, for this reason.
    Unknown(Unknown),
}

impl Symbolized {
    /// `lines` as a result: [`Unknown::NoSymbol`] when there are none.
    pub fn from_lines(lines: Lines) -> Self {
        if lines.is_empty() {
            Symbolized::Unknown(Unknown::NoSymbol)
        } else {
            Symbolized::Frames(lines)
        }
    }

    /// The lines, innermost first; empty when unknown.
    pub fn lines(&self) -> &[SourceLine] {
        match self {
            Symbolized::Frames(lines) => lines,
            Symbolized::Unknown(_) => &[],
        }
    }

    /// Why the address is unknown, if it is.
    pub fn unknown(&self) -> Option<Unknown> {
        match self {
            Symbolized::Frames(_) => None,
            Symbolized::Unknown(reason) => Some(*reason),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_lines_is_unknown_for_want_of_a_symbol() {
        let none = Symbolized::from_lines(Lines::from([]));
        assert_eq!(none.unknown(), Some(Unknown::NoSymbol));
        assert!(none.lines().is_empty());
        let one = Symbolized::from_lines(Lines::from([SourceLine::function("f")]));
        assert_eq!(one.unknown(), None);
        assert_eq!(one.lines()[0].function, "f");
    }

    #[test]
    fn labels_are_distinct() {
        let mut labels: Vec<&str> = Unknown::ALL.iter().map(|r| r.label()).collect();
        labels.sort_unstable();
        labels.dedup();
        assert_eq!(labels.len(), Unknown::ALL.len());
    }
}
