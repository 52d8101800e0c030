//! What an address resolves to.

use std::sync::Arc;

/// The lines of one address, innermost first; empty when unknown. Shared,
/// because cached results are handed out at every drain.
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
