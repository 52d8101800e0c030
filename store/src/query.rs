//! Reading many profiles back as one: the merge behind every query.
//!
//! Stored profiles are lists of (stack id, values) against their series'
//! symbol table, so merging a series is adding integers into one row per
//! stack; each series is then rebuilt into one pprof profile once, and the
//! per-series profiles are merged by name with `brasa-profile`'s merger.

use std::{
    collections::{BTreeMap, HashMap},
    sync::PoisonError,
};

use brasa_profile::{
    merge::Merger,
    sample_type::{is_gauge, sample_type_names},
    Profile,
};
use rayon::prelude::*;

use crate::{blob, matcher::Matcher, store::Store, Result};

/// The sample type of CPU time, the kind a merge prefers.
const CPU_SAMPLE_TYPE: &str = "cpu/nanoseconds";

/// What a merge found.
#[derive(Debug, Default)]
pub struct Merged {
    /// The merged profile; `None` when nothing matched.
    pub profile: Option<Profile>,
    /// How many stored profiles went into it.
    pub profiles: usize,
    /// How many series matched the selector.
    pub series: usize,
    /// Sample types (`type/unit` lists, `, `-joined) of matching profiles
    /// that were left out because the merge answers one kind of profile
    /// ([`Store::merge_kind`]).
    pub other_kinds: Vec<String>,
    /// Per sample type of `profile`, whether its values are averages over
    /// the range (in-use memory, goroutines: snapshots, averaged per
    /// series, then added across series) rather than sums. A Go heap
    /// profile has both: allocations are summed, in-use memory averaged.
    pub averaged: Vec<bool>,
}

/// Sums of one series' profiles that share sample types (a meta record).
#[derive(Default)]
struct Sums {
    types: usize,
    values: Vec<i64>,
    time_nanos: i64,
    duration_nanos: i64,
    profiles: usize,
}

/// The rebuilt series profiles of one kind (one list of sample types).
#[derive(Default)]
struct Kind {
    /// Stored profiles in them.
    profiles: usize,
    built: Vec<Profile>,
}

impl Store {
    /// Merges every profile of the series matching `matchers` with a time
    /// in `[from, to]` (unix ns), series in parallel, of the kind
    /// [`Store::merge_kind`] picks with no preference.
    pub fn merge(&self, matchers: &[Matcher], from: u64, to: u64) -> Result<Merged> {
        self.merge_kind(matchers, from, to, None)
    }

    /// Like [`Store::merge`], for one kind of profile: profiles with
    /// different sample types (CPU and heap under one name, say) are never
    /// merged together. The kind is the one that has the sample type
    /// `wanted` (`inuse_space` or `inuse_space/bytes`), else the one with
    /// CPU time, else the one with the most profiles; the others are named
    /// in [`Merged::other_kinds`].
    pub fn merge_kind(
        &self,
        matchers: &[Matcher],
        from: u64,
        to: u64,
        wanted: Option<&str>,
    ) -> Result<Merged> {
        let series = self.select(matchers)?;
        let per_series = series
            .par_iter()
            .map(|s| self.merge_series(s.id, from, to))
            .collect::<Result<Vec<_>>>()?;
        // Grouped by kind first: only the chosen kind is merged.
        let mut kinds: BTreeMap<Vec<String>, Kind> = BTreeMap::new();
        for built in per_series {
            for (profiles, profile) in built {
                let kind = kinds.entry(sample_type_names(&profile)).or_default();
                kind.profiles += profiles;
                kind.built.push(profile);
            }
        }
        let has = |names: &[String], wanted: &str| {
            names
                .iter()
                .any(|n| n == wanted || n.split_once('/').is_some_and(|(t, _)| t == wanted))
        };
        let chosen = wanted
            .and_then(|w| kinds.keys().find(|names| has(names, w)))
            .or_else(|| kinds.keys().find(|names| has(names, CPU_SAMPLE_TYPE)))
            .or_else(|| kinds.iter().max_by_key(|(_, k)| k.profiles).map(|(n, _)| n))
            .cloned();
        let Some(chosen) = chosen else {
            return Ok(Merged {
                series: series.len(),
                ..Merged::default()
            });
        };
        let kind = kinds
            .remove(&chosen)
            .expect("the chosen kind is one of them");
        let mut merger = Merger::new();
        for profile in &kind.built {
            merger.add(profile)?;
        }
        let profile = merger.finish();
        Ok(Merged {
            averaged: profile.as_ref().map(gauges).unwrap_or_default(),
            profile,
            profiles: kind.profiles,
            series: series.len(),
            other_kinds: kinds.into_keys().map(|names| names.join(", ")).collect(),
        })
    }

    /// One series: one rebuilt profile per kind of profile, with the number
    /// of stored profiles in it.
    fn merge_series(&self, series: u64, from: u64, to: u64) -> Result<Vec<(usize, Profile)>> {
        let mut groups: HashMap<u32, Sums> = HashMap::new();
        for entry in self.scan(series, from, to) {
            let (_, value) = entry?;
            let reduced = blob::decode(&value)?;
            let sums = groups.entry(reduced.meta).or_default();
            sums.profiles += 1;
            if sums.types == 0 {
                sums.types = reduced.samples.first().map_or(0, |s| s.values.len());
            }
            if reduced.time_nanos != 0
                && (sums.time_nanos == 0 || reduced.time_nanos < sums.time_nanos)
            {
                sums.time_nanos = reduced.time_nanos;
            }
            sums.duration_nanos = sums.duration_nanos.saturating_add(reduced.duration_nanos);
            let types = sums.types;
            for sample in &reduced.samples {
                let start = (sample.stack as usize).saturating_sub(1) * types;
                if sums.values.len() < start + types {
                    sums.values.resize(start + types, 0);
                }
                for (sum, v) in sums.values[start..start + types]
                    .iter_mut()
                    .zip(&sample.values)
                {
                    *sum = sum.saturating_add(*v);
                }
            }
        }
        if groups.is_empty() {
            return Ok(Vec::new());
        }
        let table = self.tables().get(series)?;
        let symbols = table.lock().unwrap_or_else(PoisonError::into_inner);
        let table = &symbols.table;
        let mut metas: Vec<_> = groups.into_iter().collect();
        metas.sort_by_key(|(meta, _)| *meta);
        let built = metas
            .into_iter()
            .filter(|(meta, sums)| table.sample_type_count(*meta) == sums.types)
            .map(|(meta, sums)| {
                let mut profile =
                    table.build(meta, &sums.values, sums.time_nanos, sums.duration_nanos);
                let gauges = gauges(&profile);
                if gauges.contains(&true) {
                    // Snapshots: the series' average over the range.
                    for sample in &mut profile.sample {
                        for (value, _) in sample.value.iter_mut().zip(&gauges).filter(|(_, g)| **g)
                        {
                            *value = average(*value, sums.profiles);
                        }
                    }
                }
                (sums.profiles, profile)
            })
            .collect();
        Ok(built)
    }
}

/// Per sample type of `profile`, whether it is a snapshot
/// ([`brasa_profile::sample_type::is_gauge`]).
fn gauges(profile: &Profile) -> Vec<bool> {
    sample_type_names(profile)
        .iter()
        .map(|n| is_gauge(n))
        .collect()
}

/// `sum` over `count` snapshots, rounded to the nearest integer.
fn average(sum: i64, count: usize) -> i64 {
    let count = count.max(1) as i64;
    (sum + sum.signum() * count / 2) / count
}
