//! The loop every sampling session runs, `brasa record` and the agent
//! alike: wait for process events, hand them over, drain the maps every
//! interval, and on stop collect every sample taken.

use std::time::{Duration, Instant};

use super::{ProcessEvent, Sampler};
use crate::{raw::RawSample, Result};

/// How long the loop waits for process events at most before it checks
/// whether to stop. Process events and signals (Ctrl-C) wake it up at once.
pub const POLL_INTERVAL: Duration = Duration::from_millis(200);

/// What a session does with what the loop hands it.
pub trait Consumer {
    /// A process event, after the sampler acted on it.
    fn event(&mut self, event: ProcessEvent);
    /// Called at every wake-up: whether to stop now.
    fn should_stop(&mut self, sampler: &Sampler<'_>) -> Result<bool>;
    /// The samples of one drain; `last` for the final one, taken after
    /// sampling stopped.
    fn drained(&mut self, samples: Vec<RawSample>, sampler: &Sampler<'_>, last: bool)
        -> Result<()>;
}

/// Runs until `consumer` says stop, draining every `interval`; the samples
/// taken since the last drain are handed over at the end.
pub fn run(
    sampler: &mut Sampler<'_>,
    interval: Duration,
    consumer: &mut dyn Consumer,
) -> Result<()> {
    let mut last_drain = Instant::now();
    loop {
        for event in sampler.poll_process_events(POLL_INTERVAL)? {
            consumer.event(event);
        }
        if consumer.should_stop(sampler)? {
            break;
        }
        if last_drain.elapsed() >= interval {
            last_drain = Instant::now();
            let samples = sampler.drain()?;
            consumer.drained(samples, sampler, false)?;
        }
    }
    sampler.stop();
    // Processes first seen in the last moments are announced before their
    // samples are handed over.
    for event in sampler.poll_process_events(Duration::ZERO)? {
        consumer.event(event);
    }
    let samples = sampler.drain_all()?;
    consumer.drained(samples, sampler, true)
}
