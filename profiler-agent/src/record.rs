//! A recording session: sample one process tree (or the host) until a
//! duration passes, the command exits, or the caller asks to stop.

use std::{
    collections::HashMap,
    ffi::OsString,
    process::{Child, Command, ExitStatus},
    sync::{
        atomic::{AtomicBool, Ordering},
        Mutex,
    },
    time::{Duration, Instant},
};

use brasa_profile::Profile;

use crate::{
    clock::unix_nanos,
    convert::{convert, ConvertOptions},
    live_resolver::LiveResolver,
    processes::process_exists,
    raw::{RawProfile, RawSample},
    sampler::{
        drain_loop::{self, Consumer},
        ProcessEvent, Sampler, SamplerOptions, SamplerStats, SamplerStorage, SamplingOptions,
        TargetKind, WalkTimes, RECORD_FREQUENCY,
    },
    unwind::UnwindStats,
    Error, Result,
};

/// How long a stopped recording waits for its command to end: Ctrl-C
/// reaches the command too, and most commands end on it at once.
const COMMAND_GRACE: Duration = Duration::from_secs(2);

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
    /// Frequency and unwinding. Default: [`SamplingOptions::default`] at
    /// [`RECORD_FREQUENCY`].
    pub sampling: SamplingOptions,
    /// Stop after this long. Default: none (until the command or process
    /// exits, or the stop flag is set).
    pub duration: Option<Duration>,
    /// How often the sampler's maps are drained. Default: 2 s.
    pub drain_interval: Duration,
    /// Ask the JVMs recorded to write their perf maps (`jcmd PID
    /// Compiler.perfmap`), once per drain interval each, so their JIT
    /// frames are named. Default: false.
    pub jvm_perfmap: bool,
}

impl Default for RecordOptions {
    fn default() -> Self {
        Self {
            target: Target::Host,
            sampling: SamplingOptions::at(RECORD_FREQUENCY),
            duration: None,
            drain_interval: Duration::from_secs(2),
            jvm_perfmap: false,
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
    /// The process recorded: the command's, or the one given
    /// ([`Target::Pid`]); `None` for the host.
    pub pid: Option<u32>,
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
    /// The unwind tables at the end (with [`SamplingOptions::unwind_tables`]).
    pub unwind: Option<UnwindStats>,
    /// How long the walks with unwind tables took.
    pub walk_times: WalkTimes,
    /// How the command ended, for [`Target::Command`] when it did.
    pub exit_status: Option<ExitStatus>,
}

impl Recording {
    /// The symbolized pprof profile.
    pub fn to_profile(&mut self) -> Profile {
        convert(&self.raw, &mut self.resolver, &ConvertOptions::default()).profile
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
        sampling: options.sampling,
        follow_targets: options.target != Target::Host,
        skip_pid: Some(me),
    };
    let mut sampler = Sampler::start(&mut storage, &sampler_options)?;
    let mut session = Session {
        options,
        stop,
        progress,
        resolver: LiveResolver::default(),
        child: None,
        exit_status: None,
        started: Instant::now(),
        totals: HashMap::new(),
    };
    match &options.target {
        Target::Host => {}
        Target::Pid(pid) => {
            if !process_exists(*pid) {
                return Err(Error::InvalidOption(format!("no process with pid {pid}")));
            }
            sampler.add_target(*pid, TargetKind::Sample)?;
            session.resolver.processes.refresh(*pid);
        }
        Target::Command(argv) => session.child = Some(spawn(&sampler, me, argv)?),
    }
    if options.jvm_perfmap {
        session
            .resolver
            .ask_jvms_for_perf_maps(options.drain_interval);
    }
    let time_nanos = unix_nanos();
    session.started = Instant::now();
    drain_loop::run(&mut sampler, options.drain_interval, &mut session)?;
    let duration = session.started.elapsed();
    if stop.load(Ordering::SeqCst) && session.exit_status.is_none() {
        if let Some(child) = session.child.as_mut() {
            session.exit_status = wait_for_exit(child, COMMAND_GRACE)?;
        }
    }

    let mut raw = RawProfile {
        frequency: options.sampling.frequency,
        time_nanos,
        duration_nanos: duration.as_nanos() as i64,
        kernel_build_id: brasa_symbolizer::kallsyms::kernel_build_id().unwrap_or_default(),
        ..RawProfile::default()
    };
    raw.samples = session
        .totals
        .into_iter()
        .map(|(sample, count)| RawSample { count, ..sample })
        .collect();
    raw.samples.sort_unstable();
    for sample in &raw.samples {
        raw.processes
            .entry(sample.pid)
            .or_insert_with(|| session.resolver.processes.raw_mappings(sample.pid));
    }
    Ok(Recording {
        raw,
        resolver: session.resolver,
        stats: sampler.stats()?,
        unwind: sampler.unwind_stats(),
        walk_times: sampler.walk_times()?,
        exit_status: session.exit_status,
    })
}

/// How `child` ended, if it does within `grace`.
fn wait_for_exit(child: &mut Child, grace: Duration) -> Result<Option<ExitStatus>> {
    let deadline = Instant::now() + grace;
    loop {
        let status = child
            .try_wait()
            .map_err(|e| Error::os("waiting for the command", e))?;
        if status.is_some() || Instant::now() >= deadline {
            return Ok(status);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A recording in progress.
struct Session<'a> {
    options: &'a RecordOptions,
    stop: &'a AtomicBool,
    progress: &'a mut dyn FnMut(&Progress),
    resolver: LiveResolver,
    child: Option<Child>,
    exit_status: Option<ExitStatus>,
    started: Instant,
    /// Counts by sample (with a zero count).
    totals: HashMap<RawSample, u64>,
}

impl Consumer for Session<'_> {
    fn event(&mut self, event: ProcessEvent) {
        self.resolver.processes.handle(event);
    }

    fn should_stop(&mut self, sampler: &Sampler<'_>) -> Result<bool> {
        let elapsed = self.started.elapsed();
        let pid = match &self.options.target {
            Target::Pid(pid) => Some(*pid),
            Target::Command(_) => self.child.as_ref().map(Child::id),
            Target::Host => None,
        };
        (self.progress)(&Progress {
            elapsed,
            samples: sampler.samples_taken()?,
            pid,
        });
        if let Some(child) = self.child.as_mut() {
            self.exit_status = child
                .try_wait()
                .map_err(|e| Error::os("waiting for the command", e))?;
        }
        let target_gone = match &self.options.target {
            Target::Pid(pid) => !process_exists(*pid),
            Target::Command(_) => self.exit_status.is_some(),
            Target::Host => false,
        };
        Ok(target_gone
            || self.stop.load(Ordering::SeqCst)
            || self.options.duration.is_some_and(|d| elapsed >= d))
    }

    /// Adds drained samples to the totals, reading the maps of processes
    /// whose addresses the snapshots do not cover yet and the perf maps of
    /// processes with JIT code, while they still run.
    fn drained(&mut self, samples: Vec<RawSample>, _: &Sampler<'_>, _last: bool) -> Result<()> {
        self.resolver.drained(&samples);
        for sample in samples {
            let count = sample.count;
            *self
                .totals
                .entry(RawSample { count: 0, ..sample })
                .or_default() += count;
        }
        Ok(())
    }
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
