//! `brasa`: the command-line entry point of the Brasa continuous profiler.
//!
//! Thin wiring only: each subcommand turns its arguments into library
//! options and calls the crate that owns the work.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod cmd;

/// Brasa: continuous profiling with eBPF, pprof and flame graphs.
#[derive(Parser)]
#[command(name = "brasa", version, about, long_about = None, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    Flamegraph(cmd::flamegraph::Args),
    Merge(cmd::merge::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Flamegraph(args) => cmd::flamegraph::run(args),
        Command::Merge(args) => cmd::merge::run(args),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            // One line, no backtrace: the chain of contexts says what and why.
            eprintln!("brasa: error: {error:#}");
            ExitCode::from(2)
        }
    }
}
