//! `brasa store check DIR [--scratch DIR]`: what is damaged in a data
//! directory, read without changing it. Exit status 0 when nothing is
//! damaged, 1 when something is, 2 when the directory cannot be checked.

use std::{path::PathBuf, process::ExitCode};

use anyhow::Context;
use brasa_store::check::{check_with, CheckOptions, Report};

/// Exit status of a check that found damage (errors exit with 2).
const EXIT_DAMAGED: u8 = 1;

/// Work on a server's data directory.
#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Subcommand)]
enum Command {
    Check(CheckArgs),
}

/// Report what is damaged in a data directory, without changing it.
///
/// Every record is read back: profiles, their symbols, the series index,
/// and the files beside the database. The directory is copied into a
/// temporary directory first (it needs as much free space as the data)
/// and must not be in use by a server. Exit status 0 when nothing is
/// damaged, 1 when something is, 2 when the directory cannot be checked.
#[derive(clap::Args)]
struct CheckArgs {
    /// The data directory (a server's --data).
    #[arg(value_name = "DIR")]
    dir: PathBuf,
    /// Where the temporary copy goes (default: the system's temporary
    /// directory).
    #[arg(long, value_name = "DIR")]
    scratch: Option<PathBuf>,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    match args.command {
        Command::Check(args) => check(args),
    }
}

fn check(args: CheckArgs) -> anyhow::Result<ExitCode> {
    let mut options = CheckOptions::default();
    options.scratch = args.scratch;
    let report = check_with(&args.dir, &options)
        .with_context(|| format!("checking the data directory {}", args.dir.display()))?;
    print!("{}", render(&args.dir.display().to_string(), &report));
    Ok(if report.is_clean() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_DAMAGED)
    })
}

/// The report as text: one line per damaged item, then the counts and the
/// verdict.
fn render(dir: &str, report: &Report) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    for damage in &report.damage {
        let _ = writeln!(out, "damaged: {damage}");
    }
    let unlisted = report.damaged_items - report.damage.len() as u64;
    if unlisted > 0 {
        let _ = writeln!(out, "damaged: {unlisted} more items, not listed");
    }
    if report.database_read {
        let _ = writeln!(
            out,
            "{dir}: {} series, {} profiles OK, {} profiles damaged",
            report.series, report.profiles_ok, report.profiles_damaged
        );
    } else {
        let _ = writeln!(out, "{dir}: the database could not be read at all");
    }
    if report.is_clean() {
        let _ = writeln!(out, "{dir} is not damaged");
    } else {
        let items = report.damaged_items;
        let s = if items == 1 { "" } else { "s" };
        let _ = writeln!(
            out,
            "{dir} is damaged ({items} item{s}); restore it from a backup before serving it"
        );
    }
    out
}
