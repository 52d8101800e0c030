//! The always-on agent: sample the whole host, and every interval push one
//! profile per process group to the server.

use std::{
    collections::BTreeMap,
    path::Path,
    sync::atomic::{AtomicBool, Ordering},
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use brasa_profile::codec;

use super::{
    labels::{LabelRules, ProcessLabels},
    metrics::AgentMetrics,
    push::Pusher,
    spool::SpooledProfile,
};
use crate::{
    convert::{convert, ConvertOptions},
    live_resolver::LiveResolver,
    raw::{RawProfile, RawSample},
    sampler::{ProcessEvent, Sampler, SamplerOptions, SamplerStorage},
    Result,
};

/// How often the loop wakes up to read process events and check for stop.
const POLL_INTERVAL: Duration = Duration::from_millis(200);

/// Settings of [`run`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct AgentOptions {
    /// Samples per second per CPU. Default: 19.
    pub frequency: u64,
    /// How often profiles are pushed. Default: 10 s.
    pub interval: Duration,
    /// Labels for every series and from process environments.
    pub labels: LabelRules,
    /// Read DWARF debug information for file, line and inlined frames.
    /// Default: false, function names from ELF symbol tables only, which
    /// keeps the agent's CPU and memory small on hosts running large
    /// binaries with debug information.
    pub debug_info: bool,
    /// Walk user stacks with unwind tables (code without frame pointers).
    /// Default: true; false walks by frame pointers only.
    pub unwind_tables: bool,
    /// Room for unwind table rows, 12 bytes of kernel memory each.
    /// Default: [`crate::unwind::DEFAULT_TABLE_ROWS`] (12 MiB).
    pub table_rows: u32,
}

impl Default for AgentOptions {
    fn default() -> Self {
        Self {
            frequency: 19,
            interval: Duration::from_secs(10),
            labels: LabelRules::default(),
            debug_info: false,
            unwind_tables: true,
            table_rows: crate::unwind::DEFAULT_TABLE_ROWS,
        }
    }
}

/// This host's name, for the `host` label.
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_else(|_| "unknown".to_owned())
}

/// Samples the host and pushes through `pusher` until `stop` is set; the
/// last partial interval is pushed too. Fails when the sampler cannot start.
pub fn run(
    options: &AgentOptions,
    pusher: &mut Pusher,
    stop: &AtomicBool,
    metrics: &AgentMetrics,
) -> Result<()> {
    let mut storage = SamplerStorage::default();
    let sampler_options = SamplerOptions {
        frequency: options.frequency,
        follow_targets: false,
        skip_pid: Some(std::process::id()),
        unwind_tables: options.unwind_tables,
        table_rows: options.table_rows,
        ..SamplerOptions::default()
    };
    let mut sampler = Sampler::start(&mut storage, &sampler_options)?;
    let mut state = AgentState {
        resolver: if options.debug_info {
            LiveResolver::default()
        } else {
            LiveResolver::symbols_only()
        },
        labels: ProcessLabels::new(options.labels.clone()),
    };
    let mut interval_start = Instant::now();
    let mut interval_time = unix_nanos();
    loop {
        for event in sampler.poll_process_events(POLL_INTERVAL)? {
            state.handle(event);
        }
        let stopping = stop.load(Ordering::SeqCst);
        if stopping || interval_start.elapsed() >= options.interval {
            if stopping {
                sampler.stop();
            }
            let drained = if stopping {
                sampler.drain_all()?
            } else {
                sampler.drain()?
            };
            let duration = interval_start.elapsed();
            interval_start = Instant::now();
            let entries = drained.len();
            for profile in state.profiles(drained, options.frequency, interval_time, duration) {
                if let Err(error) = pusher.submit(&profile) {
                    // A full or vanished spool disk must not stop sampling.
                    metrics.profile_lost();
                    eprintln!("brasa agent: profile lost: {error}");
                }
            }
            interval_time = unix_nanos();
            pusher.flush();
            let stats = sampler.stats()?;
            let spool = pusher.spool();
            metrics.update(
                &stats,
                sampler.unwind_stats().as_ref(),
                &pusher.stats(),
                spool.bytes(),
                spool.dropped(),
                entries,
                state.resolver.processes.len(),
            );
            if stopping {
                return Ok(());
            }
        }
    }
}

fn unix_nanos() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i64)
}

struct AgentState {
    resolver: LiveResolver,
    labels: ProcessLabels,
}

impl AgentState {
    fn handle(&mut self, event: ProcessEvent) {
        if let ProcessEvent::Execed(pid) = event {
            self.labels.forget(pid);
        }
        self.resolver.processes.handle(event);
    }

    /// One profile per distinct label set, from one interval's samples.
    fn profiles(
        &mut self,
        drained: Vec<RawSample>,
        frequency: u64,
        time_nanos: i64,
        duration: Duration,
    ) -> Vec<SpooledProfile> {
        self.resolver.processes.cover(&drained);
        let mut groups: BTreeMap<Vec<(String, String)>, RawProfile> = BTreeMap::new();
        for sample in drained {
            let labels = self.labels.of(sample.pid, &sample.comm).to_vec();
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
                let profile = convert(&raw, &mut self.resolver, &ConvertOptions::default());
                SpooledProfile {
                    labels,
                    body: codec::encode(&profile),
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
            .filter(|pid| !Path::new(&format!("/proc/{pid}")).exists())
            .collect();
        for pid in gone {
            self.labels.forget(pid);
        }
    }
}
