//! Argument parsers shared by several subcommands.

use std::time::Duration;

use brasa_agent::{
    sampler::{SamplingOptions, MAX_FREQUENCY},
    unwind::{rows_in_mib, DEFAULT_TABLE_MIB},
};

/// A duration such as `10s`, `1m30s` or `14d`, in the syntax every Brasa
/// command and endpoint accepts; no command has a use for zero.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let duration = brasa_web::time::parse_duration(text).map_err(|e| e.to_string())?;
    if duration.is_zero() {
        return Err(format!(
            "{text:?} is no time at all; give a duration such as 10s or 14d"
        ));
    }
    Ok(duration)
}

/// The URL of a Brasa server: `http://HOST:PORT`, without a trailing `/`.
pub fn parse_server_url(text: &str) -> Result<String, String> {
    let example = "write it like http://127.0.0.1:7171";
    if text.starts_with("https://") {
        return Err(format!(
            "{text:?}: Brasa's client speaks plain HTTP only; {example}, or reach a TLS server through a local proxy"
        ));
    }
    match text.strip_prefix("http://") {
        Some(rest) if !rest.trim_end_matches('/').is_empty() => {
            Ok(text.trim_end_matches('/').to_owned())
        }
        _ => Err(format!("{text:?} is not an http:// URL; {example}")),
    }
}

/// How stacks are sampled: `--frequency`, `--unwind` and `--unwind-memory`,
/// the same for `record`, `agent` and `up`, whose default frequencies
/// differ: [`SamplingArgs::options`] takes the command's. (clap keeps one
/// default per argument definition, so it cannot be a type parameter.)
#[derive(Debug, Clone, clap::Args)]
pub struct SamplingArgs {
    /// Samples per second per CPU (1-10000) [default: 99 with `record`, 19
    /// with `agent` and `up`]
    #[arg(long, value_name = "HZ", allow_negative_numbers = true,
          value_parser = clap::value_parser!(u64).range(1..=MAX_FREQUENCY))]
    frequency: Option<u64>,
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

impl SamplingArgs {
    /// The sampler's options, at `default_frequency` unless `--frequency`.
    pub fn options(&self, default_frequency: u64) -> SamplingOptions {
        let mut options = SamplingOptions::at(self.frequency.unwrap_or(default_frequency));
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
    use brasa_agent::{
        sampler::{AGENT_FREQUENCY, RECORD_FREQUENCY},
        unwind::DEFAULT_TABLE_ROWS,
    };
    use clap::{CommandFactory, Parser};

    #[derive(Parser)]
    struct Command {
        #[command(flatten)]
        sampling: SamplingArgs,
    }

    fn parse(args: &[&str]) -> Result<SamplingOptions, clap::Error> {
        let argv = std::iter::once("brasa").chain(args.iter().copied());
        Command::try_parse_from(argv).map(|c| c.sampling.options(RECORD_FREQUENCY))
    }

    #[test]
    fn durations_are_positive() {
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        let error = parse_duration("0s").unwrap_err();
        assert_eq!(
            error,
            r#""0s" is no time at all; give a duration such as 10s or 14d"#
        );
    }

    #[test]
    fn server_urls_have_a_scheme() {
        assert_eq!(
            parse_server_url("http://127.0.0.1:7171/").as_deref(),
            Ok("http://127.0.0.1:7171")
        );
        let error = parse_server_url("127.0.0.1:7171").unwrap_err();
        assert_eq!(
            error,
            r#""127.0.0.1:7171" is not an http:// URL; write it like http://127.0.0.1:7171"#
        );
        assert!(parse_server_url("http://").is_err());
        assert!(parse_server_url("https://x")
            .unwrap_err()
            .contains("plain HTTP"));
    }

    #[test]
    fn defaults_are_the_samplers() {
        let options = parse(&[]).unwrap();
        assert_eq!(options.frequency, RECORD_FREQUENCY);
        assert!(options.unwind_tables);
        assert_eq!(options.table_rows, DEFAULT_TABLE_ROWS);
        assert_eq!(parse(&["--frequency", "7"]).unwrap().frequency, 7);
    }

    #[test]
    fn the_help_states_the_commands_defaults() {
        let help = Command::command().render_long_help().to_string();
        let stated = format!(
            "[default: {RECORD_FREQUENCY} with `record`, {AGENT_FREQUENCY} with `agent` and `up`]"
        );
        let help_line = help.replace('\n', " ");
        assert!(help_line.contains(&stated), "{help}");
        assert!(
            help_line.contains(&format!("(1-{MAX_FREQUENCY})")),
            "{help}"
        );
        assert!(
            help.contains(&format!("[default: {DEFAULT_TABLE_MIB}]")),
            "{help}"
        );
    }

    #[test]
    fn unwind_memory_is_whole_mebibytes_in_range() {
        let options = parse(&["--unwind-memory", "24", "--unwind", "fp"]).unwrap();
        assert_eq!(options.table_rows, 2 * DEFAULT_TABLE_ROWS);
        assert!(!options.unwind_tables);
        for bad in ["0", "2048", "1.5"] {
            assert!(parse(&["--unwind-memory", bad]).is_err(), "{bad}");
        }
        for bad in ["0", "10001", "-5"] {
            let error = parse(&["--frequency", bad]).unwrap_err().to_string();
            assert!(error.contains("--frequency"), "{error}");
        }
    }
}
