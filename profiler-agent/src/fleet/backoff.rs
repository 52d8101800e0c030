//! Exponential backoff with jitter between delivery attempts, so a fleet of
//! agents does not hammer a server that just came back, all at once.

use std::time::Duration;

/// Default upper bound of the delay between attempts.
pub const DEFAULT_RETRY_MAX: Duration = Duration::from_secs(300);

/// Backoff settings.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct BackoffOptions {
    /// Delay after the first failure. Default: 1 s.
    pub initial: Duration,
    /// Upper bound of the delay. Default: [`DEFAULT_RETRY_MAX`].
    pub max: Duration,
}

impl Default for BackoffOptions {
    fn default() -> Self {
        Self {
            initial: Duration::from_secs(1),
            max: DEFAULT_RETRY_MAX,
        }
    }
}

/// Tracks consecutive failures and the delay before the next attempt.
#[derive(Debug, Clone)]
pub struct Backoff {
    options: BackoffOptions,
    failures: u32,
    rng: u64,
}

impl Backoff {
    /// A backoff in the "no failure yet" state. `seed` drives the jitter.
    pub fn new(options: BackoffOptions, seed: u64) -> Self {
        Self {
            options,
            failures: 0,
            rng: splitmix64(seed) | 1,
        }
    }

    /// Consecutive failures so far.
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// Records a success: the next failure starts from `initial` again.
    pub fn succeeded(&mut self) {
        self.failures = 0;
    }

    /// Records a failure and returns how long to wait before trying again:
    /// `initial * 2^(failures-1)`, capped at `max`, then scaled by a random
    /// factor in [0.5, 1.0) ("equal jitter") so retries spread out.
    pub fn failed(&mut self) -> Duration {
        self.failures = self.failures.saturating_add(1);
        let exponent = (self.failures - 1).min(30);
        let base = self
            .options
            .initial
            .saturating_mul(1u32 << exponent)
            .min(self.options.max);
        base.mul_f64(0.5 + 0.5 * self.next_unit())
    }

    /// xorshift64*: plenty for jitter, no dependency.
    fn next_unit(&mut self) -> f64 {
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        let x = self.rng.wrapping_mul(0x2545_f491_4f6c_dd1d);
        (x >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Spreads nearby seeds (pids, say) over the whole state space.
fn splitmix64(seed: u64) -> u64 {
    let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_exponentially_with_jitter_and_is_capped() {
        let options = BackoffOptions {
            initial: Duration::from_millis(100),
            max: Duration::from_secs(2),
        };
        let mut backoff = Backoff::new(options, 42);
        let delays: Vec<Duration> = (0..10).map(|_| backoff.failed()).collect();
        for (i, d) in delays.iter().enumerate() {
            let base = (Duration::from_millis(100) * (1 << i)).min(options.max);
            assert!(
                *d >= base / 2 && *d < base,
                "attempt {i}: {d:?} vs base {base:?}"
            );
        }
        assert_eq!(backoff.failures(), 10);
        backoff.succeeded();
        assert!(backoff.failed() < Duration::from_millis(100));
    }

    #[test]
    fn jitter_spreads_agents_apart() {
        let delays: std::collections::HashSet<Duration> = (0..20)
            .map(|seed| Backoff::new(BackoffOptions::default(), seed).failed())
            .collect();
        assert!(delays.len() > 15, "{delays:?}");
    }
}
