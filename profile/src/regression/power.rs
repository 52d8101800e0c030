//! What a check could have detected: the smallest growth of a function
//! holding a reference share of the time that the test would catch with a
//! given probability, for the samples it was given.
//!
//! The noise of a side's share is the binomial sampling noise of its
//! samples, inflated by the spread between runs that the data shows (with
//! several profiles per side: the median, over the functions tested, of the
//! between-run variance over the sampling variance, at least 1). The test
//! is approximated as a one-sided z test at the level the false discovery
//! rate control asks of a single regression among all the tests (`alpha`
//! divided by the number of tests), which is conservative.

use serde::Serialize;
use statrs::distribution::{ContinuousCDF, Normal};

use super::{stats::SideEstimate, Method, RunShares};

/// Share of the time at which the detectable growth is stated: a function
/// holding 5% is what a reader of a profile looks at first.
pub const REFERENCE_SHARE: f64 = 0.05;
/// Probability of detection the statement is made for (the usual 80%).
pub const TARGET_POWER: f64 = 0.8;
/// A gate that could only catch a function at [`REFERENCE_SHARE`] growing
/// by more than half is too thin to gate on: most real regressions are
/// smaller.
pub const THIN_GROWTH: f64 = 0.5;
/// Largest relative growth searched for (a function taking 20 times its
/// share); beyond it the inputs detect nothing useful.
const MAX_GROWTH: f64 = 20.0;

/// What the check could detect.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Power {
    /// The share of the function the statement is about.
    pub reference_share: f64,
    /// The detection probability.
    pub probability: f64,
    /// The smallest relative growth detected with that probability;
    /// `None` when not even a 20-fold growth would be.
    pub detectable_growth: Option<f64>,
    /// Between-run variance over sampling variance used (1: sampling only).
    pub overdispersion: f64,
    /// Whether the inputs are too thin to gate on.
    pub thin: bool,
}

/// The power of a check of `base` against `head`.
pub fn power(
    base: &[RunShares],
    head: &[RunShares],
    method: Method,
    threshold: f64,
    alpha: f64,
    tests: usize,
) -> Power {
    let overdispersion = match method {
        Method::WelchPerRun => overdispersion(base, head),
        Method::CountsZ => 1.0,
    };
    let (base_scale, head_scale) = (sampling_scale(base), sampling_scale(head));
    let normal = Normal::standard();
    let critical = normal.inverse_cdf(1.0 - alpha / tests.max(1) as f64);
    let p = REFERENCE_SHARE;
    let detected = |growth: f64| -> f64 {
        let q = (p * (1.0 + growth)).min(1.0);
        let contrast = q - (1.0 + threshold) * p;
        let variance = overdispersion
            * (q * (1.0 - q) * head_scale + (1.0 + threshold).powi(2) * p * (1.0 - p) * base_scale);
        normal.cdf(contrast / variance.sqrt() - critical)
    };
    let detectable_growth = smallest(threshold, MAX_GROWTH, |g| detected(g) >= TARGET_POWER);
    Power {
        reference_share: p,
        probability: TARGET_POWER,
        detectable_growth,
        overdispersion,
        thin: detectable_growth.is_none_or(|g| g > THIN_GROWTH),
    }
}

/// Variance of a side's mean share per unit of `p(1-p)`: `Σ 1/n_i / k²`
/// over its `k` runs of `n_i` samples (`1/N` for one run).
fn sampling_scale(runs: &[RunShares]) -> f64 {
    let k = runs.len().max(1) as f64;
    runs.iter().map(|r| 1.0 / r.samples.max(1.0)).sum::<f64>() / (k * k)
}

/// The median ratio of between-run to sampling variance, over the
/// functions both sides hold at a share worth testing; at least 1.
fn overdispersion(base: &[RunShares], head: &[RunShares]) -> f64 {
    let mut ratios = Vec::new();
    for side in [base, head] {
        let samples: Vec<f64> = side.iter().map(|r| r.samples).collect();
        let functions: std::collections::BTreeSet<&str> = side
            .iter()
            .flat_map(|r| r.functions.keys().map(String::as_str))
            .collect();
        for function in functions {
            let shares: Vec<f64> = side
                .iter()
                .map(|r| r.share(function, super::Metric::SelfTime))
                .collect();
            let estimate = SideEstimate::per_run(&shares, &samples);
            let sampling = estimate.share * (1.0 - estimate.share) * sampling_scale(side);
            if estimate.share >= 0.01 && sampling > 0.0 {
                ratios.push(spread_variance(&shares) / sampling);
            }
        }
    }
    if ratios.is_empty() {
        return 1.0;
    }
    ratios.sort_by(f64::total_cmp);
    ratios[ratios.len() / 2].max(1.0)
}

/// Variance of the mean of `shares` estimated from their spread.
fn spread_variance(shares: &[f64]) -> f64 {
    let n = shares.len() as f64;
    let mean = shares.iter().sum::<f64>() / n;
    shares.iter().map(|s| (s - mean).powi(2)).sum::<f64>() / (n - 1.0) / n
}

/// The smallest `x` in `low..=high` for which the monotone `holds` is true,
/// to a thousandth; `None` when it is false even at `high`.
fn smallest(low: f64, high: f64, holds: impl Fn(f64) -> bool) -> Option<f64> {
    if !holds(high) {
        return None;
    }
    let (mut low, mut high) = (low, high);
    while high - low > 1e-3 {
        let mid = (low + high) / 2.0;
        if holds(mid) {
            high = mid;
        } else {
            low = mid;
        }
    }
    Some(high)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::folded::Folded;

    fn runs(text: &str, count: usize) -> Vec<RunShares> {
        let folded = Folded::parse(text).unwrap();
        (0..count)
            .map(|_| RunShares::from_folded(&folded).unwrap())
            .collect()
    }

    #[test]
    fn more_samples_detect_smaller_growth() {
        let big = runs("main;a 4750\nmain;b 250\n", 10);
        let small = runs("main;a 95\nmain;b 5\n", 3);
        let strong = power(&big, &big, Method::WelchPerRun, 0.05, 0.05, 10);
        let weak = power(&small, &small, Method::WelchPerRun, 0.05, 0.05, 10);
        let strong_growth = strong.detectable_growth.unwrap();
        assert!(strong_growth > 0.05 && strong_growth < 0.3, "{strong:?}");
        assert!(!strong.thin);
        assert!(weak.thin, "{weak:?}");
        assert!(weak.detectable_growth.is_none_or(|g| g > strong_growth));
    }

    #[test]
    fn spread_between_runs_costs_power() {
        let steady = runs("main;a 900\nmain;b 100\n", 4);
        let mut noisy = runs("main;a 900\nmain;b 100\n", 2);
        noisy.extend(runs("main;a 700\nmain;b 300\n", 2));
        let steady_power = power(&steady, &steady, Method::WelchPerRun, 0.05, 0.05, 4);
        let noisy_power = power(&noisy, &noisy, Method::WelchPerRun, 0.05, 0.05, 4);
        assert_eq!(steady_power.overdispersion, 1.0);
        assert!(noisy_power.overdispersion > 10.0, "{noisy_power:?}");
        assert!(
            noisy_power.detectable_growth.unwrap_or(f64::INFINITY)
                > steady_power.detectable_growth.unwrap()
        );
    }

    #[test]
    fn the_search_finds_the_boundary() {
        assert!((smallest(0.0, 10.0, |x| x >= 2.5).unwrap() - 2.5).abs() < 1e-3);
        assert_eq!(smallest(0.0, 10.0, |_| false), None);
    }
}
