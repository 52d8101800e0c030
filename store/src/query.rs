//! Reading many profiles back as one: the merge behind every query.
//!
//! Stored profiles are lists of (stack id, values) against their series'
//! symbol table, so merging a series is adding integers into one row per
//! stack; each series is then rebuilt into one pprof profile once, and the
//! per-series profiles are merged by name with `brasa-profile`'s merger.

use std::{collections::HashMap, sync::PoisonError};

use brasa_profile::{merge::Merger, Profile};
use rayon::prelude::*;

use crate::{blob, matcher::Matcher, store::Store, Result};

/// What a merge found.
#[derive(Debug, Default)]
pub struct Merged {
    /// The merged profile; `None` when nothing matched.
    pub profile: Option<Profile>,
    /// How many stored profiles went into it.
    pub profiles: usize,
    /// How many series matched the selector.
    pub series: usize,
}

/// Sums of one series' profiles that share sample types (a meta record).
#[derive(Default)]
struct Sums {
    types: usize,
    values: Vec<i64>,
    time_nanos: i64,
    duration_nanos: i64,
}

impl Store {
    /// Merges every profile of the series matching `matchers` with a time
    /// in `[from, to]` (unix ns), series in parallel.
    pub fn merge(&self, matchers: &[Matcher], from: u64, to: u64) -> Result<Merged> {
        let series = self.select(matchers)?;
        let per_series = series
            .par_iter()
            .map(|s| self.merge_series(s.id, from, to))
            .collect::<Result<Vec<_>>>()?;
        let mut merger = Merger::new();
        let mut profiles = 0;
        for (count, built) in per_series {
            profiles += count;
            for p in &built {
                merger.add(p)?;
            }
        }
        Ok(Merged {
            profile: merger.finish(),
            profiles,
            series: series.len(),
        })
    }

    /// One series: (profiles read, one rebuilt profile per kind of profile).
    fn merge_series(&self, series: u64, from: u64, to: u64) -> Result<(usize, Vec<Profile>)> {
        let mut groups: HashMap<u32, Sums> = HashMap::new();
        let mut count = 0;
        for entry in self.scan(series, from, to) {
            let (_, value) = entry?;
            let reduced = blob::decode(&value)?;
            count += 1;
            let sums = groups.entry(reduced.meta).or_default();
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
            return Ok((0, Vec::new()));
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
                table.build(meta, &sums.values, sums.time_nanos, sums.duration_nanos)
            })
            .collect();
        Ok((count, built))
    }
}
