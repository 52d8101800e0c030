//! Reading many profiles back as one: the merge behind every query.
//!
//! A merge answers one profile type ([`ProfileType`]): every series of
//! that name whose kind holds the type adds its values of that sample
//! type, and nothing else. Stored profiles are lists of (stack id,
//! values) against their series' symbol table, so merging a series is
//! adding integers into one row per stack; each series is then rebuilt
//! into one pprof profile once, and the per-series profiles are merged by
//! name with `brasa-profile`'s merger.

use std::{collections::BTreeMap, sync::PoisonError};

use brasa_profile::{
    merge::Merger,
    profile_type::{Aggregation, ProfileType},
    Profile,
};
use rayon::prelude::*;

use crate::{
    blob,
    labels::NAME_LABEL,
    matcher::Matcher,
    memory::MemoryHold,
    query_limits::{Budget, Cancel},
    store::Store,
    tables::Shared as SharedTable,
    Result, Series,
};

/// Series each thread merges per round (see [`Store::merge_type`]).
const SERIES_PER_THREAD: usize = 4;

/// What a merge found.
#[derive(Debug, Default)]
pub struct Merged {
    /// The merged profile, with the one sample type of `profile_type`;
    /// `None` when nothing matched.
    pub profile: Option<Profile>,
    /// The profile type merged; `None` when nothing matched.
    pub profile_type: Option<ProfileType>,
    /// How many stored profiles went into it.
    pub profiles: usize,
    /// How many series went into it.
    pub series: usize,
    /// The other profile types the selection holds in the range, left out.
    pub other_types: Vec<ProfileType>,
    /// Whether the values are averages over the range (in-use memory,
    /// goroutines: snapshots, averaged per series, then added across
    /// series) rather than sums.
    pub averaged: bool,
    /// The memory the merge holds, of the queries' share of the memory
    /// budget, until this is dropped (after the answer is written).
    pub memory: MemoryHold,
}

/// A profile type that a selection holds in a time range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresentType {
    /// The type.
    pub profile_type: ProfileType,
    /// Series that hold it.
    pub series: usize,
    /// Whether it is the default sample type of the series that hold it.
    pub is_default: bool,
}

/// How much a type is CPU time, the type queries prefer: 0 for CPU time
/// named `process_cpu`, 1 for CPU time under another name, 2 for other
/// types named `process_cpu` (sample counts), 3 for the rest.
fn cpu_rank(t: &ProfileType) -> u8 {
    let cpu_name = t.name == brasa_profile::sample_type::CPU_PROFILE_NAME;
    match (t.is_cpu(), cpu_name) {
        (true, true) => 0,
        (true, false) => 1,
        (false, true) => 2,
        (false, false) => 3,
    }
}

/// The profile type a query that names none answers, among `present`:
/// the one whose sample type is `hint` (`inuse_space` or
/// `inuse_space/bytes`) when given; else CPU (CPU time, or sample counts
/// named `process_cpu`; the series' default sample type first); else the
/// default sample type of the most series.
pub fn choose<'a>(present: &'a [PresentType], hint: Option<&str>) -> Option<&'a ProfileType> {
    if let Some(hint) = hint {
        let (r#type, unit) = hint.split_once('/').unwrap_or((hint, ""));
        return present
            .iter()
            .map(|p| &p.profile_type)
            .find(|t| t.sample.r#type == r#type && (unit.is_empty() || t.sample.unit == unit));
    }
    let cpu = present
        .iter()
        .filter(|p| cpu_rank(&p.profile_type) < 3)
        .min_by_key(|p| {
            (
                cpu_rank(&p.profile_type),
                !p.is_default,
                p.profile_type.id(),
            )
        });
    cpu.or_else(|| {
        present.iter().max_by_key(|p| {
            (
                p.is_default,
                p.series,
                std::cmp::Reverse(p.profile_type.id()),
            )
        })
    })
    .map(|p| &p.profile_type)
}

impl Store {
    /// The profile types of the series matching `matchers` that have
    /// profiles with a time in `[from, to]` (unix ns), CPU first
    /// (CPU time, then sample counts named `process_cpu`), then by ID.
    pub fn profile_types(
        &self,
        matchers: &[Matcher],
        from: u64,
        to: u64,
    ) -> Result<Vec<PresentType>> {
        let mut present: BTreeMap<ProfileType, (usize, usize)> = BTreeMap::new();
        for (series, _) in self.select_samples(matchers)? {
            if self.scan(series.id, from, to).next().transpose()?.is_none() {
                continue;
            }
            let default = series.kind.default_column();
            for (i, t) in series
                .kind
                .profile_types(name_of(&series))
                .into_iter()
                .enumerate()
            {
                let counts = present.entry(t).or_default();
                counts.0 += 1;
                counts.1 += usize::from(default == Some(i));
            }
        }
        let mut present: Vec<PresentType> = present
            .into_iter()
            .map(|(profile_type, (series, defaults))| PresentType {
                profile_type,
                series,
                is_default: defaults * 2 > series,
            })
            .collect();
        present.sort_by_key(|p| (cpu_rank(&p.profile_type), p.profile_type.id()));
        Ok(present)
    }

    /// Merges the profile type [`choose`] picks with no hint among the
    /// series matching `matchers` in `[from, to]` (unix ns).
    pub fn merge(&self, matchers: &[Matcher], from: u64, to: u64) -> Result<Merged> {
        self.merge_choosing(matchers, from, to, None, &Cancel::default())
    }

    /// Merges the profile type [`choose`] picks with `hint`; nothing
    /// (an empty [`Merged`] naming the types present) when no type fits.
    /// Stops with [`crate::Error::QueryCancelled`] once `cancel` is.
    pub fn merge_choosing(
        &self,
        matchers: &[Matcher],
        from: u64,
        to: u64,
        hint: Option<&str>,
        cancel: &Cancel,
    ) -> Result<Merged> {
        let present = self.profile_types(matchers, from, to)?;
        let chosen = choose(&present, hint).cloned();
        self.merge_among(&present, matchers, (from, to), chosen.as_ref(), cancel)
    }

    /// Merges every profile of type `wanted` of the series matching
    /// `matchers` with a time in `[from, to]` (unix ns), series in
    /// parallel. Stops with [`crate::Error::QueryCancelled`] once
    /// `cancel` is.
    pub fn merge_type(
        &self,
        matchers: &[Matcher],
        from: u64,
        to: u64,
        wanted: &ProfileType,
        cancel: &Cancel,
    ) -> Result<Merged> {
        let present = self.profile_types(matchers, from, to)?;
        self.merge_among(&present, matchers, (from, to), Some(wanted), cancel)
    }

    /// The merge of `wanted` (nothing when `None`), naming the other
    /// types of `present`.
    fn merge_among(
        &self,
        present: &[PresentType],
        matchers: &[Matcher],
        (from, to): (u64, u64),
        wanted: Option<&ProfileType>,
        cancel: &Cancel,
    ) -> Result<Merged> {
        let mut merged = match wanted {
            Some(wanted) => self.merge_one(matchers, from, to, wanted, cancel)?,
            None => Merged::default(),
        };
        merged.other_types = others(present, wanted);
        Ok(merged)
    }

    fn merge_one(
        &self,
        matchers: &[Matcher],
        from: u64,
        to: u64,
        wanted: &ProfileType,
        cancel: &Cancel,
    ) -> Result<Merged> {
        let series: Vec<(Series, usize, Vec<Matcher>)> = self
            .select_samples(matchers)?
            .into_iter()
            .filter_map(|(s, on_samples)| {
                let column = s.kind.column(name_of(&s), wanted)?;
                Some((s, column, on_samples))
            })
            .collect();
        let budget = Budget::start(self.options().query, cancel);
        budget.series(series.len())?;
        let _trim = TrimTables(self.tables());
        let averaged = wanted.aggregation() == Aggregation::Average;
        let mut merger = Merger::new();
        let mut memory = MemoryHold::new(self.query_memory());
        let (mut profiles, mut merged_series) = (0, 0);
        // A few series per thread at a time: what is held at once is the
        // merge so far and one chunk of per-series profiles, not one
        // profile per selected series.
        let chunk = rayon::current_num_threads().max(1) * SERIES_PER_THREAD;
        for batch in series.chunks(chunk) {
            let per_series = batch
                .par_iter()
                .map(|(s, column, on_samples)| {
                    self.merge_series(s, *column, on_samples, (from, to), averaged, &budget)
                })
                .collect::<Result<Vec<_>>>()?;
            // The batch is held beside the merge until it is added.
            let batch_bytes: usize = per_series
                .iter()
                .flatten()
                .map(|(_, p)| profile_heap_bytes(p))
                .sum();
            memory.resize(merger.heap_bytes() + batch_bytes)?;
            for (count, profile) in per_series.into_iter().flatten() {
                merger.add(&profile)?;
                profiles += count;
                merged_series += 1;
            }
            memory.resize(merger.heap_bytes())?;
            budget.stacks(merger.samples())?;
            budget.time()?;
        }
        let profile = merger.finish();
        Ok(Merged {
            profile_type: profile.is_some().then(|| wanted.clone()),
            profile,
            profiles,
            series: merged_series,
            other_types: Vec::new(),
            averaged,
            memory,
        })
    }

    /// One series' values of sample type `column` in `[from, to]`, of the
    /// samples that `on_samples` accept, rebuilt into a profile with that
    /// one sample type, with the number of stored profiles in it; `None`
    /// when it has none in the range. With `averaged`, values are the
    /// average over its profiles.
    fn merge_series(
        &self,
        series: &Series,
        column: usize,
        on_samples: &[Matcher],
        (from, to): (u64, u64),
        averaged: bool,
        budget: &Budget,
    ) -> Result<Option<(usize, Profile)>> {
        let types = series.kind.sample_types.len();
        let table = self.tables().get(series.id)?;
        let keep = self.stack_filter(&table, on_samples);
        let mut sums: Vec<i64> = Vec::new();
        let (mut profiles, mut meta, mut time_nanos, mut duration_nanos) =
            (0usize, None, 0i64, 0i64);
        for entry in self.scan(series.id, from, to) {
            let (_, value) = entry?;
            let reduced = blob::decode(&value)?;
            if reduced
                .samples
                .first()
                .is_some_and(|s| s.values.len() != types)
            {
                continue;
            }
            budget.profile()?;
            profiles += 1;
            meta.get_or_insert(reduced.meta);
            if reduced.time_nanos != 0 && (time_nanos == 0 || reduced.time_nanos < time_nanos) {
                time_nanos = reduced.time_nanos;
            }
            duration_nanos = duration_nanos.saturating_add(reduced.duration_nanos);
            for sample in &reduced.samples {
                let row = (sample.stack as usize).saturating_sub(1);
                if keep
                    .as_ref()
                    .is_some_and(|k| !k.get(row).copied().unwrap_or(false))
                {
                    continue;
                }
                if sums.len() <= row {
                    sums.resize(row + 1, 0);
                }
                sums[row] = sums[row].saturating_add(sample.values[column]);
            }
        }
        let Some(meta) = meta else {
            return Ok(None);
        };
        if averaged {
            for value in &mut sums {
                *value = average(*value, profiles);
            }
        }
        let symbols = table.lock().unwrap_or_else(PoisonError::into_inner);
        let profile = symbols
            .table
            .build_column(meta, column, &sums, time_nanos, duration_nanos);
        Ok(Some((profiles, profile)))
    }
}

impl Store {
    /// Which stacks of a series' table `on_samples` accept; `None`: all.
    fn stack_filter(&self, table: &SharedTable, on_samples: &[Matcher]) -> Option<Vec<bool>> {
        if on_samples.is_empty() {
            return None;
        }
        let symbols = table.lock().unwrap_or_else(PoisonError::into_inner);
        Some(symbols.table.stack_filter(on_samples))
    }

    /// Per profile of `series` in `[from, to]`: its time and the total of
    /// sample type `column` over the samples that `on_samples` accept.
    /// Without sample matchers this reads blob headers only.
    pub fn column_totals(
        &self,
        series: &Series,
        column: usize,
        on_samples: &[Matcher],
        from: u64,
        to: u64,
    ) -> Result<Vec<(u64, i64)>> {
        let table = self.tables().get(series.id)?;
        let Some(keep) = self.stack_filter(&table, on_samples) else {
            return Ok(self
                .totals(series.id, from, to)?
                .into_iter()
                .map(|(time, totals)| (time, totals.get(column).copied().unwrap_or(0)))
                .collect());
        };
        self.scan(series.id, from, to)
            .map(|entry| {
                let (time, value) = entry?;
                let reduced = blob::decode(&value)?;
                let total = reduced
                    .samples
                    .iter()
                    .filter(|s| {
                        keep.get((s.stack as usize).wrapping_sub(1))
                            .copied()
                            .unwrap_or(false)
                    })
                    .filter_map(|s| s.values.get(column))
                    .fold(0i64, |sum, v| sum.saturating_add(*v));
                Ok((time, total))
            })
            .collect()
    }
}

impl Store {
    /// Like [`Store::column_totals`], split by the value of label `label`:
    /// the series' own when it has one, else each sample's (`""` for
    /// samples without it). Calls `each` with (value, time, total) per
    /// profile and value, one profile at a time, for each profile that has
    /// samples with the value: the caller keeps what it needs (one running
    /// total per value, say) and no more. Stops at the first error of
    /// `each`.
    pub fn for_each_grouped_total<E: From<crate::Error>>(
        &self,
        series: &Series,
        column: usize,
        on_samples: &[Matcher],
        label: &str,
        (from, to): (u64, u64),
        mut each: impl FnMut(&str, u64, i64) -> std::result::Result<(), E>,
    ) -> std::result::Result<(), E> {
        if let Some(value) = series.labels.get(label) {
            for (time, total) in self.column_totals(series, column, on_samples, from, to)? {
                each(value, time, total)?;
            }
            return Ok(());
        }
        let table = self.tables().get(series.id)?;
        let (keep, groups) = {
            let symbols = table.lock().unwrap_or_else(PoisonError::into_inner);
            let keep = symbols.table.stack_filter(on_samples);
            (keep, symbols.table.stack_labels(label))
        };
        for entry in self.scan(series.id, from, to) {
            let (time, value) = entry?;
            let reduced = blob::decode(&value)?;
            let mut sums: BTreeMap<&str, i64> = BTreeMap::new();
            for sample in &reduced.samples {
                let row = (sample.stack as usize).wrapping_sub(1);
                if !keep.get(row).copied().unwrap_or(false) {
                    continue;
                }
                let group = groups.get(row).map_or("", String::as_str);
                let sum = sums.entry(group).or_default();
                *sum = sum.saturating_add(sample.values.get(column).copied().unwrap_or(0));
            }
            for (group, sum) in sums {
                each(group, time, sum)?;
            }
        }
        Ok(())
    }
}

/// Trims the loaded symbol tables when dropped: at the end of a merge,
/// when it no longer holds the tables it loaded.
struct TrimTables<'a>(&'a crate::tables::Tables);

impl Drop for TrimTables<'_> {
    fn drop(&mut self) {
        self.0.trim();
    }
}

/// About how many heap bytes `profile` holds: its encoded size, which
/// counts every id and string once, times what decoded structs add
/// (each sample's and location's own allocations, 8-byte ids).
fn profile_heap_bytes(profile: &Profile) -> usize {
    use prost::Message;
    /// Decoded size over encoded size, an estimate: an id is 8 bytes
    /// decoded against 1-3 encoded, and every sample and location is an
    /// allocation of its own.
    const DECODED_PER_ENCODED: usize = 4;
    profile.encoded_len() * DECODED_PER_ENCODED
}

/// The profile name of a series: its `__name__`.
fn name_of(series: &Series) -> &str {
    series.labels.get(NAME_LABEL).unwrap_or("")
}

/// The types of `present` other than `chosen`.
fn others(present: &[PresentType], chosen: Option<&ProfileType>) -> Vec<ProfileType> {
    present
        .iter()
        .map(|p| &p.profile_type)
        .filter(|t| Some(*t) != chosen)
        .cloned()
        .collect()
}

/// `sum` over `count` snapshots, rounded to the nearest integer.
fn average(sum: i64, count: usize) -> i64 {
    let count = count.max(1) as i64;
    (sum + sum.signum() * count / 2) / count
}
