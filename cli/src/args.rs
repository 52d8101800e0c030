//! Argument parsers shared by several subcommands.

use std::time::Duration;

/// A duration such as `10s`, `1m30s` or `14d`, in the syntax every Brasa
/// command and endpoint accepts.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    brasa_web::time::parse_duration(text).map_err(|e| e.to_string())
}

/// How user stacks are walked (`--unwind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Unwind {
    /// Unwind tables compiled from each binary's `.eh_frame`: complete
    /// stacks for code built without frame pointers; frames no table
    /// covers (JIT code) are walked by frame pointer.
    #[default]
    Tables,
    /// Frame pointers only.
    #[value(name = "fp")]
    FramePointers,
}

impl Unwind {
    /// Whether the sampler loads unwind tables.
    pub fn tables(self) -> bool {
        self == Unwind::Tables
    }
}
