//! What `brasa check` decided, as data: every output format is rendered
//! from a [`Report`].

use serde::Serialize;

use super::{power::Power, shares::Metric, stats::Method};

/// The outcome of a check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// No function regressed.
    Pass,
    /// At least one function regressed.
    Regression,
}

/// A function whose share grew significantly by more than the threshold.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    /// Function name.
    pub function: String,
    /// Which share grew.
    pub metric: Metric,
    /// Share of the base profiles (fraction, 0..=1).
    pub base_share: f64,
    /// Share of the head profiles (fraction, 0..=1).
    pub head_share: f64,
    /// `head_share / base_share - 1`; `None` (null in JSON) for a function
    /// absent from the base.
    pub relative_change: Option<f64>,
    /// One-sided p-value of "grew by at most the threshold".
    pub p_value: f64,
    /// Benjamini–Hochberg adjusted p-value across all tests of the check.
    pub q_value: f64,
}

impl Finding {
    /// Whether the share grew by more than `threshold`: relative to the
    /// base share, or as a share of the time for a function new in head.
    pub fn grew_past(&self, threshold: f64) -> bool {
        match self.relative_change {
            Some(relative) => relative > threshold,
            None => self.head_share - self.base_share > threshold,
        }
    }
}

/// A function found only in the head profiles.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NewFunction {
    /// Function name.
    pub function: String,
    /// Self share in the head profiles.
    pub self_share: f64,
    /// Inclusive share in the head profiles.
    pub inclusive_share: f64,
}

/// Everything a check found, with the settings that produced it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// Pass or regression.
    pub verdict: Verdict,
    /// The test used.
    pub method: Method,
    /// The compared sample type, `type/unit`.
    pub sample_type: String,
    /// Number of base profiles.
    pub base_profiles: usize,
    /// Number of head profiles.
    pub head_profiles: usize,
    /// Relative growth a share must exceed (fraction: 0.05 is 5%).
    pub threshold: f64,
    /// Significance level, applied to q-values.
    pub alpha: f64,
    /// Head share under which functions are neither tested nor reported new.
    pub min_share: f64,
    /// Number of (function, metric) shares tested.
    pub tested: usize,
    /// The regressions, most added time first.
    pub regressions: Vec<Finding>,
    /// Functions only in head, largest first.
    pub new_functions: Vec<NewFunction>,
    /// What the check could have detected with these samples.
    pub power: Power,
}

impl Report {
    /// True when the check should fail.
    pub fn failed(&self) -> bool {
        self.verdict == Verdict::Regression
    }
}
