//! `brasa diff BASE HEAD -o OUT.svg` (or `--server URL --base-query SEL
//! --head-query SEL`): differential flame graph and the functions whose
//! share changed most.

use std::{path::PathBuf, process::ExitCode};

use anyhow::Context;
use brasa_profile::{
    diff::{biggest_changes, changes_table, folded_pair, FoldedDiff, Side, DEFAULT_TOP_CHANGES},
    io::{load_path, write_atomic, OutputFormat},
    merge::merge,
    render::{count_name, FlameGraphOptions},
    units::quantity,
    Profile,
};

use super::check::ServerArgs;

/// Compare two profiles: a differential flame graph (both normalized to
/// the same total; red grew, blue shrank) and a table of the biggest
/// changes in self time on stdout.
#[derive(clap::Args)]
pub struct Args {
    /// Base profile (before): pprof (.pb.gz or raw) or folded stacks.
    #[arg(required_unless_present = "server", conflicts_with = "server")]
    base: Option<PathBuf>,
    /// Head profile (after): pprof (.pb.gz or raw) or folded stacks.
    #[arg(required_unless_present = "server", conflicts_with = "server")]
    head: Option<PathBuf>,
    #[command(flatten)]
    server: ServerArgs,
    /// Output SVG file; without it only the table is printed.
    #[arg(short, long, value_name = "OUT.svg")]
    output: Option<PathBuf>,
    /// Sample type to compare, e.g. `cpu` or `samples/count` (default: the
    /// profiles' default).
    #[arg(long)]
    sample_type: Option<String>,
    /// Title of the flame graph (default: "BASE vs HEAD").
    #[arg(long)]
    title: Option<String>,
    /// Number of functions in the table of changes.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_TOP_CHANGES)]
    top: usize,
}

fn file_name(path: &std::path::Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

/// The two profiles to compare and a default title naming them.
fn inputs(args: &Args) -> anyhow::Result<(Profile, Profile, String)> {
    if args.server.server.is_some() {
        let merged = |side: Side| -> anyhow::Result<Profile> {
            let profiles = args.server.fetch(side)?;
            merge(&profiles).context("merging the selections of one side")
        };
        let title = format!(
            "{} vs {}",
            args.server.base_query.join(" + "),
            args.server.head_query.join(" + ")
        );
        return Ok((merged(Side::Base)?, merged(Side::Head)?, title));
    }
    let (Some(base_path), Some(head_path)) = (&args.base, &args.head) else {
        anyhow::bail!("give BASE and HEAD files, or --server with --base-query and --head-query");
    };
    let base = load_path(base_path)
        .with_context(|| format!("reading base profile {}", base_path.display()))?;
    let head = load_path(head_path)
        .with_context(|| format!("reading head profile {}", head_path.display()))?;
    let title = format!("{} vs {}", file_name(base_path), file_name(head_path));
    Ok((base, head, title))
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    if let Some(output) = &args.output {
        OutputFormat::from_path_among(output, &[OutputFormat::Svg])?;
    }
    let (base, head, default_title) = inputs(&args)?;
    let sample_type = args.sample_type.as_deref();
    let (type_name, base_folded, head_folded) =
        folded_pair(&base, &head, sample_type).context("comparing base and head")?;
    let diff = FoldedDiff::new(&base_folded, &head_folded)?;
    if let Some(output) = &args.output {
        let mut options = FlameGraphOptions::default();
        options.title = args.title.clone().unwrap_or(default_title);
        options.count_name = count_name(&type_name);
        let svg = diff
            .to_svg(&options)
            .context("rendering the differential flame graph")?;
        write_atomic(output, &svg)?;
    }
    let changes = biggest_changes(&base, &head, sample_type, args.top)?;
    let unit = type_name.split_once('/').map_or("", |(_, unit)| unit);
    println!(
        "{type_name}: base total {}, head total {} (compared as shares of each total)",
        quantity(diff.base_total, unit),
        quantity(diff.head_total, unit)
    );
    print!("{}", changes_table(&changes));
    Ok(ExitCode::SUCCESS)
}
