//! The significance tests: is a function's head share larger than its base
//! share grown by the threshold?
//!
//! Both tests are one-sided tests of the margin hypothesis
//! `H0: head <= (1 + threshold) * base` against `H1: head > (1 + threshold) * base`,
//! on the contrast `D = head - (1 + threshold) * base` ([`Margin::Relative`]).
//! A function absent from the base has no share to grow from: there the
//! threshold is a share of the time, `H0: head <= base + threshold`
//! ([`Margin::Absolute`]), so that a function that appears from nothing and
//! takes more than the threshold of the head fails the check. Testing against the
//! margin, instead of against "no change", makes the threshold part of the
//! statistics: a change that is real but smaller than the threshold is not a
//! regression, and a function must be credibly above the threshold to fail
//! the check.
//!
//! - Several profiles per side ([`Method::WelchPerRun`]): each profile gives
//!   one share per function; the side's mean share has a variance estimated
//!   from the spread *between* profiles, which contains both the sampling
//!   noise within a run and the run-to-run variation (machine noise, cache
//!   and scheduling effects, input differences). Welch's unequal-variance t
//!   test with Satterthwaite's degrees of freedom follows; it assumes nothing
//!   about where the variation comes from. The estimated variance is never
//!   allowed below the binomial sampling variance, which every run has at
//!   least; with few runs that floor stops a lucky, too-small spread from
//!   producing a tiny p-value.
//! - One profile on a side ([`Method::CountsZ`]): there is no spread to
//!   estimate, so the profiles of each side are pooled and the shares are
//!   compared as binomial proportions of the sample counts (a two-proportion
//!   z test). It knows only sampling noise: it will call run-to-run variation
//!   significant, which is why reports say when it was used.

use statrs::distribution::{ContinuousCDF, Normal, StudentsT};

/// Which test produced the p-values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// Welch t test on per-profile shares (two or more profiles per side).
    WelchPerRun,
    /// Two-proportion z test on pooled sample counts (one profile on a side).
    CountsZ,
}

impl Method {
    /// A sentence for reports saying what was tested.
    pub fn description(self) -> &'static str {
        match self {
            Method::WelchPerRun => {
                "Welch t test on per-profile shares (accounts for run-to-run variation)"
            }
            Method::CountsZ => {
                "two-proportion z test on sample counts: only one profile on a side, so run-to-run variation is NOT accounted for; pass several --base and --head profiles for a trustworthy verdict"
            }
        }
    }
}

/// One side's estimate of a function's share.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SideEstimate {
    /// Estimated share.
    pub share: f64,
    /// Variance of that estimate.
    pub variance: f64,
    /// Degrees of freedom of the variance estimate (`inf` for the binomial
    /// variance, which is not estimated from runs).
    pub dof: f64,
}

impl SideEstimate {
    /// From per-profile shares and sample counts (at least two profiles):
    /// the mean share and the variance of the mean, estimated between runs
    /// and floored at the sampling variance.
    pub fn per_run(shares: &[f64], samples: &[f64]) -> Self {
        let n = shares.len() as f64;
        let mean = shares.iter().sum::<f64>() / n;
        let spread = shares.iter().map(|s| (s - mean).powi(2)).sum::<f64>() / (n - 1.0);
        let inverse_samples: f64 = samples.iter().map(|s| 1.0 / s.max(1.0)).sum();
        let sampling = mean * (1.0 - mean) * inverse_samples / (n * n);
        Self {
            share: mean,
            variance: (spread / n).max(sampling),
            dof: n - 1.0,
        }
    }

    /// From pooled counts: `hits` of `samples` samples.
    pub fn counts(hits: f64, samples: f64) -> Self {
        let samples = samples.max(1.0);
        let share = (hits / samples).clamp(0.0, 1.0);
        Self {
            share,
            variance: share * (1.0 - share) / samples,
            dof: f64::INFINITY,
        }
    }
}

/// How much growth the null hypothesis allows.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Margin {
    /// `head <= (1 + threshold) * base`: growth relative to the base share.
    Relative(f64),
    /// `head <= base + threshold`: growth in share of the time, for a
    /// function absent from the base.
    Absolute(f64),
}

impl Margin {
    /// The contrast's factor on the base share and its constant offset.
    fn terms(self) -> (f64, f64) {
        match self {
            Margin::Relative(threshold) => (1.0 + threshold, 0.0),
            Margin::Absolute(threshold) => (1.0, threshold),
        }
    }
}

/// One-sided p-value of "grew by at most the margin".
pub fn margin_p_value(
    base: SideEstimate,
    head: SideEstimate,
    margin: Margin,
    method: Method,
) -> f64 {
    let (factor, offset) = margin.terms();
    let contrast = head.share - factor * base.share - offset;
    let base_part = factor * factor * base.variance;
    let variance = head.variance + base_part;
    if variance.is_nan() || variance <= 0.0 {
        // Shares of 0 or 1 on both sides: nothing varies, the sign decides.
        return if contrast > 0.0 { 0.0 } else { 1.0 };
    }
    let statistic = contrast / variance.sqrt();
    match method {
        Method::CountsZ => standard_normal().sf(statistic),
        Method::WelchPerRun => {
            let dof = satterthwaite(head.variance, head.dof, base_part, base.dof);
            match StudentsT::new(0.0, 1.0, dof) {
                Ok(t) => t.sf(statistic),
                Err(_) => standard_normal().sf(statistic),
            }
        }
    }
}

fn standard_normal() -> Normal {
    Normal::standard()
}

/// Welch–Satterthwaite degrees of freedom of the sum of two variance
/// estimates.
fn satterthwaite(a: f64, a_dof: f64, b: f64, b_dof: f64) -> f64 {
    let term = |v: f64, dof: f64| if dof.is_finite() { v * v / dof } else { 0.0 };
    let denominator = term(a, a_dof) + term(b, b_dof);
    if denominator > 0.0 {
        (a + b).powi(2) / denominator
    } else {
        f64::INFINITY
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_test_matches_textbook_z() {
        // 600/10000 vs 400/10000, margin 0: z = 0.02 / sqrt(.06*.94/1e4 + .04*.96/1e4) ≈ 6.50.
        let p = margin_p_value(
            SideEstimate::counts(400.0, 10_000.0),
            SideEstimate::counts(600.0, 10_000.0),
            Margin::Relative(0.0),
            Method::CountsZ,
        );
        let z: f64 = 0.02 / (0.06f64 * 0.94 / 1e4 + 0.04 * 0.96 / 1e4).sqrt();
        assert!((p - standard_normal().sf(z)).abs() < 1e-15);
        assert!(p < 1e-9);
    }

    #[test]
    fn a_change_below_the_margin_is_not_significant() {
        // +3% on a huge sample: real, but under a 5% threshold.
        let p = margin_p_value(
            SideEstimate::counts(1_000_000.0, 10_000_000.0),
            SideEstimate::counts(1_030_000.0, 10_000_000.0),
            Margin::Relative(0.05),
            Method::CountsZ,
        );
        assert!(p > 0.99, "{p}");
    }

    #[test]
    fn welch_uses_the_spread_between_runs() {
        let samples = [5000.0; 4];
        let tight = SideEstimate::per_run(&[0.100, 0.101, 0.099, 0.100], &samples);
        let loose = SideEstimate::per_run(&[0.06, 0.14, 0.08, 0.12], &samples);
        let head_tight = SideEstimate::per_run(&[0.130, 0.131, 0.129, 0.130], &samples);
        let head_loose = SideEstimate::per_run(&[0.09, 0.17, 0.11, 0.15], &samples);
        let p_tight = margin_p_value(
            tight,
            head_tight,
            Margin::Relative(0.05),
            Method::WelchPerRun,
        );
        let p_loose = margin_p_value(
            loose,
            head_loose,
            Margin::Relative(0.05),
            Method::WelchPerRun,
        );
        assert!(p_tight < 0.01, "{p_tight}");
        assert!(p_loose > 0.1, "{p_loose}");
    }

    #[test]
    fn identical_runs_fall_back_to_the_sampling_variance() {
        let samples = [100.0, 100.0];
        let side = SideEstimate::per_run(&[0.5, 0.5], &samples);
        assert!((side.variance - 0.25 / 200.0).abs() < 1e-15);
    }

    #[test]
    fn degenerate_shares_decide_by_sign() {
        let zero = SideEstimate::counts(0.0, 10.0);
        let one = SideEstimate::counts(10.0, 10.0);
        let margin = Margin::Relative(0.05);
        assert_eq!(margin_p_value(zero, one, margin, Method::CountsZ), 0.0);
        assert_eq!(margin_p_value(one, one, margin, Method::CountsZ), 1.0);
    }

    #[test]
    fn a_function_absent_from_the_base_is_tested_against_the_threshold_as_a_share() {
        let absent = SideEstimate::counts(0.0, 1_000.0);
        let margin = Margin::Absolute(0.05);
        // 35% of the head: far above a 5% share.
        let big = SideEstimate::counts(350.0, 1_000.0);
        assert!(margin_p_value(absent, big, margin, Method::CountsZ) < 1e-9);
        // 3% of the head is new, but under the threshold: no regression.
        let small = SideEstimate::counts(30.0, 1_000.0);
        assert!(margin_p_value(absent, small, margin, Method::CountsZ) > 0.99);
        // A relative margin on a zero base would call any share a regression.
        assert!(margin_p_value(absent, small, Margin::Relative(0.05), Method::CountsZ) < 1e-6);
    }
}
