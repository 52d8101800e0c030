//! `brasa agent --server URL [--server URL]... [--token-file F] [--frequency HZ] [--interval DUR]
//! [--label KEY=VALUE]... [--label-from-env VAR[=LABEL]]... [--spool DIR]`

use std::{
    net::SocketAddr, path::PathBuf, process::ExitCode, sync::atomic::AtomicBool, time::Duration,
};

use brasa_agent::{
    fleet::{
        agent::{hostname, run as run_agent, AgentOptions},
        environ::EnvLabel,
        labels::LabelRules,
        metrics::{serve as serve_metrics, AgentMetrics},
        push::{PushOptions, Pusher},
        spool::Spool,
    },
    interrupt::stop_on_interrupt,
    sampler::AGENT_FREQUENCY,
};

use crate::{args::SamplingArgs, token::read_token_file};

/// Default spool size: about a day of a busy host's profiles at 10 s intervals.
const DEFAULT_SPOOL_BYTES: u64 = 256 << 20;

/// Profile this whole host with eBPF and push profiles to a Brasa server.
#[derive(clap::Args)]
pub struct Args {
    /// Server base URL, e.g. `http://brasa.internal:7171`. Repeat it for
    /// servers to fail over to: the agent pushes to one while it takes
    /// profiles and moves to the next when it fails.
    #[arg(long = "server", value_name = "URL", required = true,
          value_parser = crate::args::parse_server_url)]
    servers: Vec<String>,
    #[command(flatten)]
    agent: AgentArgs,
}

/// Agent settings shared by `brasa agent` and `brasa up`.
#[derive(clap::Args)]
pub struct AgentArgs {
    /// File whose first line is the bearer token the server wants.
    #[arg(long, value_name = "F")]
    token_file: Option<PathBuf>,
    #[command(flatten)]
    sampling: SamplingArgs,
    /// How often profiles are pushed (e.g. 10s, 1m).
    #[arg(long, default_value = "10s", value_name = "DUR", value_parser = crate::args::parse_duration)]
    interval: Duration,
    /// A label added to every series (repeatable).
    #[arg(long = "label", value_name = "KEY=VALUE", value_parser = parse_label)]
    labels: Vec<(String, String)>,
    /// Take a series label from each process's environment (repeatable);
    /// LABEL defaults to VAR in lower case.
    #[arg(long = "label-from-env", value_name = "VAR[=LABEL]")]
    env_labels: Vec<EnvLabel>,
    /// Directory of the on-disk spool used while the server is unreachable
    /// [default: ./brasa-agent-spool; with `up`, DATA/agent-spool]
    #[arg(long, value_name = "DIR")]
    spool: Option<PathBuf>,
    /// Largest spool size in bytes; the oldest profiles are dropped beyond it.
    #[arg(long, default_value_t = DEFAULT_SPOOL_BYTES, value_name = "BYTES")]
    spool_size: u64,
    /// Symbolize with DWARF debug information (file, line, inlined frames),
    /// not just ELF symbol tables: richer profiles for more agent CPU and memory.
    #[arg(long)]
    debug_info: bool,
    /// Ask each JVM sampled to write its perf map (`jcmd PID
    /// Compiler.perfmap`, a JDK's jcmd on the PATH) once per interval, so
    /// JIT-compiled Java methods are named; start Java with
    /// -XX:+PreserveFramePointer for whole stacks.
    #[arg(long)]
    jvm_perfmap: bool,
    /// Time limit of one delivery attempt (connecting, sending, the
    /// server's answer); a server that hangs costs no more than this.
    #[arg(long, value_name = "DUR",
          default_value_t = humantime::Duration::from(brasa_agent::fleet::push::DEFAULT_PUSH_TIMEOUT),
          value_parser = |t: &str| crate::args::parse_duration(t).map(humantime::Duration::from))]
    push_timeout: humantime::Duration,
    /// Longest wait between delivery attempts while the server fails; the
    /// wait doubles up to this, with jitter.
    #[arg(long, value_name = "DUR",
          default_value_t = humantime::Duration::from(brasa_agent::fleet::backoff::DEFAULT_RETRY_MAX),
          value_parser = |t: &str| crate::args::parse_duration(t).map(humantime::Duration::from))]
    retry_max: humantime::Duration,
    /// Where the agent serves its own /metrics.
    #[arg(long, default_value = "127.0.0.1:7172", value_name = "ADDR")]
    metrics_listen: SocketAddr,
}

impl AgentArgs {
    /// Sets the spool directory unless one was given.
    pub fn default_spool(&mut self, dir: PathBuf) {
        self.spool.get_or_insert(dir);
    }
}

/// `--label KEY=VALUE`; names starting with `__` are Brasa's own
/// (`__name__`, `__profile_type__`) and refused.
fn parse_label(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((k, _)) if k.starts_with("__") => Err(format!(
            "label names starting with `__` are reserved (`__name__`, `__profile_type__`); got {k:?}"
        )),
        Some((k, v)) if !k.is_empty() => Ok((k.to_owned(), v.to_owned())),
        _ => Err(format!("expected KEY=VALUE, got {text:?}")),
    }
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    run_with(&args.servers, args.agent, stop_on_interrupt()?)?;
    Ok(ExitCode::SUCCESS)
}

/// Runs the agent against `servers` (the first, then the next on
/// failure) until `stop` is set.
pub fn run_with(servers: &[String], args: AgentArgs, stop: &AtomicBool) -> anyhow::Result<()> {
    let mut push = PushOptions::new(servers);
    push.timeout = *args.push_timeout;
    push.backoff.max = *args.retry_max;
    if let Some(path) = &args.token_file {
        push.token = Some(read_token_file(path)?);
    }
    let spool_dir = args
        .spool
        .unwrap_or_else(|| PathBuf::from("./brasa-agent-spool"));
    let spool = Spool::open(&spool_dir, args.spool_size)?;
    let delivery = Pusher::new(push, spool).start()?;

    let mut static_labels = vec![("host".to_owned(), hostname())];
    for (k, v) in args.labels {
        static_labels.retain(|(name, _)| *name != k);
        static_labels.push((k, v));
    }
    let mut options = AgentOptions::default();
    options.sampling = args.sampling.options(AGENT_FREQUENCY);
    options.interval = args.interval;
    options.debug_info = args.debug_info;
    options.jvm_perfmap = args.jvm_perfmap;
    options.labels = LabelRules {
        static_labels,
        env_labels: args.env_labels,
    };

    let metrics = AgentMetrics::default();
    let address = serve_metrics(args.metrics_listen, metrics.registry())?;
    eprintln!(
        "brasa agent: sampling at {} Hz, pushing to {} every {:?}, metrics on http://{address}/metrics",
        options.sampling.frequency,
        servers.join(", then "),
        options.interval
    );
    let sampled = run_agent(&options, delivery.outbox(), stop, &metrics);
    delivery.finish();
    sampled?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_label_names_are_refused() {
        assert_eq!(parse_label("env=prod"), Ok(("env".into(), "prod".into())));
        for bad in ["__name__=x", "__profile_type__=cpu", "__x=1"] {
            assert!(parse_label(bad).unwrap_err().contains("reserved"), "{bad}");
        }
        assert!(parse_label("=x").is_err());
    }
}
