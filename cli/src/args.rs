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

/// `--unwind-memory MIB`: kernel memory for unwind table rows, as rows.
pub fn parse_unwind_memory(text: &str) -> Result<u32, String> {
    let mib: u32 = text
        .parse()
        .map_err(|_| format!("expected a whole number of MiB, got {text:?}"))?;
    if !(1..=1024).contains(&mib) {
        return Err(format!("{mib} MiB is outside 1..=1024"));
    }
    Ok(mib * (1 << 20) / brasa_agent::unwind::ROW_BYTES)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unwind_memory_is_whole_mebibytes_in_range() {
        assert_eq!(parse_unwind_memory("12"), Ok(1 << 20));
        assert!(parse_unwind_memory("0").is_err());
        assert!(parse_unwind_memory("2048").is_err());
        assert!(parse_unwind_memory("1.5").is_err());
    }
}
