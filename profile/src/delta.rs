//! Deltas of cumulative profiles: what happened between two profiles of
//! one process whose counts only grow.
//!
//! Go's runtime counts allocations (`alloc_objects`, `alloc_space` in its
//! heap and allocs profiles) and lock waits (`contentions`, `delay` in its
//! mutex and block profiles) from the start of the process, so two
//! profiles fetched one interval apart differ by what the interval added.
//! [`delta`] subtracts the earlier one from the later one, stack by stack;
//! the other sample types of the same profile (`inuse_space`,
//! `inuse_objects`: snapshots) are kept as the later profile has them.
//!
//! ```
//! use brasa_profile::{delta::{delta, Delta}, folded::Folded};
//!
//! let typed = |text: &str| {
//!     let mut folded = Folded::parse(text).unwrap();
//!     folded.sample_type = Some(("alloc_space".to_owned(), "bytes".to_owned()));
//!     folded.to_profile()
//! };
//! let before = typed("main;parse 100\nmain;eval 50\n");
//! let after = typed("main;parse 160\nmain;eval 50\n");
//! let Delta::Change(change) = delta(&before, &after).unwrap() else { panic!() };
//! assert_eq!(Folded::from_profile(&change, 0).to_text(),
//!            "# brasa: sample_type=alloc_space unit=bytes\nmain;parse 60\n");
//! ```

use rustc_hash::FxHashMap as HashMap;

use brasa_proto::pprof::{Profile, Sample};

use crate::{sample_type::sample_type_names, strings::string, top::total, Error, Result};

/// Whether values of the sample type `name` (`alloc_space` or
/// `alloc_space/bytes`) are counted from the start of the process in the
/// profiles Go serves without `?seconds=` (`/debug/pprof/heap`, `allocs`,
/// `mutex`, `block`): allocations, lock contentions and their delay. CPU
/// profiles cover their own duration already; in-use memory and goroutines
/// are snapshots.
pub fn is_cumulative(name: &str) -> bool {
    let r#type = name.split_once('/').map_or(name, |(t, _)| t);
    matches!(
        r#type,
        "alloc_objects" | "alloc_space" | "contentions" | "delay"
    )
}

/// Whether any of `profile`'s sample types is cumulative
/// ([`is_cumulative`]): only then has it a [`delta`] to take.
pub fn has_cumulative(profile: &Profile) -> bool {
    sample_type_names(profile).iter().any(|n| is_cumulative(n))
}

/// What [`delta`] found.
#[derive(Debug, Clone, PartialEq)]
pub enum Delta {
    /// The later profile less the earlier one.
    Change(Box<Profile>),
    /// A cumulative total went down: the process restarted (or its
    /// profiles were reset) between the two, so the later profile is a new
    /// baseline and there is no change to tell.
    Restarted,
}

/// `current` less `previous`, two profiles of one process with the same
/// sample types, `previous` the earlier.
///
/// Samples are matched by identical stack (each location's address and
/// its lines' function names, files and line numbers) and identical sample
/// labels; ids may differ between the two, as they do between two answers
/// of Go's runtime. Only the cumulative sample types ([`is_cumulative`])
/// are subtracted, the others keep `current`'s values; a sample whose
/// values all come out zero (or below: they are clamped at zero) is
/// dropped. The change starts at `previous`'s time and lasts until
/// `current`'s.
///
/// A profile without cumulative sample types is its own change. When a
/// cumulative type's total is lower in `current` than in `previous`, the
/// answer is [`Delta::Restarted`].
///
/// # Errors
/// [`Error::SampleTypeMismatch`] when the sample types differ.
pub fn delta(previous: &Profile, current: &Profile) -> Result<Delta> {
    let (before, after) = (sample_type_names(previous), sample_type_names(current));
    if before != after {
        return Err(Error::SampleTypeMismatch {
            expected: before.join(", "),
            found: after.join(", "),
        });
    }
    let cumulative: Vec<usize> = (0..after.len())
        .filter(|&i| is_cumulative(&after[i]))
        .collect();
    if cumulative.is_empty() {
        return Ok(Delta::Change(Box::new(current.clone())));
    }
    if cumulative
        .iter()
        .any(|&i| total(current, i) < total(previous, i))
    {
        return Ok(Delta::Restarted);
    }

    let mut interner = Interner::default();
    let previous_keys = interner.locations(previous);
    let current_keys = interner.locations(current);
    // What is left to subtract, per stack and labels.
    let mut left: HashMap<SampleKey<'_>, Vec<i64>> = HashMap::default();
    for sample in &previous.sample {
        let values = left
            .entry(sample_key(previous, &previous_keys, sample))
            .or_insert_with(|| vec![0; cumulative.len()]);
        for (sum, &i) in values.iter_mut().zip(&cumulative) {
            *sum = sum.saturating_add(sample.value[i]);
        }
    }

    let mut change = current.clone();
    change.sample = current
        .sample
        .iter()
        .filter_map(|sample| {
            let mut sample = sample.clone();
            let key = sample_key(current, &current_keys, &sample);
            if let Some(rest) = left.get_mut(&key) {
                // Taken from what is left, so that samples repeated with
                // the same stack and labels are subtracted from once.
                for (rest, &i) in rest.iter_mut().zip(&cumulative) {
                    let taken = (*rest).clamp(0, sample.value[i].max(0));
                    sample.value[i] -= taken;
                    *rest -= taken;
                }
            }
            for value in &mut sample.value {
                *value = (*value).max(0);
            }
            sample.value.iter().any(|&v| v > 0).then_some(sample)
        })
        .collect();
    if previous.time_nanos > 0 && current.time_nanos > previous.time_nanos {
        change.time_nanos = previous.time_nanos;
        change.duration_nanos = current.time_nanos - previous.time_nanos;
    }
    Ok(Delta::Change(Box::new(change)))
}

/// A location by content: its address and, per line, the function's name,
/// its file and the line number.
#[derive(Hash, PartialEq, Eq)]
struct LocationKey<'p> {
    address: u64,
    lines: Vec<(&'p str, &'p str, i64)>,
}

/// A sample by content: its locations (as interned keys) and its labels
/// (key, string value, number, unit), sorted.
#[derive(Hash, PartialEq, Eq)]
struct SampleKey<'p> {
    stack: Vec<u32>,
    labels: Vec<(&'p str, &'p str, i64, &'p str)>,
}

/// Numbers each distinct location of both profiles once.
#[derive(Default)]
struct Interner<'p> {
    keys: HashMap<LocationKey<'p>, u32>,
}

impl<'p> Interner<'p> {
    /// Location id → interned key, for `profile`.
    fn locations(&mut self, profile: &'p Profile) -> HashMap<u64, u32> {
        let functions: HashMap<u64, (&str, &str)> = profile
            .function
            .iter()
            .map(|f| (f.id, (string(profile, f.name), string(profile, f.filename))))
            .collect();
        profile
            .location
            .iter()
            .map(|location| {
                let lines = location
                    .line
                    .iter()
                    .map(|line| {
                        let (name, file) = functions
                            .get(&line.function_id)
                            .copied()
                            .unwrap_or_default();
                        (name, file, line.line)
                    })
                    .collect();
                let key = LocationKey {
                    address: location.address,
                    lines,
                };
                let next = self.keys.len() as u32;
                (location.id, *self.keys.entry(key).or_insert(next))
            })
            .collect()
    }
}

fn sample_key<'p>(
    profile: &'p Profile,
    locations: &HashMap<u64, u32>,
    sample: &Sample,
) -> SampleKey<'p> {
    let stack = sample
        .location_id
        .iter()
        .map(|id| locations.get(id).copied().unwrap_or(u32::MAX))
        .collect();
    let mut labels: Vec<_> = sample
        .label
        .iter()
        .map(|l| {
            (
                string(profile, l.key),
                string(profile, l.str),
                l.num,
                string(profile, l.num_unit),
            )
        })
        .collect();
    labels.sort_unstable();
    SampleKey { stack, labels }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        builder::{FunctionInfo, ProfileBuilder},
        folded::Folded,
        pprof::Line,
    };

    /// Go's heap profile's sample types, in its order.
    const HEAP: [(&str, &str); 4] = [
        ("alloc_objects", "count"),
        ("alloc_space", "bytes"),
        ("inuse_objects", "count"),
        ("inuse_space", "bytes"),
    ];

    /// A sample to build: its stack (root first), values and labels.
    type Row<'a> = (&'a [&'a str], &'a [i64], &'a [(&'a str, &'a str)]);

    /// A profile of `samples` (stack root first, values, labels), with
    /// functions at addresses shifted by `id_shift` so that ids differ
    /// between profiles while contents match.
    fn profile(types: &[(&str, &str)], id_shift: usize, samples: &[Row<'_>]) -> Profile {
        let mut builder = ProfileBuilder::new(types);
        // Unrelated functions first: the ids of the real ones move.
        for i in 0..id_shift {
            let f = builder.function(FunctionInfo {
                name: &format!("unused{i}"),
                ..FunctionInfo::default()
            });
            builder.location(0, 0xdead + i as u64, &[line(f)]);
        }
        for (stack, values, labels) in samples {
            let locations: Vec<u64> = stack
                .iter()
                .rev()
                .map(|name| {
                    let f = builder.function(FunctionInfo {
                        name,
                        filename: "main.go",
                        ..FunctionInfo::default()
                    });
                    builder.location(0, 0x1000 + name.len() as u64, &[line(f)])
                })
                .collect();
            let labels: Vec<_> = labels
                .iter()
                .map(|(k, v)| builder.label_str(k, v))
                .collect();
            builder.add_sample(&locations, values, &labels);
        }
        builder.build()
    }

    fn line(function_id: u64) -> Line {
        Line {
            function_id,
            line: 7,
            ..Line::default()
        }
    }

    fn change(previous: &Profile, current: &Profile) -> Profile {
        match delta(previous, current).unwrap() {
            Delta::Change(p) => *p,
            Delta::Restarted => panic!("not a restart"),
        }
    }

    /// Stack (root first) → values, sorted.
    fn rows(profile: &Profile) -> Vec<(String, Vec<i64>)> {
        let names = crate::strings::FrameNames::new(profile);
        let mut rows: Vec<_> = profile
            .sample
            .iter()
            .map(|s| (names.root_first(s).join(";"), s.value.clone()))
            .collect();
        rows.sort();
        rows
    }

    #[test]
    fn cumulative_types_are_subtracted_and_snapshots_kept() {
        let before = profile(
            &HEAP,
            0,
            &[
                (&["main", "alloc"], &[10, 1000, 2, 200], &[]),
                (&["main", "idle"], &[5, 500, 5, 500], &[]),
            ],
        );
        let after = profile(
            &HEAP,
            3,
            &[
                (&["main", "alloc"], &[14, 1400, 1, 100], &[]),
                // Nothing allocated since, still live: kept for in-use.
                (&["main", "idle"], &[5, 500, 5, 500], &[]),
                (&["main", "new"], &[1, 64, 0, 0], &[]),
            ],
        );
        let change = change(&before, &after);
        assert_eq!(
            rows(&change),
            [
                ("main;alloc".to_owned(), vec![4, 400, 1, 100]),
                ("main;idle".to_owned(), vec![0, 0, 5, 500]),
                ("main;new".to_owned(), vec![1, 64, 0, 0]),
            ]
        );
        assert_eq!(sample_type_names(&change), sample_type_names(&after));
    }

    #[test]
    fn rows_with_nothing_new_are_dropped() {
        let types = [("contentions", "count"), ("delay", "nanoseconds")];
        let before = profile(
            &types,
            0,
            &[
                (&["main", "lock"], &[3, 300], &[]),
                (&["main", "wait"], &[9, 900], &[]),
            ],
        );
        let after = profile(
            &types,
            2,
            &[
                (&["main", "lock"], &[3, 300], &[]),
                (&["main", "wait"], &[12, 1000], &[]),
            ],
        );
        assert_eq!(
            rows(&change(&before, &after)),
            [("main;wait".to_owned(), vec![3, 100])]
        );
        assert!(change(&after, &after).sample.is_empty());
    }

    #[test]
    fn stacks_match_on_labels_too() {
        let types = [("alloc_space", "bytes")];
        let before = profile(&types, 0, &[(&["main", "a"], &[100], &[("pid", "1")])]);
        let after = profile(
            &types,
            1,
            &[
                (&["main", "a"], &[150], &[("pid", "1")]),
                (&["main", "a"], &[70], &[("pid", "2")]),
            ],
        );
        let change = change(&before, &after);
        let labelled: Vec<(i64, String)> = change
            .sample
            .iter()
            .map(|s| (s.value[0], string(&change, s.label[0].str).to_owned()))
            .collect();
        assert_eq!(labelled, [(50, "1".to_owned()), (70, "2".to_owned())]);
    }

    #[test]
    fn a_repeated_stack_is_subtracted_from_once() {
        let types = [("alloc_space", "bytes")];
        let before = profile(&types, 0, &[(&["main", "a"], &[100], &[])]);
        let mut after = profile(&types, 0, &[(&["main", "a"], &[80], &[])]);
        // The same stack twice (a profile that was not built by merging).
        let twice = after.sample[0].clone();
        after.sample.push(twice);
        let change = change(&before, &after);
        let values: Vec<i64> = change.sample.iter().map(|s| s.value[0]).collect();
        assert_eq!(values, [60]);
    }

    #[test]
    fn a_total_that_went_down_is_a_restart() {
        let types = [("alloc_space", "bytes")];
        let before = profile(&types, 0, &[(&["main", "a"], &[100], &[])]);
        let after = profile(
            &types,
            0,
            &[(&["main", "a"], &[10], &[]), (&["main", "b"], &[20], &[])],
        );
        assert_eq!(delta(&before, &after).unwrap(), Delta::Restarted);
    }

    #[test]
    fn snapshots_alone_are_their_own_change() {
        let goroutines = Folded::parse("main;park 12\n").unwrap().to_profile();
        assert!(!has_cumulative(&goroutines));
        assert_eq!(change(&goroutines, &goroutines), goroutines);
    }

    #[test]
    fn the_change_spans_the_two_times() {
        let types = [("alloc_space", "bytes")];
        let mut before = profile(&types, 0, &[(&["main", "a"], &[100], &[])]);
        let mut after = profile(&types, 0, &[(&["main", "a"], &[130], &[])]);
        before.time_nanos = 1_000;
        after.time_nanos = 11_000;
        let change = change(&before, &after);
        assert_eq!((change.time_nanos, change.duration_nanos), (1_000, 10_000));
    }

    #[test]
    fn other_sample_types_are_an_error() {
        let a = profile(&[("alloc_space", "bytes")], 0, &[]);
        let b = profile(&[("delay", "nanoseconds")], 0, &[]);
        assert!(matches!(
            delta(&a, &b),
            Err(Error::SampleTypeMismatch { .. })
        ));
    }

    #[test]
    fn cumulative_types_are_named() {
        for name in ["alloc_objects", "alloc_space/bytes", "contentions", "delay"] {
            assert!(is_cumulative(name), "{name}");
        }
        for name in ["inuse_space", "cpu/nanoseconds", "samples", "goroutine"] {
            assert!(!is_cumulative(name), "{name}");
        }
    }
}
