//! The bookkeeping of deltas: what a scrape stores, given what the
//! previous scrape of the same profile of the same target saw.
//!
//! A profile without cumulative sample types (CPU over `?seconds=N`,
//! goroutines) is stored as it comes. One with them (Go's heap, allocs,
//! mutex and block profiles, counted since the process started) is kept
//! as the baseline of the next scrape, and what is stored is the change
//! since the previous one ([`brasa_profile::delta`]): so the first scrape
//! of such a profile stores nothing, and neither does the first one after
//! the target restarted (its counts went down) or changed the shape of
//! its profile; each of them only sets the baseline.

use brasa_profile::{
    codec::{decode_with, DecodeOptions},
    delta::{delta, has_cumulative, Delta},
    Profile,
};

use super::error::ScrapeError;

/// The previous profile of one (target, profile), when it was cumulative.
#[derive(Default)]
pub(crate) struct Baseline {
    previous: Option<Profile>,
}

/// What a scrape stores.
#[derive(Debug)]
pub(crate) enum Next {
    /// This profile.
    Store(Box<Profile>),
    /// Nothing: the answer is the first baseline.
    Primed,
    /// Nothing: the target restarted (or its profile changed shape), and
    /// the answer is the new baseline.
    Restarted,
}

impl Baseline {
    /// Decodes `body` (pprof, gzip or raw, at most `max_decompressed`
    /// bytes once inflated), times it `started_nanos` (unix ns, the
    /// server's clock: targets' clocks may be off), and tells what to store.
    pub(crate) fn next(
        &mut self,
        body: &[u8],
        max_decompressed: usize,
        started_nanos: u64,
    ) -> Result<Next, ScrapeError> {
        let options = DecodeOptions::with_max_decompressed_bytes(max_decompressed);
        let mut current = decode_with(body, &options).map_err(ScrapeError::NotPprof)?;
        if current.sample_type.is_empty() {
            return Err(ScrapeError::NoSampleTypes);
        }
        current.time_nanos = i64::try_from(started_nanos).unwrap_or(i64::MAX);
        if !has_cumulative(&current) {
            self.previous = None;
            return Ok(Next::Store(Box::new(current)));
        }
        let next = match &self.previous {
            None => Next::Primed,
            Some(previous) => match delta(previous, &current) {
                Ok(Delta::Change(change)) => Next::Store(change),
                Ok(Delta::Restarted) | Err(_) => Next::Restarted,
            },
        };
        self.previous = Some(current);
        Ok(next)
    }
}

#[cfg(test)]
mod tests {
    use brasa_profile::{codec::encode, folded::Folded, top::total};

    use super::*;

    fn typed(text: &str, r#type: &str, unit: &str) -> Vec<u8> {
        let mut folded = Folded::parse(text).unwrap();
        folded.sample_type = Some((r#type.to_owned(), unit.to_owned()));
        encode(&folded.to_profile())
    }

    const LIMIT: usize = 1 << 20;

    fn stored(next: Next) -> Profile {
        match next {
            Next::Store(p) => *p,
            other => panic!("stored nothing: {other:?}"),
        }
    }

    #[test]
    fn cumulative_profiles_prime_then_store_deltas_and_restarts_reset() {
        let mut baseline = Baseline::default();
        let scrape = |b: &mut Baseline, value: i64, at: u64| {
            let body = typed(&format!("main;lock {value}\n"), "delay", "nanoseconds");
            b.next(&body, LIMIT, at).unwrap()
        };
        assert!(matches!(scrape(&mut baseline, 100, 10), Next::Primed));
        let change = stored(scrape(&mut baseline, 150, 20));
        assert_eq!(total(&change, 0), 50);
        assert_eq!((change.time_nanos, change.duration_nanos), (10, 10));
        assert_eq!(total(&stored(scrape(&mut baseline, 175, 30)), 0), 25);
        // The target restarted: its count starts over.
        assert!(matches!(scrape(&mut baseline, 5, 40), Next::Restarted));
        assert_eq!(total(&stored(scrape(&mut baseline, 12, 50)), 0), 7);
    }

    #[test]
    fn snapshots_and_cpu_are_stored_as_they_come() {
        let mut baseline = Baseline::default();
        for _ in 0..2 {
            let body = typed("main;park 4\n", "goroutine", "count");
            let profile = stored(baseline.next(&body, LIMIT, 7).unwrap());
            assert_eq!((total(&profile, 0), profile.time_nanos), (4, 7));
        }
    }

    #[test]
    fn garbage_is_an_error_and_keeps_the_baseline() {
        let mut baseline = Baseline::default();
        let body = typed("main;alloc 10\n", "alloc_space", "bytes");
        assert!(matches!(
            baseline.next(&body, LIMIT, 1).unwrap(),
            Next::Primed
        ));
        let error = baseline
            .next(b"<html>not pprof</html>", LIMIT, 2)
            .unwrap_err();
        assert!(matches!(error, ScrapeError::NotPprof(_)), "{error:?}");
        let error = baseline.next(&[], LIMIT, 2).unwrap_err();
        assert!(matches!(error, ScrapeError::NoSampleTypes), "{error:?}");
        let body = typed("main;alloc 25\n", "alloc_space", "bytes");
        assert_eq!(
            total(&stored(baseline.next(&body, LIMIT, 3).unwrap()), 0),
            15
        );
        let too_large = typed("main;alloc 1\n", "alloc_space", "bytes");
        let error = baseline.next(&too_large, 8, 4).unwrap_err();
        assert!(
            matches!(
                error,
                ScrapeError::NotPprof(brasa_profile::Error::TooLarge { .. })
            ),
            "{error:?}"
        );
    }
}
