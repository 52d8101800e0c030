//! A recording session: sample one process tree (or the host) until a
//! duration passes, the command exits, or the caller asks to stop.

use std::{
    collections::HashMap,
    ffi::OsString,
    path::Path,
    process::{Child, Command, ExitStatus},
    sync::{
        atomic::{AtomicBool, Ordering},
        Mutex,
    },
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use brasa_profile::Profile;

use crate::{
    convert::{convert, ConvertOptions},
    live_resolver::LiveResolver,
    raw::{RawProfile, RawSample},
    sampler::{Sampler, SamplerOptions, SamplerStats, SamplerStorage, TargetKind, WalkTimes},
    unwind::UnwindStats,
    Error, Result,
};

/// How often the session wakes up to check for the end and report
/// progress. Process events and signals (Ctrl-C) wake it up at once.
const POLL_INTERVAL: Duration = Duration::from_millis(250);

/// Serializes command launches of concurrent sessions (see [`spawn`]).
static SPAWN_LOCK: Mutex<()> = Mutex::new(());

/// What to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Every process on the host but the recorder.
    Host,
    /// A running process and the children it starts.
    Pid(u32),
    /// A command (program and arguments) started by the recorder, with its
    /// children; recording stops when it exits.
    Command(Vec<OsString>),
}

/// Options of [`record`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RecordOptions {
    /// What to record. Default: the host.
    pub target: Target,
    /// Samples per second per CPU. Default: 99.
    pub frequency: u64,
    /// Stop after this long. Default: none (until the command or process
    /// exits, or the stop flag is set).
    pub duration: Option<Duration>,
    /// How often the sampler's maps are drained. Default: 2 s.
    pub drain_interval: Duration,
    /// Walk user stacks with unwind tables (code without frame pointers).
    /// Default: true; false walks by frame pointers only.
    pub unwind_tables: bool,
    /// Room for unwind table rows, 12 bytes of kernel memory each.
    /// Default: [`crate::unwind::DEFAULT_TABLE_ROWS`] (12 MiB).
    pub table_rows: u32,
}

impl Default for RecordOptions {
    fn default() -> Self {
        Self {
            target: Target::Host,
            frequency: 99,
            duration: None,
            drain_interval: Duration::from_secs(2),
            unwind_tables: true,
            table_rows: crate::unwind::DEFAULT_TABLE_ROWS,
        }
    }
}

/// Where a recording stands, for a live status line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Time since sampling started.
    pub elapsed: Duration,
    /// Samples taken so far.
    pub samples: u64,
}

/// The result of a session: raw samples plus what symbolizes them.
#[derive(Debug)]
pub struct Recording {
    /// The samples and process maps.
    pub raw: RawProfile,
    /// Symbols for `raw`, with the binaries held open.
    pub resolver: LiveResolver,
    /// The sampler's counters at the end.
    pub stats: SamplerStats,
    /// The unwind tables at the end (with [`RecordOptions::unwind_tables`]).
    pub unwind: Option<UnwindStats>,
    /// How long the walks with unwind tables took.
    pub walk_times: WalkTimes,
    /// How the command ended, for [`Target::Command`] when it did.
    pub exit_status: Option<ExitStatus>,
}

impl Recording {
    /// The symbolized pprof profile.
    pub fn to_profile(&mut self) -> Profile {
        convert(&self.raw, &mut self.resolver, &ConvertOptions::default())
    }
}

/// Records until the duration passes, the target exits, or `stop` is set;
/// `progress` is called a few times per second.
pub fn record(
    options: &RecordOptions,
    stop: &AtomicBool,
    progress: &mut dyn FnMut(&Progress),
) -> Result<Recording> {
    let me = std::process::id();
    let mut storage = SamplerStorage::default();
    let sampler_options = SamplerOptions {
        frequency: options.frequency,
        follow_targets: options.target != Target::Host,
        skip_pid: Some(me),
        unwind_tables: options.unwind_tables,
        table_rows: options.table_rows,
        ..SamplerOptions::default()
    };
    let mut sampler = Sampler::start(&mut storage, &sampler_options)?;
    let mut resolver = LiveResolver::default();

    let mut child = None;
    match &options.target {
        Target::Host => {}
        Target::Pid(pid) => {
            if !Path::new(&format!("/proc/{pid}")).exists() {
                return Err(Error::InvalidOption(format!("no process with pid {pid}")));
            }
            sampler.add_target(*pid, TargetKind::Sample)?;
            resolver.processes.refresh(*pid);
        }
        Target::Command(argv) => child = Some(spawn(&sampler, me, argv)?),
    }

    let started = Instant::now();
    let time_nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i64);
    let mut totals: HashMap<RawSample, u64> = HashMap::new();
    let mut last_drain = Instant::now();
    let mut exit_status = None;
    loop {
        for event in sampler.poll_process_events(POLL_INTERVAL)? {
            resolver.processes.handle(event);
        }
        if last_drain.elapsed() >= options.drain_interval {
            accumulate(&mut totals, &mut resolver, sampler.drain()?);
            last_drain = Instant::now();
        }
        let elapsed = started.elapsed();
        progress(&Progress {
            elapsed,
            samples: sampler.samples_taken()?,
        });
        if let Some(child) = child.as_mut() {
            exit_status = child
                .try_wait()
                .map_err(|e| Error::os("waiting for the command", e))?;
        }
        let target_gone = match &options.target {
            Target::Pid(pid) => !Path::new(&format!("/proc/{pid}")).exists(),
            Target::Command(_) => exit_status.is_some(),
            Target::Host => false,
        };
        if target_gone
            || stop.load(Ordering::SeqCst)
            || options.duration.is_some_and(|d| elapsed >= d)
        {
            break;
        }
    }
    let duration = started.elapsed();
    sampler.stop();
    for event in sampler.poll_process_events(Duration::ZERO)? {
        resolver.processes.handle(event);
    }
    accumulate(&mut totals, &mut resolver, sampler.drain_all()?);
    let stats = sampler.stats()?;
    let unwind = sampler.unwind_stats();
    let walk_times = sampler.walk_times()?;

    let mut raw = RawProfile {
        frequency: options.frequency,
        time_nanos,
        duration_nanos: duration.as_nanos() as i64,
        kernel_build_id: brasa_symbolizer::kallsyms::kernel_build_id().unwrap_or_default(),
        ..RawProfile::default()
    };
    raw.samples = totals
        .into_iter()
        .map(|(sample, count)| RawSample { count, ..sample })
        .collect();
    raw.samples.sort_unstable();
    for sample in &raw.samples {
        raw.processes
            .entry(sample.pid)
            .or_insert_with(|| resolver.processes.raw_mappings(sample.pid));
    }
    Ok(Recording {
        raw,
        resolver,
        stats,
        unwind,
        walk_times,
        exit_status,
    })
}

/// Starts the command with the recorder registered as a launcher, so the
/// fork tracepoint adds the command to the targets before it runs a single
/// instruction of its own.
fn spawn(sampler: &Sampler<'_>, me: u32, argv: &[OsString]) -> Result<Child> {
    let (program, args) = argv
        .split_first()
        .ok_or_else(|| Error::InvalidOption("no command to record".into()))?;
    // While this process is a launcher in one sampler, another session in
    // the same process must not spawn: its command would be followed here.
    let _one_at_a_time = SPAWN_LOCK
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    sampler.add_target(me, TargetKind::ParentOnly)?;
    let child = Command::new(program).args(args).spawn();
    sampler.remove_target(me)?;
    child.map_err(|source| Error::Spawn {
        command: program.to_string_lossy().into_owned(),
        source,
    })
}

/// Adds drained samples to the totals, reading the maps of processes whose
/// addresses the snapshots do not cover yet.
fn accumulate(
    totals: &mut HashMap<RawSample, u64>,
    resolver: &mut LiveResolver,
    drained: Vec<RawSample>,
) {
    resolver.processes.cover(&drained);
    for sample in drained {
        let count = sample.count;
        *totals.entry(RawSample { count: 0, ..sample }).or_default() += count;
    }
}
