//! `brasa record [--pid PID | --all | -- CMD ARGS...] [--duration DUR] [--frequency HZ] [--unwind tables|fp] -o FILE`

use std::{
    ffi::OsString,
    io::{IsTerminal, Write},
    os::unix::process::ExitStatusExt,
    path::PathBuf,
    process::{ExitCode, ExitStatus},
    time::Duration,
};

use anyhow::Context;
use brasa_agent::{
    interrupt::stop_on_interrupt,
    record::{record, Progress, RecordOptions, Recording, Target},
    sampler::{stats::Meaning, RECORD_FREQUENCY},
};
use brasa_profile::{
    io::{check_writable, write_path, OutputFormat, WriteOptions},
    units::quantity,
};

use crate::args::SamplingArgs;

/// Profile a command or a running process with eBPF and write pprof
/// (.pb.gz), an SVG flame graph (.svg) or folded stacks (.folded).
#[derive(clap::Args)]
pub struct Args {
    /// Record this running process (and the children it starts).
    #[arg(long, conflicts_with = "command")]
    pid: Option<u32>,
    /// Record every process on the host (except brasa itself).
    #[arg(short, long, conflicts_with_all = ["pid", "command"])]
    all: bool,
    /// Stop after this long, e.g. `10s`, `1m30s` (default: until the command
    /// or process exits, or Ctrl-C).
    #[arg(long, value_parser = crate::args::parse_duration)]
    duration: Option<Duration>,
    #[command(flatten)]
    sampling: SamplingArgs,
    /// Ask each JVM recorded to write its perf map (`jcmd PID
    /// Compiler.perfmap`, a JDK's jcmd on the PATH) every 2 s, so
    /// JIT-compiled Java methods are named; start Java with
    /// -XX:+PreserveFramePointer for whole stacks.
    #[arg(long)]
    jvm_perfmap: bool,
    /// Output file; its extension picks the format.
    #[arg(short, long, value_name = "FILE")]
    output: PathBuf,
    /// The command to run and record, after `--`.
    #[arg(last = true, value_name = "CMD")]
    command: Vec<OsString>,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let target = match (args.pid, args.command.is_empty()) {
        _ if args.all => Target::Host,
        (Some(pid), _) => Target::Pid(pid),
        (None, false) => Target::Command(args.command),
        (None, true) => {
            anyhow::bail!("say what to record: `--pid PID`, `--all` or `-- CMD ARGS...`")
        }
    };
    // Fail on a bad output name or an unwritable place before recording,
    // not after.
    OutputFormat::from_path(&args.output)?;
    check_writable(&args.output)?;
    let mut options = RecordOptions::default();
    options.target = target;
    options.sampling = args.sampling.options(RECORD_FREQUENCY);
    options.duration = args.duration;
    options.jvm_perfmap = args.jvm_perfmap;

    let stop = stop_on_interrupt()?;
    let live = std::io::stderr().is_terminal();
    let mut announced = false;
    let mut recording = record(&options, stop, &mut |p: &Progress| {
        if !announced {
            announced = true;
            eprintln!("brasa: {}", start_line(&options, p.pid));
        }
        if live {
            let mut err = std::io::stderr().lock();
            let _ = write!(
                err,
                "\rbrasa: recording {:>6.1}s, {} samples ",
                p.elapsed.as_secs_f64(),
                p.samples
            );
            let _ = err.flush();
        }
    })
    .context("recording")?;
    if live {
        eprintln!();
    }
    let profile = recording.to_profile();
    if let Some(problem) = recording.resolver.kernel_problem() {
        eprintln!("brasa: warning: kernel frames are not symbolized: {problem}");
    }
    write_path(&profile, &args.output, &WriteOptions::default())
        .with_context(|| format!("writing {}", args.output.display()))?;
    eprintln!(
        "brasa: wrote {} ({} samples)",
        args.output.display(),
        recording.raw.sample_count(),
    );
    summarize(&recording);
    Ok(match recording.exit_status {
        Some(status) => {
            let (code, how) = command_outcome(status);
            eprintln!("brasa: the command {how}");
            ExitCode::from(code)
        }
        None => match &options.target {
            Target::Command(_) => {
                // Stopped by Ctrl-C or --duration while the command runs on.
                eprintln!("brasa: the command is still running");
                ExitCode::from(if stop.load(std::sync::atomic::Ordering::SeqCst) {
                    EXIT_INTERRUPTED
                } else {
                    0
                })
            }
            _ => ExitCode::SUCCESS,
        },
    })
}

/// Exit status of a recording stopped by Ctrl-C before its command ended:
/// 128 + SIGINT, as a shell reports an interrupted job.
const EXIT_INTERRUPTED: u8 = 130;

/// What is recorded, how often, and how to stop.
fn start_line(options: &RecordOptions, pid: Option<u32>) -> String {
    let what = match (&options.target, pid) {
        (Target::Host, _) => "every process on this host".to_owned(),
        (Target::Command(argv), Some(pid)) => {
            format!("{} (pid {pid})", argv[0].to_string_lossy())
        }
        (Target::Command(argv), None) => argv[0].to_string_lossy().into_owned(),
        (Target::Pid(pid), _) => format!("pid {pid}"),
    };
    let until = match (&options.target, options.duration) {
        (_, Some(duration)) => format!("for {}", humantime::format_duration(duration)),
        (Target::Host, None) => "until Ctrl-C".to_owned(),
        (_, None) => "until it exits or Ctrl-C".to_owned(),
    };
    format!(
        "recording {what} at {} Hz {until}",
        options.sampling.frequency
    )
}

/// The exit code `brasa record` passes on for how the command ended (its
/// own code, or 128 + the signal that killed it, as a shell reports it),
/// and those words.
fn command_outcome(status: ExitStatus) -> (u8, String) {
    if let Some(code) = status.code() {
        let code = u8::try_from(code).unwrap_or(u8::MAX);
        return (code, format!("exited with status {code}"));
    }
    let signal = status.signal().unwrap_or(0);
    let code = u8::try_from(128 + signal).unwrap_or(u8::MAX);
    (
        code,
        format!("was killed by signal {signal} (exit status {code})"),
    )
}

/// What was lost and how the walks went, from the sampler's counters.
fn summarize(recording: &Recording) {
    let stats = &recording.stats;
    let lost = stats.samples_lost();
    let stacks_lost = stats.stacks_lost();
    if lost + stacks_lost > 0 {
        let why = |pick: fn(Meaning) -> Option<&'static str>| -> String {
            let parts: Vec<String> = stats
                .entries()
                .filter_map(|(c, v)| Some((pick(c.meaning)?, v)))
                .filter(|&(_, v)| v > 0)
                .map(|(reason, v)| format!("{v} {reason}"))
                .collect();
            parts.join(", ")
        };
        eprintln!(
            "brasa: {lost} samples lost ({}), {stacks_lost} samples without a stack ({})",
            why(|m| match m {
                Meaning::SampleLost(reason) => Some(reason),
                _ => None,
            }),
            why(|m| match m {
                Meaning::StackLost(reason) => Some(reason),
                _ => None,
            }),
        );
    }
    if stats.python_walks > 0 {
        let stopped: Vec<String> = stats
            .entries()
            .filter_map(|(c, v)| match c.meaning {
                Meaning::PythonWalkStopped(reason) if reason != "end" && v > 0 => {
                    Some(format!("{v} {reason}"))
                }
                _ => None,
            })
            .collect();
        eprintln!(
            "brasa: {} Python stacks walked, {:.1}% to their outermost frame, {:.1} frames in {} \
             on average (stopped early: {})",
            stats.python_walks,
            100.0 * stats.python_end as f64 / stats.python_walks as f64,
            stats.python_frames as f64 / stats.python_walks as f64,
            quantity(
                (stats.python_nanos / stats.python_walks) as i64,
                "nanoseconds"
            ),
            if stopped.is_empty() {
                "none".to_owned()
            } else {
                stopped.join(", ")
            },
        );
    }
    if stats.unwind_walks > 0 {
        let stopped: Vec<String> = stats
            .entries()
            .filter_map(|(c, v)| match c.meaning {
                Meaning::WalkStopped(reason) if reason != "end" => Some(format!("{v} {reason}")),
                _ => None,
            })
            .collect();
        eprintln!(
            "brasa: {} user stacks walked with unwind tables, {:.1}% to their first frame \
             (stopped early: {})",
            stats.unwind_walks,
            100.0 * stats.unwind_end as f64 / stats.unwind_walks as f64,
            stopped.join(", "),
        );
        let times = recording.walk_times;
        eprintln!(
            "brasa: walks took {} on average, median {}, p90 {}, \
             for {:.1} frames ({:.0}% of rules from the cache)",
            quantity(
                (stats.unwind_nanos / stats.unwind_walks.max(1)) as i64,
                "nanoseconds"
            ),
            quantity(times.p50_ns as i64, "nanoseconds"),
            quantity(times.p90_ns as i64, "nanoseconds"),
            stats.unwind_frames as f64 / stats.unwind_walks as f64,
            100.0 * stats.unwind_cache_hits as f64 / stats.unwind_frames.max(1) as f64,
        );
    }
    if let Some(tables) = recording.unwind {
        eprintln!(
            "brasa: unwind tables of {} binaries, {} rows, {} of kernel memory",
            tables.tables,
            tables.rows_used,
            quantity(
                i64::try_from(tables.table_bytes()).unwrap_or(i64::MAX),
                "bytes"
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signal_is_128_plus_its_number() {
        let (code, how) = command_outcome(ExitStatus::from_raw(9));
        assert_eq!(code, 137);
        assert_eq!(how, "was killed by signal 9 (exit status 137)");
        let (code, how) = command_outcome(ExitStatus::from_raw(7 << 8));
        assert_eq!((code, how.as_str()), (7, "exited with status 7"));
    }
}
