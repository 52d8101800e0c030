//! `brasa check --base FILE... --head FILE...` (or `--server URL
//! --base-query SEL... --head-query SEL...`): the CI regression gate.
//! Exit status 0 when nothing regressed, 1 on a regression, 2 on an error.

use std::{path::PathBuf, process::ExitCode};

use anyhow::Context;
use brasa_profile::{
    diff::Side,
    io::load_path,
    regression::{self, CheckOptions, Format},
    Profile,
};

use brasa_web::client::QueryClient;

use crate::token::read_token_file;

/// Exit status of a check that found a regression (errors exit with 2).
const EXIT_REGRESSION: u8 = 1;

/// Fail when a function got significantly slower between base and head.
///
/// A function regresses when its share of the profile (self or inclusive)
/// grew by more than --threshold and the growth is significant at --alpha,
/// with the false discovery rate controlled across all functions. Pass
/// several profiles per side (one per CI run) so that run-to-run variation
/// is accounted for; with one profile per side the counts are compared.
#[derive(clap::Args)]
pub struct Args {
    /// Base profiles (the reference build), pprof or folded, one per run.
    #[arg(long, num_args = 1.., value_name = "FILE", required_unless_present = "server", conflicts_with = "server")]
    base: Vec<PathBuf>,
    /// Head profiles (the build under test), pprof or folded, one per run.
    #[arg(long, num_args = 1.., value_name = "FILE", required_unless_present = "server", conflicts_with = "server")]
    head: Vec<PathBuf>,
    #[command(flatten)]
    server: ServerArgs,
    /// Relative growth of a share that counts as a regression, in percent.
    #[arg(long, value_name = "PCT", default_value_t = regression::DEFAULT_THRESHOLD * 100.0,
          value_parser = percent, allow_negative_numbers = true)]
    threshold: f64,
    /// False discovery rate level of the significance tests, between 0
    /// and 1.
    #[arg(long, value_name = "A", default_value_t = regression::DEFAULT_ALPHA,
          value_parser = level, allow_negative_numbers = true)]
    alpha: f64,
    /// Functions with a smaller share of head, in percent, are neither
    /// tested nor reported as new.
    #[arg(long, value_name = "PCT", default_value_t = regression::DEFAULT_MIN_SHARE * 100.0,
          value_parser = percent, allow_negative_numbers = true)]
    min_share: f64,
    /// Report format.
    #[arg(long, value_enum, default_value_t = FormatArg::Text)]
    format: FormatArg,
    /// Sample type to compare, e.g. `cpu` or `samples/count` (default: the
    /// profiles' default).
    #[arg(long)]
    sample_type: Option<String>,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum FormatArg {
    /// Aligned text for people.
    Text,
    /// Markdown for a pull-request comment.
    Markdown,
    /// JSON for machines.
    Json,
}

impl From<FormatArg> for Format {
    fn from(f: FormatArg) -> Self {
        match f {
            FormatArg::Text => Format::Text,
            FormatArg::Markdown => Format::Markdown,
            FormatArg::Json => Format::Json,
        }
    }
}

/// A percentage, `5` or `5%`, as a fraction.
fn percent(s: &str) -> Result<f64, String> {
    let number = s.trim().trim_end_matches('%');
    let value: f64 = number
        .parse()
        .map_err(|_| format!("{s:?} is not a percentage (e.g. 5 or 5%)"))?;
    if !value.is_finite() || value < 0.0 {
        return Err(format!("{s:?} must be a percentage of 0 or more"));
    }
    Ok(value / 100.0)
}

/// A significance level, strictly between 0 and 1.
fn level(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(value) if value > 0.0 && value < 1.0 => Ok(value),
        _ => Err(format!(
            "{s:?} is not a level between 0 and 1 (exclusive), such as 0.05"
        )),
    }
}

fn load_all(paths: &[PathBuf], side: &str) -> anyhow::Result<Vec<Profile>> {
    paths
        .iter()
        .map(|p| load_path(p).with_context(|| format!("reading {side} profile {}", p.display())))
        .collect()
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let (base, head) = if args.server.server.is_some() {
        (
            args.server.fetch(Side::Base)?,
            args.server.fetch(Side::Head)?,
        )
    } else {
        (load_all(&args.base, "base")?, load_all(&args.head, "head")?)
    };
    let mut options = CheckOptions::default();
    options.threshold = args.threshold;
    options.alpha = args.alpha;
    options.min_share = args.min_share;
    options.sample_type = args.sample_type;
    let report = regression::check(&base, &head, &options).context("comparing base and head")?;
    print!("{}", regression::render(&report, args.format.into()));
    Ok(if report.failed() {
        ExitCode::from(EXIT_REGRESSION)
    } else {
        ExitCode::SUCCESS
    })
}

/// Profiles from a Brasa server instead of files: one merged profile per
/// selector, over each side's time range.
#[derive(clap::Args)]
pub struct ServerArgs {
    /// Query this Brasa server instead of reading files, e.g. `http://127.0.0.1:7171`.
    #[arg(long, value_name = "URL", requires_all = ["base_query", "head_query"],
          value_parser = crate::args::parse_server_url)]
    pub server: Option<String>,
    /// Selector of base profiles, e.g. `process_cpu{service="api",version="1.4"}`. Repeat it
    /// for several base profiles (one per CI run, say), so run-to-run variation is measured.
    #[arg(long, value_name = "SEL", requires = "server")]
    pub base_query: Vec<String>,
    /// Selector of head profiles; repeat it like --base-query.
    #[arg(long, value_name = "SEL", requires = "server")]
    pub head_query: Vec<String>,
    /// Start of the base time range: RFC 3339, unix seconds or relative (`now-2h`).
    /// Default: the server's (the last hour).
    #[arg(long, value_name = "T", requires = "server")]
    pub base_from: Option<String>,
    /// End of the base time range (default: now).
    #[arg(long, value_name = "T", requires = "server")]
    pub base_to: Option<String>,
    /// Start of the head time range (default: the last hour).
    #[arg(long, value_name = "T", requires = "server")]
    pub head_from: Option<String>,
    /// End of the head time range (default: now).
    #[arg(long, value_name = "T", requires = "server")]
    pub head_to: Option<String>,
    /// File whose first line is the server's bearer token.
    #[arg(long, value_name = "F", requires = "server")]
    pub token_file: Option<PathBuf>,
}

impl ServerArgs {
    /// One profile per selector of `side`, fetched as pprof from
    /// `/api/v1/profile`.
    pub fn fetch(&self, side: Side) -> anyhow::Result<Vec<Profile>> {
        let server = self.server.as_deref().context("no --server given")?;
        let (queries, from, to) = match side {
            Side::Base => (&self.base_query, &self.base_from, &self.base_to),
            Side::Head => (&self.head_query, &self.head_from, &self.head_to),
        };
        let token = self
            .token_file
            .as_deref()
            .map(read_token_file)
            .transpose()?;
        let client = QueryClient::new(server, token);
        queries
            .iter()
            .map(|query| {
                client
                    .profile(query, from.as_deref(), to.as_deref())
                    .with_context(|| {
                        format!(
                            "querying {server} for the {} selection {query}",
                            side.name()
                        )
                    })
            })
            .collect()
    }
}
