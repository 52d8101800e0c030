//! Per-function shares of one profile, the input of the regression tests:
//! self share (samples whose leaf is the function) and inclusive share
//! (samples with the function anywhere on the stack), each as a fraction of
//! the profile's total.

use std::collections::{HashMap, HashSet};

use brasa_proto::pprof::Profile;

use crate::{
    folded::Folded,
    sample_type::{sample_type_index, sample_type_names},
    strings::string,
    top::{top, total},
    Error, Result,
};

/// Unit of sample types whose values are already sample counts.
const COUNT_UNIT: &str = "count";

/// Which share of a function is compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// Time spent in the function's own code.
    #[serde(rename = "self")]
    SelfTime,
    /// Time spent in the function and everything it calls.
    Inclusive,
}

impl Metric {
    /// Both metrics, in report order.
    pub const ALL: [Metric; 2] = [Metric::SelfTime, Metric::Inclusive];

    /// Lower-case name used in reports.
    pub fn name(self) -> &'static str {
        match self {
            Metric::SelfTime => "self",
            Metric::Inclusive => "inclusive",
        }
    }
}

/// A function's share of one profile.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct FunctionShare {
    /// Fraction of the total whose leaf frame is this function.
    pub self_share: f64,
    /// Fraction of the total with this function on the stack.
    pub inclusive: f64,
}

impl FunctionShare {
    /// The share for `metric`.
    pub fn get(&self, metric: Metric) -> f64 {
        match metric {
            Metric::SelfTime => self.self_share,
            Metric::Inclusive => self.inclusive,
        }
    }
}

/// The shares of every function of one profile.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunShares {
    /// How many samples the shares rest on: the total when the sample type
    /// counts samples, else the total divided by the sampling period (when
    /// the units agree), else the raw total.
    pub samples: f64,
    /// Function name → its shares.
    pub functions: HashMap<String, FunctionShare>,
}

impl RunShares {
    /// Shares of sample type `sample_type` of `profile`. Errors when the
    /// profile has no samples of that type: a share of nothing is undefined.
    pub fn from_profile(profile: &Profile, sample_type: usize) -> Result<Self> {
        let sum = total(profile, sample_type);
        if sum <= 0 {
            return Err(Error::Request(
                "a profile has no samples of the compared sample type; record for longer or pick another --sample-type".to_owned(),
            ));
        }
        let sum_f = sum as f64;
        let functions = top(profile, sample_type)
            .into_iter()
            .map(|entry| {
                let share = FunctionShare {
                    self_share: entry.flat as f64 / sum_f,
                    inclusive: entry.cum as f64 / sum_f,
                };
                (entry.name, share)
            })
            .collect();
        Ok(Self {
            samples: sample_count(profile, sample_type, sum_f),
            functions,
        })
    }

    /// Shares of folded stacks, whose counts are sample counts. Gives the
    /// same shares as [`Self::from_profile`] of [`Folded::to_profile`],
    /// without building the profile.
    pub fn from_folded(folded: &Folded) -> Result<Self> {
        let sum = folded.total();
        if sum <= 0 {
            return Err(Error::Request(
                "folded stacks with no samples have no shares; record for longer".to_owned(),
            ));
        }
        let mut totals: HashMap<&str, (i64, i64)> = HashMap::new();
        let mut seen = HashSet::new();
        for (stack, &count) in &folded.stacks {
            seen.clear();
            let mut frames = stack.split(';');
            if let Some(leaf) = frames.next_back() {
                let entry = totals.entry(leaf).or_default();
                entry.0 = entry.0.saturating_add(count);
            }
            for frame in stack.split(';') {
                if seen.insert(frame) {
                    let entry = totals.entry(frame).or_default();
                    entry.1 = entry.1.saturating_add(count);
                }
            }
        }
        let sum_f = sum as f64;
        let functions = totals
            .into_iter()
            .map(|(name, (flat, cum))| {
                let share = FunctionShare {
                    self_share: flat as f64 / sum_f,
                    inclusive: cum as f64 / sum_f,
                };
                (name.to_owned(), share)
            })
            .collect();
        Ok(Self {
            samples: sum_f,
            functions,
        })
    }

    /// The shares of `function`, zero when it never appears.
    pub fn share(&self, function: &str, metric: Metric) -> f64 {
        self.functions.get(function).map_or(0.0, |s| s.get(metric))
    }
}

fn sample_count(profile: &Profile, sample_type: usize, sum: f64) -> f64 {
    let Some(vt) = profile.sample_type.get(sample_type) else {
        return sum;
    };
    let unit = string(profile, vt.unit);
    if unit == COUNT_UNIT {
        return sum;
    }
    let period_unit = profile
        .period_type
        .as_ref()
        .map(|pt| string(profile, pt.unit));
    if profile.period > 0 && period_unit == Some(unit) {
        // Each sample stands for one period: values / period = samples.
        return (sum / profile.period as f64).max(1.0);
    }
    sum
}

/// The index of the compared sample type in each profile, and its
/// `type/unit` name. `wanted` as in [`sample_type_index`]; every profile must
/// resolve to the same `type/unit`, else comparing shares would compare
/// different quantities.
pub fn common_sample_type(
    profiles: &[&Profile],
    wanted: Option<&str>,
) -> Result<(String, Vec<usize>)> {
    let mut indexes = Vec::with_capacity(profiles.len());
    let mut chosen: Option<String> = None;
    for profile in profiles {
        let index = sample_type_index(profile, wanted)?;
        let name = sample_type_names(profile).swap_remove(index);
        match &chosen {
            None => chosen = Some(name),
            Some(first) if *first != name => {
                return Err(Error::SampleTypeMismatch {
                    expected: first.clone(),
                    found: name,
                })
            }
            Some(_) => {}
        }
        indexes.push(index);
    }
    let name = chosen.ok_or_else(|| Error::Request("no input profiles".to_owned()))?;
    Ok((name, indexes))
}
