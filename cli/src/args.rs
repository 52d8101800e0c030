//! Argument parsers shared by several subcommands.

use std::time::Duration;

use brasa_agent::{
    sampler::SamplingOptions,
    unwind::{rows_in_mib, DEFAULT_TABLE_MIB},
};

/// A duration such as `10s`, `1m30s` or `14d`, in the syntax every Brasa
/// command and endpoint accepts.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    brasa_web::time::parse_duration(text).map_err(|e| e.to_string())
}

/// How stacks are sampled: `--frequency`, `--unwind` and `--unwind-memory`,
/// the same for `record`, `agent` and `up`; `HZ` is the command's default
/// frequency.
#[derive(Debug, Clone, clap::Args)]
pub struct SamplingArgs<const HZ: u64> {
    /// Samples per second per CPU.
    #[arg(long, default_value_t = HZ, value_name = "HZ")]
    frequency: u64,
    /// How user stacks are walked: `tables` (from .eh_frame, for code
    /// without frame pointers) or `fp` (frame pointers only).
    #[arg(long, value_enum, default_value_t)]
    unwind: Unwind,
    /// Kernel memory for unwind tables, in MiB (1-1024); binaries whose
    /// tables do not fit are walked by frame pointer.
    #[arg(long = "unwind-memory", value_name = "MIB",
          default_value_t = DEFAULT_TABLE_MIB,
          value_parser = clap::value_parser!(u32).range(1..=MAX_TABLE_MIB))]
    unwind_memory: u32,
}

/// Most kernel memory `--unwind-memory` may ask for, in MiB.
const MAX_TABLE_MIB: i64 = 1024;

impl<const HZ: u64> SamplingArgs<HZ> {
    /// The sampler's options.
    pub fn options(&self) -> SamplingOptions {
        let mut options = SamplingOptions::at(self.frequency);
        options.unwind_tables = self.unwind == Unwind::Tables;
        options.table_rows = rows_in_mib(self.unwind_memory);
        options
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use brasa_agent::{sampler::RECORD_FREQUENCY, unwind::DEFAULT_TABLE_ROWS};
    use clap::Parser;

    #[derive(Parser)]
    struct Command {
        #[command(flatten)]
        sampling: SamplingArgs<RECORD_FREQUENCY>,
    }

    fn parse(args: &[&str]) -> Result<SamplingOptions, clap::Error> {
        let argv = std::iter::once("brasa").chain(args.iter().copied());
        Command::try_parse_from(argv).map(|c| c.sampling.options())
    }

    #[test]
    fn defaults_are_the_samplers() {
        let options = parse(&[]).unwrap();
        assert_eq!(options.frequency, RECORD_FREQUENCY);
        assert!(options.unwind_tables);
        assert_eq!(options.table_rows, DEFAULT_TABLE_ROWS);
    }

    #[test]
    fn unwind_memory_is_whole_mebibytes_in_range() {
        let options = parse(&["--unwind-memory", "24", "--unwind", "fp"]).unwrap();
        assert_eq!(options.table_rows, 2 * DEFAULT_TABLE_ROWS);
        assert!(!options.unwind_tables);
        for bad in ["0", "2048", "1.5"] {
            assert!(parse(&["--unwind-memory", bad]).is_err(), "{bad}");
        }
    }
}
