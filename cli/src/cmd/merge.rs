//! `brasa merge INPUT... -o OUT`

use std::{path::PathBuf, process::ExitCode};

use brasa_profile::io::{merge_paths, write_path, WriteOptions};

/// Merge profiles of the same kind into one (pprof or folded, by extension).
#[derive(clap::Args)]
pub struct Args {
    /// Input profiles: pprof (.pb.gz or raw) or folded stacks.
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
    /// Output file: .pb.gz (pprof), .folded or .svg.
    #[arg(short, long, value_name = "OUT")]
    output: PathBuf,
    /// Sample type for folded or SVG output (default: the profile's default).
    #[arg(long)]
    sample_type: Option<String>,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let merged = merge_paths(&args.inputs)?;
    let mut options = WriteOptions::default();
    options.sample_type = args.sample_type;
    write_path(&merged, &args.output, &options)?;
    Ok(ExitCode::SUCCESS)
}
