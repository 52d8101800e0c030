//! The regression gate behind `brasa check`: compare the per-function
//! shares of a set of base profiles with those of a set of head profiles,
//! and call a function a regression only when its share grew by more than a
//! relative threshold *and* that growth is statistically significant, with
//! the false discovery rate controlled across every function tested.
//!
//! - [`shares`]: self and inclusive share of every function of a profile.
//! - [`stats`]: the margin tests (Welch per run, or counts with one profile).
//! - [`fdr`]: Benjamini–Hochberg q-values (conditioned on p ≤ 0.5, for the
//!   conservative nulls of functions that did not grow).
//! - [`power`]: the smallest growth the check could have detected.
//! - [`report`]: the result as data; [`format`](mod@format): text, markdown and JSON.
//!
//! ```
//! use brasa_profile::folded::Folded;
//! use brasa_profile::regression::{check, CheckOptions};
//!
//! let base = Folded::parse("main;work 900\nmain;parse 100\n").unwrap().to_profile();
//! let head = Folded::parse("main;work 800\nmain;parse 200\n").unwrap().to_profile();
//! let report = check(&[base], &[head], &CheckOptions::default()).unwrap();
//! assert!(report.failed());
//! assert_eq!(report.regressions[0].function, "parse");
//! ```

pub mod fdr;
pub mod format;
pub mod power;
pub mod report;
pub mod shares;
pub mod stats;

use std::collections::{BTreeMap, BTreeSet};

use brasa_proto::pprof::Profile;

use crate::{Error, Result};

pub use format::{render, Format};
pub use report::{Finding, NewFunction, Report, Verdict};
pub use shares::{common_sample_type, FunctionShare, Metric, RunShares};
pub use stats::Method;

use stats::{margin_p_value, Margin, SideEstimate};

/// Default relative growth a share must exceed: 5%.
pub const DEFAULT_THRESHOLD: f64 = 0.05;
/// Default significance level of the false discovery rate.
pub const DEFAULT_ALPHA: f64 = 0.05;
/// Default head share under which a function is ignored: half a percent of
/// the time is below what a CI gate should fail a build for, and leaving the
/// long tail of tiny functions out keeps their sampling noise from diluting
/// the tests that matter.
pub const DEFAULT_MIN_SHARE: f64 = 0.005;

/// How to check.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct CheckOptions {
    /// Relative growth a share must exceed to count (fraction). Default
    /// [`DEFAULT_THRESHOLD`].
    pub threshold: f64,
    /// False discovery rate level. Default [`DEFAULT_ALPHA`].
    pub alpha: f64,
    /// Functions whose head share is below this (fraction) are not tested
    /// and not reported as new. Default [`DEFAULT_MIN_SHARE`].
    pub min_share: f64,
    /// Sample type to compare (`cpu`, `cpu/nanoseconds`); default: each
    /// profile's default, which must agree.
    pub sample_type: Option<String>,
}

impl Default for CheckOptions {
    fn default() -> Self {
        Self {
            threshold: DEFAULT_THRESHOLD,
            alpha: DEFAULT_ALPHA,
            min_share: DEFAULT_MIN_SHARE,
            sample_type: None,
        }
    }
}

impl CheckOptions {
    fn validate(&self) -> Result<()> {
        if !(self.threshold.is_finite() && self.threshold >= 0.0) {
            return Err(Error::Request(format!(
                "threshold {} is not a non-negative relative growth (5% is 5)",
                self.threshold * 100.0
            )));
        }
        if !(self.alpha > 0.0 && self.alpha < 1.0) {
            return Err(Error::Request(format!(
                "alpha {} must be between 0 and 1 (e.g. 0.05)",
                self.alpha
            )));
        }
        if !(0.0..=1.0).contains(&self.min_share) {
            return Err(Error::Request(format!(
                "min-share {}% must be between 0 and 100",
                self.min_share * 100.0
            )));
        }
        Ok(())
    }
}

/// Compares `base` and `head` profiles. Errors when a side is empty, when
/// the sample types differ, or when a profile has no samples.
pub fn check(base: &[Profile], head: &[Profile], options: &CheckOptions) -> Result<Report> {
    options.validate()?;
    if base.is_empty() || head.is_empty() {
        return Err(Error::Request(
            "need at least one base and one head profile".to_owned(),
        ));
    }
    let all: Vec<&Profile> = base.iter().chain(head).collect();
    let (sample_type, indexes) = common_sample_type(&all, options.sample_type.as_deref())?;
    let runs = all
        .iter()
        .zip(&indexes)
        .map(|(p, &i)| RunShares::from_profile(p, i))
        .collect::<Result<Vec<_>>>()?;
    let (base_runs, head_runs) = runs.split_at(base.len());
    Ok(check_shares(base_runs, head_runs, sample_type, options))
}

/// [`check`] on shares already computed.
pub fn check_shares(
    base: &[RunShares],
    head: &[RunShares],
    sample_type: String,
    options: &CheckOptions,
) -> Report {
    let method = if base.len() >= 2 && head.len() >= 2 {
        Method::WelchPerRun
    } else {
        Method::CountsZ
    };
    let base_names: BTreeSet<&str> = names(base);
    let all_names: BTreeSet<&str> = base_names.union(&names(head)).copied().collect();
    let mut findings = test_all(base, head, &all_names, method, options);
    let p_values: Vec<f64> = findings.iter().map(|f| f.p_value).collect();
    for (finding, q) in findings
        .iter_mut()
        .zip(fdr::conditional_benjamini_hochberg(&p_values))
    {
        finding.q_value = q;
    }
    let tested = findings.len();
    let power = power::power(base, head, method, options.threshold, options.alpha, tested);
    let mut regressions: Vec<Finding> = findings
        .into_iter()
        .filter(|f| f.q_value <= options.alpha && f.grew_past(options.threshold))
        .collect();
    regressions.sort_by(|a, b| {
        (b.head_share - b.base_share)
            .total_cmp(&(a.head_share - a.base_share))
            .then_with(|| a.function.cmp(&b.function))
            .then(a.metric.cmp(&b.metric))
    });
    Report {
        verdict: if regressions.is_empty() {
            Verdict::Pass
        } else {
            Verdict::Regression
        },
        method,
        sample_type,
        base_profiles: base.len(),
        head_profiles: head.len(),
        threshold: options.threshold,
        alpha: options.alpha,
        min_share: options.min_share,
        tested,
        regressions,
        new_functions: new_functions(&base_names, head, options.min_share),
        power,
    }
}

/// Runs the margin test of every function, for each metric worth testing,
/// when its head share reaches the minimum share: against growth relative
/// to its base share, or, for a function absent from the base, against the
/// threshold as a share of the time. The q-values are left at 1 for the
/// caller to adjust across the whole family.
fn test_all(
    base: &[RunShares],
    head: &[RunShares],
    functions: &BTreeSet<&str>,
    method: Method,
    options: &CheckOptions,
) -> Vec<Finding> {
    let mut findings = Vec::new();
    for &function in functions {
        for &metric in metrics(base, head, function) {
            let base_side = estimate(base, function, metric, method);
            let head_side = estimate(head, function, metric, method);
            if head_side.share < options.min_share {
                continue;
            }
            let present = base_side.share > 0.0;
            let margin = if present {
                Margin::Relative(options.threshold)
            } else {
                Margin::Absolute(options.threshold)
            };
            findings.push(Finding {
                function: function.to_owned(),
                metric,
                base_share: base_side.share,
                head_share: head_side.share,
                relative_change: present.then(|| head_side.share / base_side.share - 1.0),
                p_value: margin_p_value(base_side, head_side, margin, method),
                q_value: 1.0,
            });
        }
    }
    findings
}

/// The metrics worth testing for `function`: a function that never calls
/// anything has inclusive == self everywhere, and testing the same numbers
/// twice would only dilute the false discovery rate control.
fn metrics(base: &[RunShares], head: &[RunShares], function: &str) -> &'static [Metric] {
    let has_callees = base.iter().chain(head).any(|r| {
        r.functions
            .get(function)
            .is_some_and(|s| s.inclusive != s.self_share)
    });
    if has_callees {
        &Metric::ALL
    } else {
        &Metric::ALL[..1]
    }
}

fn names(runs: &[RunShares]) -> BTreeSet<&str> {
    runs.iter()
        .flat_map(|r| r.functions.keys().map(String::as_str))
        .collect()
}

fn estimate(runs: &[RunShares], function: &str, metric: Metric, method: Method) -> SideEstimate {
    match method {
        Method::WelchPerRun => {
            let shares: Vec<f64> = runs.iter().map(|r| r.share(function, metric)).collect();
            let samples: Vec<f64> = runs.iter().map(|r| r.samples).collect();
            SideEstimate::per_run(&shares, &samples)
        }
        Method::CountsZ => {
            let hits = runs
                .iter()
                .map(|r| r.share(function, metric) * r.samples)
                .sum();
            let samples = runs.iter().map(|r| r.samples).sum();
            SideEstimate::counts(hits, samples)
        }
    }
}

fn mean_share(runs: &[RunShares], function: &str, metric: Metric) -> f64 {
    runs.iter().map(|r| r.share(function, metric)).sum::<f64>() / runs.len() as f64
}

fn new_functions(base: &BTreeSet<&str>, head: &[RunShares], min_share: f64) -> Vec<NewFunction> {
    let mut found: BTreeMap<&str, NewFunction> = BTreeMap::new();
    for function in names(head) {
        if base.contains(function) {
            continue;
        }
        let inclusive_share = mean_share(head, function, Metric::Inclusive);
        if inclusive_share >= min_share && inclusive_share > 0.0 {
            found.insert(
                function,
                NewFunction {
                    function: function.to_owned(),
                    self_share: mean_share(head, function, Metric::SelfTime),
                    inclusive_share,
                },
            );
        }
    }
    let mut list: Vec<NewFunction> = found.into_values().collect();
    list.sort_by(|a, b| {
        b.inclusive_share
            .total_cmp(&a.inclusive_share)
            .then_with(|| a.function.cmp(&b.function))
    });
    list
}
