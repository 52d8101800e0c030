//! What one query may read and build, so that no request can make the
//! server read the whole store or hold more than it can afford: series
//! selected, stored profiles read, distinct stacks in the answer, and
//! time spent. Over a limit, the query fails with
//! [`crate::Error::QueryLimit`], naming the limit.

use std::{
    sync::{
        atomic::{AtomicBool, AtomicUsize, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use crate::{Error, Result};

/// Default most series one selector may select.
pub const DEFAULT_MAX_QUERY_SERIES: usize = 20_000;
/// Default most stored profiles one query may read: a day of 10 s
/// profiles of about 100 processes.
pub const DEFAULT_MAX_QUERY_PROFILES: usize = 1_000_000;
/// Default most distinct stacks in one answer: a pprof of about 100 MB.
pub const DEFAULT_MAX_QUERY_STACKS: usize = 1_000_000;
/// Default longest time one query may take.
pub const DEFAULT_MAX_QUERY_TIME: Duration = Duration::from_secs(60);

/// See the module docs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct QueryLimits {
    /// Default: [`DEFAULT_MAX_QUERY_SERIES`].
    pub max_series: usize,
    /// Default: [`DEFAULT_MAX_QUERY_PROFILES`].
    pub max_profiles: usize,
    /// Default: [`DEFAULT_MAX_QUERY_STACKS`].
    pub max_stacks: usize,
    /// Default: [`DEFAULT_MAX_QUERY_TIME`].
    pub max_time: Duration,
}

impl Default for QueryLimits {
    fn default() -> Self {
        Self {
            max_series: DEFAULT_MAX_QUERY_SERIES,
            max_profiles: DEFAULT_MAX_QUERY_PROFILES,
            max_stacks: DEFAULT_MAX_QUERY_STACKS,
            max_time: DEFAULT_MAX_QUERY_TIME,
        }
    }
}

impl QueryLimits {
    /// Checks the number of series one selector selected.
    pub fn check_series(&self, count: usize) -> Result<()> {
        if count > self.max_series {
            return Err(over("series", self.max_series));
        }
        Ok(())
    }
}

/// One query's use of its limits, shared by the threads that run it.
/// Tells running queries to stop: the server cancels a query when the
/// client that asked for it goes away. Clones share one flag; the default
/// one is never cancelled unless told.
#[derive(Debug, Clone, Default)]
pub struct Cancel(Arc<AtomicBool>);

impl Cancel {
    /// Stops the queries holding this (or a clone) at their next check.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    /// [`Error::QueryCancelled`] once cancelled.
    pub fn check(&self) -> Result<()> {
        if self.0.load(Ordering::Relaxed) {
            return Err(Error::QueryCancelled);
        }
        Ok(())
    }
}

#[derive(Debug)]
pub(crate) struct Budget {
    limits: QueryLimits,
    cancel: Cancel,
    deadline: Instant,
    profiles: AtomicUsize,
}

fn over(what: &'static str, limit: usize) -> Error {
    Error::QueryLimit {
        what,
        limit: limit as u64,
    }
}

impl Budget {
    /// A budget starting now.
    pub(crate) fn start(limits: QueryLimits, cancel: &Cancel) -> Self {
        Self {
            limits,
            cancel: cancel.clone(),
            deadline: Instant::now() + limits.max_time,
            profiles: AtomicUsize::new(0),
        }
    }

    /// Checks the number of series selected.
    pub(crate) fn series(&self, count: usize) -> Result<()> {
        self.limits.check_series(count)
    }

    /// Counts one stored profile read, and checks the time.
    pub(crate) fn profile(&self) -> Result<()> {
        let read = self.profiles.fetch_add(1, Ordering::Relaxed) + 1;
        if read > self.limits.max_profiles {
            return Err(over("profiles", self.limits.max_profiles));
        }
        self.time()
    }

    /// Checks the distinct stacks of the answer so far.
    pub(crate) fn stacks(&self, count: usize) -> Result<()> {
        if count > self.limits.max_stacks {
            return Err(over("stacks", self.limits.max_stacks));
        }
        Ok(())
    }

    /// Checks the time spent.
    pub(crate) fn time(&self) -> Result<()> {
        self.cancel.check()?;
        if Instant::now() > self.deadline {
            return Err(Error::QueryTimeLimit {
                limit: self.limits.max_time,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_limit_names_itself() {
        let limits = QueryLimits {
            max_series: 2,
            max_profiles: 3,
            max_stacks: 4,
            max_time: Duration::from_secs(60),
        };
        let budget = Budget::start(limits, &Cancel::default());
        assert!(budget.series(2).is_ok());
        assert!(budget
            .series(3)
            .unwrap_err()
            .to_string()
            .contains("2 series"));
        for _ in 0..3 {
            budget.profile().unwrap();
        }
        let error = budget.profile().unwrap_err().to_string();
        assert!(error.contains("3 profiles"), "{error}");
        assert!(budget
            .stacks(5)
            .unwrap_err()
            .to_string()
            .contains("4 stacks"));
        let expired = Budget::start(
            QueryLimits {
                max_time: Duration::ZERO,
                ..limits
            },
            &Cancel::default(),
        );
        let error = expired.time().unwrap_err().to_string();
        assert!(error.contains("took longer than 0ns"), "{error}");
        let cancel = Cancel::default();
        let budget = Budget::start(limits, &cancel);
        assert!(budget.time().is_ok());
        cancel.clone().cancel();
        assert!(matches!(budget.profile(), Err(Error::QueryCancelled)));
    }
}
