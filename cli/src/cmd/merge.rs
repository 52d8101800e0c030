//! `brasa merge INPUT... -o OUT`

use std::{path::PathBuf, process::ExitCode};

use brasa_profile::io::{check_writable, merge_paths, write_path, OutputFormat, WriteOptions};

/// Merge profiles of the same kind into one (pprof or folded, by extension).
#[derive(clap::Args)]
pub struct Args {
    /// Input profiles: pprof (.pb.gz or raw) or folded stacks.
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
    /// Output file: .pb.gz (pprof), .folded or .svg.
    #[arg(short, long, value_name = "OUT")]
    output: PathBuf,
    /// Merge only this sample type, e.g. `cpu` or `cpu/nanoseconds`, so
    /// that inputs with different sets of types (a pprof and the folded
    /// stacks written from it) merge; also the type of folded or SVG output
    /// (default: all types, which must then be the same in every input).
    #[arg(long)]
    sample_type: Option<String>,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    // Fail on a bad output name or an unwritable place before merging.
    OutputFormat::from_path(&args.output)?;
    check_writable(&args.output)?;
    let merged = merge_paths(&args.inputs, args.sample_type.as_deref())?;
    let mut options = WriteOptions::default();
    options.sample_type = args.sample_type;
    write_path(&merged, &args.output, &options)?;
    Ok(ExitCode::SUCCESS)
}
