//! When a process's mappings are read again after the program met code
//! outside them.
//!
//! A refresh that found nothing new doubles the wait before the next one,
//! from [`REFRESH_MIN`] up to [`REFRESH_MAX`] (a JIT mapping fresh regions
//! keeps running unknown code). A refresh that found a new binary lets the
//! next one run at once: a process starting up maps its libraries one after
//! the other, and each sample until the refresh loses the frames above the
//! new library.

use std::{
    collections::HashSet,
    time::{Duration, Instant},
};

const REFRESH_MIN: Duration = Duration::from_millis(10);
const REFRESH_MAX: Duration = Duration::from_secs(5);

/// The refresh schedule of one process.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Schedule {
    /// Soonest the next refresh may run.
    next: Instant,
    /// The wait after it.
    backoff: Duration,
}

impl Schedule {
    /// Due at once.
    pub fn now() -> Self {
        Self {
            next: Instant::now(),
            backoff: Duration::ZERO,
        }
    }

    /// The schedule after reading the mappings, given the one before (if
    /// the process had an entry) and whether a new binary turned up.
    pub fn after_read(before: Option<&Schedule>, new_binary: bool) -> Self {
        let backoff = match before {
            Some(old) if !new_binary => (old.backoff * 2).clamp(REFRESH_MIN, REFRESH_MAX),
            _ => Duration::ZERO,
        };
        Self {
            next: Instant::now() + backoff,
            backoff,
        }
    }

    fn due_in(&self, now: Instant) -> Duration {
        self.next.saturating_duration_since(now)
    }
}

/// Processes that asked for a refresh.
#[derive(Debug, Default)]
pub(crate) struct Pending(HashSet<u32>);

impl Pending {
    pub fn insert(&mut self, pid: u32) {
        self.0.insert(pid);
    }

    pub fn remove(&mut self, pid: u32) {
        self.0.remove(&pid);
    }

    /// The pending processes whose schedule allows a refresh now; one
    /// without a schedule (gone meanwhile) is due too.
    pub fn due(&self, schedule: impl Fn(u32) -> Option<Schedule>) -> Vec<u32> {
        let now = Instant::now();
        self.0
            .iter()
            .copied()
            .filter(|&pid| schedule(pid).is_none_or(|s| s.due_in(now).is_zero()))
            .collect()
    }

    /// Time until the soonest pending refresh is due, if any is pending.
    pub fn next_in(&self, schedule: impl Fn(u32) -> Option<Schedule>) -> Option<Duration> {
        let now = Instant::now();
        self.0
            .iter()
            .filter_map(|&pid| schedule(pid))
            .map(|s| s.due_in(now))
            .min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refreshes_that_find_nothing_back_off_and_a_new_binary_resets() {
        let first = Schedule::after_read(None, true);
        assert_eq!(first.backoff, Duration::ZERO);
        let mut schedule = first;
        for _ in 0..20 {
            schedule = Schedule::after_read(Some(&schedule), false);
        }
        assert_eq!(schedule.backoff, REFRESH_MAX);
        assert_eq!(
            Schedule::after_read(Some(&first), false).backoff,
            REFRESH_MIN
        );
        assert_eq!(
            Schedule::after_read(Some(&schedule), true).backoff,
            Duration::ZERO
        );
    }

    #[test]
    fn only_processes_past_their_wait_are_due() {
        let mut pending = Pending::default();
        pending.insert(1);
        pending.insert(2);
        // Seconds of wait: far longer than this test runs.
        let mut waiting = Schedule::now();
        for _ in 0..20 {
            waiting = Schedule::after_read(Some(&waiting), false);
        }
        let schedule = |pid| (pid == 2).then_some(waiting);
        assert_eq!(pending.due(schedule), vec![1]);
        assert!(pending.next_in(schedule).unwrap() > Duration::ZERO);
        pending.remove(1);
        pending.remove(2);
        assert_eq!(pending.next_in(schedule), None);
    }
}
