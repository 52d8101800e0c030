//! The agent's own `/metrics` (Prometheus text format) on a local port.

use std::{
    io::{BufRead, BufReader, Write},
    net::{SocketAddr, TcpListener, TcpStream},
    sync::Arc,
};

use prometheus_client::{
    encoding::{text::encode, EncodeLabelSet},
    metrics::{counter::Counter, family::Family, gauge::Gauge},
    registry::Registry,
};

use crate::{
    convert::Unsymbolized,
    sampler::{stats::Meaning, SamplerStats},
    unwind::UnwindStats,
    Error, Result,
};

use super::push::PushStats;

/// Why a sample or a stack was lost, or a frame left unsymbolized, as a
/// metric label.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Reason {
    reason: &'static str,
}

/// Why a walk with unwind tables stopped, as a metric label.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Stop {
    stop: &'static str,
}

/// The spool's state after an interval, for [`AgentMetrics::update`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SpoolStats {
    /// Bytes waiting on disk.
    pub bytes: u64,
    /// Profiles written since the agent started.
    pub spooled: u64,
    /// Profiles dropped since the agent started (oldest first).
    pub dropped: u64,
}

/// Everything the agent reports about itself.
#[derive(Debug, Clone, Default)]
pub struct AgentMetrics {
    samples: Counter,
    samples_lost: Family<Reason, Counter>,
    stacks_lost: Family<Reason, Counter>,
    process_events_lost: Counter,
    pushes: Counter,
    push_failures: Counter,
    push_failovers: Counter,
    rejected: Counter,
    intervals: Counter,
    spooled: Counter,
    spool_bytes: Gauge,
    spool_dropped: Counter,
    lost: Counter,
    map_entries: Gauge,
    processes: Gauge,
    unwind_walks: Family<Stop, Counter>,
    python_walks: Family<Stop, Counter>,
    unwind_table_misses: Counter,
    unwind_tables: Gauge,
    unwind_table_bytes: Gauge,
    frames_unsymbolized: Family<Reason, Counter>,
    last_sampler: Arc<std::sync::Mutex<(SamplerStats, PushStats, SpoolStats)>>,
}

impl AgentMetrics {
    /// A registry holding these metrics.
    pub fn registry(&self) -> Registry {
        let mut r = Registry::with_prefix("brasa_agent");
        r.register(
            "samples",
            "Samples taken by the BPF program",
            self.samples.clone(),
        );
        r.register(
            "samples_lost",
            "Samples not recorded at all, by reason",
            self.samples_lost.clone(),
        );
        r.register(
            "stacks_lost",
            "Samples recorded without one of their stacks, by which stack",
            self.stacks_lost.clone(),
        );
        r.register(
            "process_events_lost",
            "Process events lost (their maps are read at a later sample)",
            self.process_events_lost.clone(),
        );
        r.register(
            "pushes",
            "Profiles the server acknowledged",
            self.pushes.clone(),
        );
        r.register(
            "push_failures",
            "Delivery attempts that failed and will be retried",
            self.push_failures.clone(),
        );
        r.register(
            "push_failovers",
            "Times delivery moved on to the next --server after a failure",
            self.push_failovers.clone(),
        );
        r.register(
            "profiles_rejected",
            "Profiles the server refused for good",
            self.rejected.clone(),
        );
        r.register(
            "intervals",
            "Intervals sampled and drained into profiles; it grows every interval whatever the server does",
            self.intervals.clone(),
        );
        r.register(
            "profiles_spooled",
            "Profiles written to the disk spool, each delivered, dropped or still waiting",
            self.spooled.clone(),
        );
        r.register(
            "spool_bytes",
            "Bytes of profiles waiting in the disk spool",
            self.spool_bytes.clone(),
        );
        r.register(
            "spool_dropped",
            "Profiles dropped from a full spool (its size limit or its disk), oldest first",
            self.spool_dropped.clone(),
        );
        r.register(
            "profiles_lost",
            "Profiles lost because the spool could not be written",
            self.lost.clone(),
        );
        r.register(
            "bpf_map_entries",
            "Distinct stacks drained from the BPF counts map in the last interval",
            self.map_entries.clone(),
        );
        r.register(
            "processes",
            "Processes whose maps and labels the agent holds",
            self.processes.clone(),
        );
        r.register(
            "unwind_walks",
            "User stacks walked with unwind tables, by why the walk stopped (end: the first frame)",
            self.unwind_walks.clone(),
        );
        r.register(
            "python_walks",
            "Python stacks walked in the interpreter's memory, by why the walk stopped (end: the outermost frame)",
            self.python_walks.clone(),
        );
        r.register(
            "unwind_table_misses",
            "Frames no unwind table covered, walked by frame pointer",
            self.unwind_table_misses.clone(),
        );
        r.register(
            "unwind_tables",
            "Unwind tables loaded into the kernel",
            self.unwind_tables.clone(),
        );
        r.register(
            "unwind_table_bytes",
            "Kernel memory the loaded unwind tables' rows use",
            self.unwind_table_bytes.clone(),
        );
        r.register(
            "frames_unsymbolized",
            "Distinct frames of the pushed profiles left as bare addresses, by why the symbolizer could not name them",
            self.frames_unsymbolized.clone(),
        );
        r
    }

    /// Counts the frames of one converted profile that stayed addresses.
    pub fn count_unsymbolized(&self, frames: &Unsymbolized) {
        for (reason, count) in frames.iter() {
            self.frames_unsymbolized
                .get_or_create(&Reason {
                    reason: reason.label(),
                })
                .inc_by(count);
        }
    }

    /// Counts a profile that could not even be spooled.
    pub fn profile_lost(&self) {
        self.lost.inc();
    }

    /// Brings the metrics up to date after an interval.
    #[allow(clippy::too_many_arguments)]
    pub fn update(
        &self,
        sampler: &SamplerStats,
        unwind: Option<&UnwindStats>,
        push: &PushStats,
        spool: &SpoolStats,
        map_entries: usize,
        processes: usize,
    ) {
        let mut last = self.last_sampler.lock().unwrap_or_else(|p| p.into_inner());
        let (prev, prev_push, prev_spool) = *last;
        self.intervals.inc();
        let grown_since = sampler.since(&prev);
        for (counter, grown) in grown_since.entries() {
            match counter.meaning {
                Meaning::Recorded => {
                    self.samples.inc_by(grown);
                }
                Meaning::SampleLost(reason) => {
                    self.samples_lost
                        .get_or_create(&Reason { reason })
                        .inc_by(grown);
                }
                Meaning::StackLost(reason) => {
                    self.stacks_lost
                        .get_or_create(&Reason { reason })
                        .inc_by(grown);
                }
                Meaning::EventLost => {
                    self.process_events_lost.inc_by(grown);
                }
                Meaning::WalkStopped(stop) => {
                    self.unwind_walks
                        .get_or_create(&Stop { stop })
                        .inc_by(grown);
                }
                Meaning::PythonWalkStopped(stop) => {
                    self.python_walks
                        .get_or_create(&Stop { stop })
                        .inc_by(grown);
                }
                Meaning::Skipped | Meaning::Noted | Meaning::Walks | Meaning::PythonWalks => {}
            }
        }
        self.unwind_table_misses
            .inc_by(grown_since.unwind_table_miss);
        if let Some(unwind) = unwind {
            self.unwind_tables.set(unwind.tables as i64);
            self.unwind_table_bytes.set(unwind.table_bytes() as i64);
        }
        self.pushes
            .inc_by(push.pushed.saturating_sub(prev_push.pushed));
        self.push_failures
            .inc_by(push.failures.saturating_sub(prev_push.failures));
        self.push_failovers
            .inc_by(push.failovers.saturating_sub(prev_push.failovers));
        self.rejected
            .inc_by(push.rejected.saturating_sub(prev_push.rejected));
        self.spooled
            .inc_by(spool.spooled.saturating_sub(prev_spool.spooled));
        self.spool_dropped
            .inc_by(spool.dropped.saturating_sub(prev_spool.dropped));
        self.spool_bytes.set(spool.bytes as i64);
        self.map_entries.set(map_entries as i64);
        self.processes.set(processes as i64);
        *last = (*sampler, *push, *spool);
    }
}

/// Serves `registry` at every path of `addr` on a background thread;
/// returns the bound address (pass port 0 for any free port).
pub fn serve(addr: SocketAddr, registry: Registry) -> Result<SocketAddr> {
    let listener = TcpListener::bind(addr).map_err(|source| Error::Io {
        action: format!("listening for /metrics on {addr}"),
        source,
    })?;
    let bound = listener.local_addr().map_err(|source| Error::Io {
        action: "reading the /metrics address".into(),
        source,
    })?;
    let registry = Arc::new(registry);
    std::thread::Builder::new()
        .name("brasa-metrics".into())
        .spawn(move || {
            for stream in listener.incoming().flatten() {
                // One scrape at a time is plenty; a failed one is just retried.
                let _ = answer(stream, &registry);
            }
        })
        .map_err(|source| Error::Io {
            action: "starting the /metrics thread".into(),
            source,
        })?;
    Ok(bound)
}

fn answer(stream: TcpStream, registry: &Registry) -> std::io::Result<()> {
    stream.set_read_timeout(Some(std::time::Duration::from_secs(5)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    while reader.read_line(&mut line)? > 2 {
        line.clear();
    }
    let mut body = String::new();
    encode(&mut body, registry).map_err(std::io::Error::other)?;
    let mut stream = stream;
    write!(
        stream,
        "HTTP/1.1 200 OK\r\ncontent-type: application/openmetrics-text; version=1.0.0; charset=utf-8\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use brasa_symbolizer::Unknown;

    fn encoded(metrics: &AgentMetrics) -> String {
        let mut text = String::new();
        encode(&mut text, &metrics.registry()).unwrap();
        text
    }

    #[test]
    fn unsymbolized_frames_are_counted_by_reason() {
        let metrics = AgentMetrics::default();
        let mut frames = Unsymbolized::default();
        frames.add(Unknown::NoMapping);
        frames.add(Unknown::NoMapping);
        frames.add(Unknown::FileUnreadable);
        frames.add(Unknown::NotInPerfMap);
        metrics.count_unsymbolized(&frames);
        metrics.count_unsymbolized(&frames);
        let text = encoded(&metrics);
        for line in [
            "brasa_agent_frames_unsymbolized_total{reason=\"no_mapping\"} 4",
            "brasa_agent_frames_unsymbolized_total{reason=\"file_unreadable\"} 2",
            "brasa_agent_frames_unsymbolized_total{reason=\"not_in_perf_map\"} 2",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} in:\n{text}");
        }
        assert!(!text.contains("reason=\"no_symbol\""), "{text}");
    }

    #[test]
    fn intervals_spooled_and_dropped_profiles_are_counted() {
        let metrics = AgentMetrics::default();
        let sampler = SamplerStats::default();
        let push = PushStats::default();
        let mut spool = SpoolStats {
            bytes: 900,
            spooled: 3,
            dropped: 0,
        };
        metrics.update(&sampler, None, &push, &spool, 0, 0);
        spool = SpoolStats {
            bytes: 1_000,
            spooled: 7,
            dropped: 2,
        };
        metrics.update(&sampler, None, &push, &spool, 0, 0);
        let text = encoded(&metrics);
        for line in [
            "brasa_agent_intervals_total 2",
            "brasa_agent_profiles_spooled_total 7",
            "brasa_agent_spool_dropped_total 2",
            "brasa_agent_spool_bytes 1000",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} in:\n{text}");
        }
    }
}
