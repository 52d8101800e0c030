//! The BPF program's counters: one table, from which the sampler's stats,
//! the agent's `/metrics` and `brasa record`'s summary are all derived.
//!
//! Each entry names an `enum stat_id` of `bpf/sampler.h` (through the
//! skeleton's generated type) and says what the count means to a reader;
//! a test checks that every id the program has appears exactly once.

use crate::{skel::types::stat_id as S, Result};

/// What a counter tells its readers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Meaning {
    /// Samples recorded (the total).
    Recorded,
    /// Ticks not sampled, on purpose.
    Skipped,
    /// Something recorded, but worth knowing about.
    Noted,
    /// Samples not recorded at all; the label says why.
    SampleLost(&'static str),
    /// Samples recorded without one of their stacks; the label says which.
    StackLost(&'static str),
    /// Process events lost (their processes' maps are read later).
    EventLost,
    /// Walks with unwind tables that stopped this way; the label says why.
    WalkStopped(&'static str),
    /// A measure of the walks with unwind tables.
    Walks,
    /// Walks of Python frames that stopped this way; the label says why.
    PythonWalkStopped(&'static str),
    /// A measure of the walks of Python frames.
    PythonWalks,
}

/// One counter of the program.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counter {
    /// Its `enum stat_id` value.
    pub id: u32,
    /// Its field in [`SamplerStats`].
    pub name: &'static str,
    /// What it means.
    pub meaning: Meaning,
    /// One line of help.
    pub help: &'static str,
}

macro_rules! counters {
    ($($(#[doc = $doc:literal])+ $field:ident: $id:ident => $meaning:expr,)+) => {
        /// The program's counters, summed over CPUs: one per entry of
        /// [`COUNTERS`].
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
        pub struct SamplerStats {
            $($(#[doc = $doc])+ pub $field: u64,)+
        }

        /// Every counter of the program, in `enum stat_id` order.
        pub const COUNTERS: &[Counter] = &[
            $(Counter {
                id: S::$id.0,
                name: stringify!($field),
                meaning: $meaning,
                help: concat!($($doc),+),
            },)+
        ];

        impl SamplerStats {
            /// Reads every counter with `value`.
            pub(crate) fn read(mut value: impl FnMut(S) -> Result<u64>) -> Result<Self> {
                Ok(Self { $($field: value(S::$id)?,)+ })
            }

            /// Counters that grew since `before` (each counter only grows).
            pub fn since(&self, before: &Self) -> Self {
                Self { $($field: self.$field.saturating_sub(before.$field),)+ }
            }

            /// The value of one counter.
            pub fn get(&self, counter: &Counter) -> u64 {
                $(if counter.id == S::$id.0 {
                    return self.$field;
                })+
                0
            }
        }
    };
}

counters! {
    /// Samples recorded.
    samples: STAT_SAMPLES => Meaning::Recorded,
    /// Ticks that found the idle task.
    idle_skipped: STAT_IDLE_SKIPPED => Meaning::Skipped,
    /// Ticks that found a process not sampled.
    filtered: STAT_FILTERED => Meaning::Skipped,
    /// Samples of tasks without a user stack (kernel threads).
    no_user_stack: STAT_NO_USER_STACK => Meaning::Noted,
    /// User stacks lost: stack map full or hash collision.
    user_stack_errors: STAT_USER_STACK_ERROR => Meaning::StackLost("user_stack"),
    /// Kernel stacks lost: stack map full or hash collision.
    kernel_stack_errors: STAT_KERNEL_STACK_ERROR => Meaning::StackLost("kernel_stack"),
    /// Samples lost because the counts map was full.
    counts_full: STAT_COUNTS_FULL => Meaning::SampleLost("counts_map_full"),
    /// Process events lost because the ring buffer was full.
    process_events_dropped: STAT_PROCESS_EVENT_DROPPED => Meaning::EventLost,
    /// Samples whose user stack was walked with unwind tables.
    unwind_walks: STAT_UNWIND_WALKS => Meaning::Walks,
    /// Walks that reached the outermost frame.
    unwind_end: STAT_UNWIND_END => Meaning::WalkStopped("end"),
    /// Walks that stopped at the deepest stack recorded.
    unwind_depth_limit: STAT_UNWIND_DEPTH_LIMIT => Meaning::WalkStopped("depth_limit"),
    /// Walks that stopped at a rule the program cannot evaluate.
    unwind_unsupported: STAT_UNWIND_UNSUPPORTED => Meaning::WalkStopped("unsupported_rule"),
    /// Walks that stopped because the stack could not be read.
    unwind_read_failed: STAT_UNWIND_READ_FAILED => Meaning::WalkStopped("read_failed"),
    /// Walks that stopped because a frame did not move up the stack.
    unwind_not_progressing: STAT_UNWIND_NOT_PROGRESSING => Meaning::WalkStopped("not_progressing"),
    /// Walks that stopped at a return address outside known mappings.
    unwind_unknown_mapping: STAT_UNWIND_UNKNOWN_MAPPING => Meaning::WalkStopped("unknown_mapping"),
    /// Frames no table covered, walked by frame pointer.
    unwind_table_miss: STAT_UNWIND_TABLE_MISS => Meaning::Walks,
    /// User stacks lost because the unwound-stacks map was full.
    unwind_stack_errors: STAT_UNWIND_STACK_ERROR => Meaning::StackLost("unwound_stack"),
    /// Frames the walks with tables recorded, in total.
    unwind_frames: STAT_UNWIND_FRAMES => Meaning::Walks,
    /// Nanoseconds the walks with tables took, in total.
    unwind_nanos: STAT_UNWIND_NANOS => Meaning::Walks,
    /// Frames whose rule came from the per-CPU cache, not a search.
    unwind_cache_hits: STAT_UNWIND_CACHE_HITS => Meaning::Walks,
    /// Samples of Python threads whose Python frames were walked.
    python_walks: STAT_PYTHON_WALKS => Meaning::PythonWalks,
    /// Python walks that reached the outermost frame.
    python_end: STAT_PYTHON_END => Meaning::PythonWalkStopped("end"),
    /// Python walks that stopped at the deepest stack recorded.
    python_depth_limit: STAT_PYTHON_DEPTH_LIMIT => Meaning::PythonWalkStopped("depth_limit"),
    /// Python walks that stopped because the interpreter's memory could not be read.
    python_read_failed: STAT_PYTHON_READ_FAILED => Meaning::PythonWalkStopped("read_failed"),
    /// Samples of Python processes' threads not looked up yet (no Python frames).
    python_thread_unknown: STAT_PYTHON_THREAD_UNKNOWN => Meaning::PythonWalks,
    /// Samples of Python processes' threads that run no Python.
    python_no_state: STAT_PYTHON_NO_STATE => Meaning::PythonWalks,
    /// Samples whose thread state belonged to another thread (a thread that ended).
    python_wrong_thread: STAT_PYTHON_WRONG_THREAD => Meaning::PythonWalks,
    /// Python frames lost because the Python-stacks map was full.
    python_stack_errors: STAT_PYTHON_STACK_ERROR => Meaning::StackLost("python_stack"),
    /// Python frames the walks recorded, in total.
    python_frames: STAT_PYTHON_FRAMES => Meaning::PythonWalks,
    /// Nanoseconds the Python walks took, in total.
    python_nanos: STAT_PYTHON_NANOS => Meaning::PythonWalks,
}

impl SamplerStats {
    /// Every counter with its value, in table order.
    pub fn entries(&self) -> impl Iterator<Item = (&'static Counter, u64)> + '_ {
        COUNTERS.iter().map(|counter| (counter, self.get(counter)))
    }

    /// Samples not recorded at all.
    pub fn samples_lost(&self) -> u64 {
        self.sum(|m| matches!(m, Meaning::SampleLost(_)))
    }

    /// Samples recorded without one of their stacks.
    pub fn stacks_lost(&self) -> u64 {
        self.sum(|m| matches!(m, Meaning::StackLost(_)))
    }

    fn sum(&self, which: impl Fn(Meaning) -> bool) -> u64 {
        self.entries()
            .filter(|(c, _)| which(c.meaning))
            .map(|(_, v)| v)
            .sum()
    }
}

/// How long walks with unwind tables took, from the program's histogram
/// (4 buckets per power of two: values are within 25%).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct WalkTimes {
    /// Walks counted.
    pub walks: u64,
    /// Median, nanoseconds.
    pub p50_ns: f64,
    /// 90th percentile, nanoseconds.
    pub p90_ns: f64,
    /// 99th percentile, nanoseconds.
    pub p99_ns: f64,
}

impl WalkTimes {
    /// Percentiles of a histogram in the program's buckets: bucket
    /// `4 * floor(log2(ns)) + s` holds the quarter `s` of that power of two.
    pub fn from_histogram(counts: &[u64]) -> Self {
        let walks: u64 = counts.iter().sum();
        let percentile = |p: f64| -> f64 {
            if walks == 0 {
                return 0.0;
            }
            let rank = (p * walks as f64).ceil().max(1.0) as u64;
            let mut seen = 0;
            for (bucket, &count) in counts.iter().enumerate() {
                seen += count;
                if seen >= rank {
                    let (low, high) = bucket_bounds(bucket);
                    return (low + high) / 2.0;
                }
            }
            0.0
        };
        Self {
            walks,
            p50_ns: percentile(0.5),
            p90_ns: percentile(0.9),
            p99_ns: percentile(0.99),
        }
    }
}

/// The nanoseconds a histogram bucket covers.
fn bucket_bounds(bucket: usize) -> (f64, f64) {
    let (log, sub) = ((bucket / 4) as i32, (bucket % 4) as f64);
    if log < 2 {
        let low = if log == 0 { 0.0 } else { 2f64.powi(log) };
        return (low, 2f64.powi(log + 1));
    }
    let step = 2f64.powi(log - 2);
    let low = 2f64.powi(log) + sub * step;
    (low, low + step)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_counter_of_the_program_is_in_the_table_once_in_order() {
        let ids: Vec<u32> = COUNTERS.iter().map(|c| c.id).collect();
        let expected: Vec<u32> = (0..S::STAT_COUNT.0).collect();
        assert_eq!(ids, expected);
    }

    #[test]
    fn derived_totals_and_deltas_follow_the_table() {
        let stats = SamplerStats::read(|id| Ok(u64::from(id.0) + 1)).unwrap();
        assert_eq!(stats.samples, 1);
        assert_eq!(stats.unwind_cache_hits, 20);
        assert_eq!(stats.samples_lost(), stats.counts_full);
        assert_eq!(
            stats.stacks_lost(),
            stats.user_stack_errors
                + stats.kernel_stack_errors
                + stats.unwind_stack_errors
                + stats.python_stack_errors
        );
        let before = SamplerStats {
            samples: 1,
            unwind_nanos: 100,
            ..SamplerStats::default()
        };
        let delta = stats.since(&before);
        assert_eq!(delta.samples, 0);
        assert_eq!(delta.unwind_nanos, 0);
        assert_eq!(delta.unwind_frames, stats.unwind_frames);
    }

    #[test]
    fn walk_time_percentiles_come_from_the_buckets() {
        let mut counts = vec![0u64; 128];
        // 256..320 ns is bucket 4 * 8 + 0; 1024..1280 ns is 4 * 10 + 0.
        counts[32] = 60;
        counts[40] = 40;
        let times = WalkTimes::from_histogram(&counts);
        assert_eq!(times.walks, 100);
        assert_eq!(times.p50_ns, 288.0);
        assert_eq!(times.p90_ns, 1152.0);
        // 448..512 ns is the last quarter of 256..512.
        counts.fill(0);
        counts[35] = 1;
        assert_eq!(WalkTimes::from_histogram(&counts).p50_ns, 480.0);
        assert_eq!(WalkTimes::from_histogram(&[0; 4]).p50_ns, 0.0);
    }
}
