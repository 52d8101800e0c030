//! `brasa flamegraph INPUT -o OUT.svg`

use std::{path::PathBuf, process::ExitCode};

use anyhow::Context;
use brasa_profile::{
    io::{load_path, write_atomic, OutputFormat, WriteOptions},
    render::FlameGraphOptions,
};

/// Render a pprof profile (gzip or raw) or folded stacks as an SVG flame graph.
#[derive(clap::Args)]
pub struct Args {
    /// Input profile: pprof (.pb.gz or raw) or folded stacks.
    input: PathBuf,
    /// Output SVG file.
    #[arg(short, long, value_name = "OUT.svg")]
    output: PathBuf,
    /// Sample type to draw, e.g. `cpu` or `cpu/nanoseconds` (default: the profile's default).
    #[arg(long)]
    sample_type: Option<String>,
    /// Title of the flame graph (default: the input file name).
    #[arg(long)]
    title: Option<String>,
    /// Draw an icicle graph (roots at the top).
    #[arg(long)]
    inverted: bool,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    OutputFormat::from_path_among(&args.output, &[OutputFormat::Svg])?;
    let profile = load_path(&args.input)?;
    let mut options = WriteOptions::default();
    options.sample_type = args.sample_type;
    options.flamegraph = FlameGraphOptions::default();
    options.flamegraph.inverted = args.inverted;
    options.flamegraph.title = args.title.unwrap_or_else(|| {
        args.input
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
    });
    let svg = brasa_profile::io::render(&profile, OutputFormat::Svg, &options)
        .with_context(|| format!("rendering {}", args.input.display()))?;
    write_atomic(&args.output, &svg)?;
    Ok(ExitCode::SUCCESS)
}
