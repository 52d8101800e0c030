//! What the sampler is asked to do, and the defaults every command shares.

use crate::unwind::DEFAULT_TABLE_ROWS;

/// Default samples per second per CPU of the always-on agent: prime, so it
/// does not run in lockstep with periodic timers, and low enough to be
/// always on.
pub const AGENT_FREQUENCY: u64 = 19;
/// Default samples per second per CPU of `brasa record`: one run of a
/// command should give a usable profile in seconds.
pub const RECORD_FREQUENCY: u64 = 99;
/// Highest sampling frequency accepted: the kernel's default
/// `perf_event_max_sample_rate` is 100 kHz, and beyond a few kHz the
/// sampler itself becomes the workload.
pub const MAX_FREQUENCY: u64 = 10_000;

/// How stacks are sampled: the settings `brasa record`, `brasa agent` and
/// `brasa up` share (`--frequency`, `--unwind`, `--unwind-memory`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct SamplingOptions {
    /// Samples per second per CPU, 1..=[`MAX_FREQUENCY`]. Default:
    /// [`AGENT_FREQUENCY`].
    pub frequency: u64,
    /// Walk user stacks with unwind tables compiled from `.eh_frame`, so
    /// code without frame pointers unwinds; frames no table covers are
    /// walked by frame pointer. Off: frame pointers only. Default: on.
    pub unwind_tables: bool,
    /// Room for unwind table rows (12 bytes of kernel memory each).
    /// Default: [`DEFAULT_TABLE_ROWS`] (12 MiB).
    pub table_rows: u32,
}

impl Default for SamplingOptions {
    fn default() -> Self {
        Self {
            frequency: AGENT_FREQUENCY,
            unwind_tables: true,
            table_rows: DEFAULT_TABLE_ROWS,
        }
    }
}

impl SamplingOptions {
    /// The defaults at another frequency.
    pub fn at(frequency: u64) -> Self {
        Self {
            frequency,
            ..Self::default()
        }
    }
}

/// What to sample.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct SamplerOptions {
    /// Frequency and unwinding. Default: [`SamplingOptions::default`].
    pub sampling: SamplingOptions,
    /// Sample only the processes added with
    /// [`super::Sampler::add_target`] and their descendants, instead of
    /// the whole host. Default: false.
    pub follow_targets: bool,
    /// A process never sampled, typically the profiler itself. Default: none.
    pub skip_pid: Option<u32>,
}
