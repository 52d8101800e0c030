//! The always-on agent: sample the whole host, and every interval push one
//! profile per process group to the server.

use std::{
    collections::BTreeMap,
    sync::atomic::{AtomicBool, Ordering},
    time::{Duration, Instant},
};

use brasa_profile::codec;

use super::{
    labels::{LabelRules, ProcessLabels},
    metrics::{AgentMetrics, SpoolStats},
    push::Outbox,
    spool::SpooledProfile,
};
use crate::{
    clock::unix_nanos,
    convert::{convert, ConvertOptions},
    live_resolver::LiveResolver,
    processes::process_exists,
    raw::{RawProfile, RawSample},
    sampler::{
        drain_loop::{self, Consumer},
        ProcessEvent, Sampler, SamplerOptions, SamplerStorage, SamplingOptions,
    },
    Result,
};

/// Settings of [`run`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct AgentOptions {
    /// Frequency and unwinding. Default: [`SamplingOptions::default`].
    pub sampling: SamplingOptions,
    /// How often profiles are pushed. Default: 10 s.
    pub interval: Duration,
    /// Labels for every series and from process environments.
    pub labels: LabelRules,
    /// Read DWARF debug information for file, line and inlined frames.
    /// Default: false, function names from ELF symbol tables only, which
    /// keeps the agent's CPU and memory small on hosts running large
    /// binaries with debug information.
    pub debug_info: bool,
    /// Ask the JVMs sampled to write their perf maps (`jcmd PID
    /// Compiler.perfmap`), once per interval each, so their JIT frames are
    /// named. Default: false.
    pub jvm_perfmap: bool,
}

impl Default for AgentOptions {
    fn default() -> Self {
        Self {
            sampling: SamplingOptions::default(),
            interval: Duration::from_secs(10),
            labels: LabelRules::default(),
            debug_info: false,
            jvm_perfmap: false,
        }
    }
}

/// This host's name, for the `host` label.
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_else(|_| "unknown".to_owned())
}

/// Samples the host and queues its profiles in `outbox` until `stop` is
/// set; the last partial interval is queued too. Delivery runs elsewhere
/// ([`super::push::Pusher::start`]), so sampling never waits on the
/// network. Fails when the sampler cannot start.
pub fn run(
    options: &AgentOptions,
    outbox: &Outbox,
    stop: &AtomicBool,
    metrics: &AgentMetrics,
) -> Result<()> {
    let mut storage = SamplerStorage::default();
    let sampler_options = SamplerOptions {
        sampling: options.sampling,
        follow_targets: false,
        skip_pid: Some(std::process::id()),
    };
    let mut sampler = Sampler::start(&mut storage, &sampler_options)?;
    let mut resolver = if options.debug_info {
        LiveResolver::default()
    } else {
        LiveResolver::symbols_only()
    };
    if options.jvm_perfmap {
        resolver.ask_jvms_for_perf_maps(options.interval);
    }
    let mut state = AgentState {
        resolver,
        labels: ProcessLabels::new(options.labels.clone()),
        frequency: options.sampling.frequency,
        interval_start: Instant::now(),
        interval_time: unix_nanos(),
        outbox,
        stop,
        metrics,
    };
    drain_loop::run(&mut sampler, options.interval, &mut state)
}

struct AgentState<'a> {
    resolver: LiveResolver,
    labels: ProcessLabels,
    frequency: u64,
    /// When the interval being sampled began.
    interval_start: Instant,
    interval_time: i64,
    outbox: &'a Outbox,
    stop: &'a AtomicBool,
    metrics: &'a AgentMetrics,
}

impl Consumer for AgentState<'_> {
    fn event(&mut self, event: ProcessEvent) {
        if let ProcessEvent::Execed(pid) = event {
            self.labels.forget(pid);
        }
        self.resolver.processes.handle(event);
    }

    fn should_stop(&mut self, _: &Sampler<'_>) -> Result<bool> {
        Ok(self.stop.load(Ordering::SeqCst))
    }

    /// Queues one interval's profiles and brings the metrics up to date.
    fn drained(
        &mut self,
        samples: Vec<RawSample>,
        sampler: &Sampler<'_>,
        _last: bool,
    ) -> Result<()> {
        let duration = self.interval_start.elapsed();
        self.interval_start = Instant::now();
        let entries = samples.len();
        for profile in self.profiles(samples, self.interval_time, duration) {
            if let Err(error) = self.outbox.submit(&profile) {
                // A full or vanished spool disk must not stop sampling.
                self.metrics.profile_lost();
                eprintln!("brasa agent: profile lost: {error}");
            }
        }
        self.interval_time = unix_nanos();
        let spool = self.outbox.spool();
        let spool_stats = SpoolStats {
            bytes: spool.bytes(),
            spooled: spool.spooled(),
            dropped: spool.dropped(),
        };
        drop(spool);
        self.metrics.update(
            &sampler.stats()?,
            sampler.unwind_stats().as_ref(),
            &self.outbox.stats(),
            &spool_stats,
            entries,
            self.resolver.processes.len(),
        );
        Ok(())
    }
}

impl AgentState<'_> {
    /// One profile per distinct label set, from one interval's samples.
    fn profiles(
        &mut self,
        drained: Vec<RawSample>,
        time_nanos: i64,
        duration: Duration,
    ) -> Vec<SpooledProfile> {
        self.resolver.drained(&drained);
        let mut groups: BTreeMap<Vec<(String, String)>, RawProfile> = BTreeMap::new();
        for sample in drained {
            let name = self.resolver.processes.name(sample.pid);
            let labels = self.labels.of(sample.pid, name, &sample.comm).to_vec();
            let frequency = self.frequency;
            let raw = groups.entry(labels).or_insert_with(|| RawProfile {
                frequency,
                time_nanos,
                duration_nanos: duration.as_nanos() as i64,
                ..RawProfile::default()
            });
            raw.processes
                .entry(sample.pid)
                .or_insert_with(|| self.resolver.processes.raw_mappings(sample.pid));
            raw.samples.push(sample);
        }
        let profiles = groups
            .into_iter()
            .map(|(labels, raw)| {
                let converted = convert(&raw, &mut self.resolver, &ConvertOptions::default());
                self.metrics.count_unsymbolized(&converted.unsymbolized);
                SpooledProfile {
                    labels,
                    body: codec::encode(&converted.profile),
                }
            })
            .collect();
        self.forget_exited();
        profiles
    }

    /// Drops what is held for processes that have exited, once their
    /// samples are converted, so memory stays bounded on a host that starts
    /// processes all day.
    fn forget_exited(&mut self) {
        self.resolver.forget_exited();
        let gone: Vec<u32> = self
            .labels
            .pids()
            .filter(|&pid| !process_exists(pid))
            .collect();
        for pid in gone {
            self.labels.forget(pid);
        }
    }
}
