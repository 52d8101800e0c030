//! `brasa`: the command-line entry point of the Brasa continuous profiler.
//!
//! Thin wiring only: each subcommand turns its arguments into library
//! options and calls the crate that owns the work.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod args;
mod cmd;
mod token;

/// Brasa: continuous profiling with eBPF, pprof and flame graphs.
#[derive(Parser)]
#[command(name = "brasa", version, about, long_about = None, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    Agent(cmd::agent::Args),
    Check(cmd::check::Args),
    Diff(cmd::diff::Args),
    Flamegraph(cmd::flamegraph::Args),
    Merge(cmd::merge::Args),
    Record(cmd::record::Args),
    Server(cmd::server::Args),
    Store(cmd::store::Args),
    Up(cmd::up::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Agent(args) => cmd::agent::run(args),
        Command::Check(args) => cmd::check::run(args),
        Command::Diff(args) => cmd::diff::run(args),
        Command::Flamegraph(args) => cmd::flamegraph::run(args),
        Command::Merge(args) => cmd::merge::run(args),
        Command::Record(args) => cmd::record::run(args),
        Command::Server(args) => cmd::server::run(args),
        Command::Store(args) => cmd::store::run(args),
        Command::Up(args) => cmd::up::run(args),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            // One line, no backtrace: the chain of contexts says what and why.
            eprintln!(
                "brasa: error: {}",
                brasa_profile::error_chain(error.as_ref())
            );
            ExitCode::from(2)
        }
    }
}
