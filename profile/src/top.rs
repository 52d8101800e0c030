//! The `top` listing: self ("flat") and cumulative value per function.

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

use brasa_proto::pprof::Profile;

use crate::strings::FrameNames;

/// One function's share of a sample type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopEntry {
    /// Function name (or `file+0xOFFSET` for unsymbolized code).
    pub name: String,
    /// Value of samples whose leaf frame is this function.
    pub flat: i64,
    /// Value of samples with this function anywhere on the stack, counted
    /// once per sample even under recursion.
    pub cum: i64,
}

/// Per-function totals for sample type `sample_type`, largest flat first
/// (ties: larger cum, then name), like `go tool pprof -top`.
pub fn top(profile: &Profile, sample_type: usize) -> Vec<TopEntry> {
    let names = FrameNames::new(profile);
    let mut totals: HashMap<&str, (i64, i64)> = HashMap::default();
    let mut seen = HashSet::default();
    for sample in &profile.sample {
        let Some(&value) = sample.value.get(sample_type) else {
            continue;
        };
        if value == 0 {
            continue;
        }
        seen.clear();
        for (depth, frame) in names.leaf_first(sample).enumerate() {
            let entry = totals.entry(frame).or_default();
            if depth == 0 {
                entry.0 = entry.0.saturating_add(value);
            }
            if seen.insert(frame) {
                entry.1 = entry.1.saturating_add(value);
            }
        }
    }
    let mut entries: Vec<TopEntry> = totals
        .into_iter()
        .map(|(name, (flat, cum))| TopEntry {
            name: name.to_owned(),
            flat,
            cum,
        })
        .collect();
    entries.sort_by(|a, b| {
        b.flat
            .cmp(&a.flat)
            .then(b.cum.cmp(&a.cum))
            .then_with(|| a.name.cmp(&b.name))
    });
    entries
}

/// Sum of one sample type over all samples.
pub fn total(profile: &Profile, sample_type: usize) -> i64 {
    profile
        .sample
        .iter()
        .filter_map(|s| s.value.get(sample_type))
        .fold(0i64, |a, b| a.saturating_add(*b))
}
