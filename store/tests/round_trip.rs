//! Arbitrary profiles go through the store's write path, are read back
//! from disk after reopening, and compare equal to what went in.
//!
//! "Equal" is what a pprof tool can tell apart, with what the store
//! documents that it normalises:
//! - ids and the order of the string table are not kept: references are
//!   compared by what they refer to;
//! - samples with the same stack and labels (in any order) are summed into
//!   one, and samples whose values are all zero are left out;
//! - the period is kept only with a period type;
//! - comments, `drop_frames`, `keep_frames`, `doc_url` and locations'
//!   `is_folded` are not stored (the generator leaves them empty).
//!
//! The generator gives each mapping its own address range, as every real
//! profile does: the profile builder that rebuilds profiles merges
//! mappings that share range and names.

use brasa_profile::profile_type::Kind;
use brasa_profile::{
    pprof::{Function, Label, Line, Location, Mapping, Sample, ValueType},
    top::total,
    validate::validate,
    Profile,
};
use brasa_store::{labels::Labels, Error, Store, StoreOptions};
use proptest::{prelude::*, sample::Index};

mod common;

/// A sample label by (key, str, num, unit) string indices.
type LabelSpec = (Index, Index, i64, Index);

/// What a generated profile is made of; indices pick from the lists.
#[derive(Debug, Clone)]
struct Spec {
    strings: Vec<String>,
    sample_types: Vec<(Index, Index)>,
    period: Option<((Index, Index), i64)>,
    period_without_type: i64,
    default_sample_type: Index,
    time_nanos: i64,
    duration_nanos: i64,
    functions: Vec<(Index, Index, Index, i64)>,
    mappings: Vec<(u32, u64, u64, Index, Index, [bool; 4])>,
    locations: Vec<LocationSpec>,
    samples: Vec<(Vec<Index>, Vec<i64>, Vec<LabelSpec>)>,
}

fn spec() -> impl Strategy<Value = Spec> {
    let strings = prop::collection::vec("[a-z_./:]{0,6}", 1..8);
    let pair = || (any::<Index>(), any::<Index>());
    let head = (
        strings,
        prop::collection::vec(pair(), 1..4),
        prop::option::of((pair(), any::<i64>())),
        any::<i64>(),
        any::<Index>(),
        any::<i64>(),
        any::<i64>(),
    );
    let functions = prop::collection::vec(
        (any::<Index>(), any::<Index>(), any::<Index>(), any::<i64>()),
        0..5,
    );
    let mappings = prop::collection::vec(
        (
            any::<u32>(),
            any::<u64>(),
            any::<u64>(),
            any::<Index>(),
            any::<Index>(),
            any::<[bool; 4]>(),
        ),
        0..3,
    );
    let line = (any::<Index>(), any::<i64>(), any::<i64>());
    let locations = prop::collection::vec(
        (
            prop::option::of(any::<Index>()),
            any::<u64>(),
            prop::collection::vec(line, 0..3),
        ),
        1..6,
    );
    // Values small enough that sums never saturate.
    let value = -1_000_000_000_000i64..1_000_000_000_000;
    let label = (any::<Index>(), any::<Index>(), any::<i64>(), any::<Index>());
    let samples = prop::collection::vec(
        (
            prop::collection::vec(any::<Index>(), 0..5),
            prop::collection::vec(value, 3),
            prop::collection::vec(label, 0..3),
        ),
        1..10,
    );
    (head, functions, mappings, locations, samples).prop_map(
        |(head, functions, mappings, locations, samples)| {
            let (strings, sample_types, period, period_without_type, default, time, duration) =
                head;
            Spec {
                strings,
                sample_types,
                period,
                period_without_type,
                default_sample_type: default,
                time_nanos: time,
                duration_nanos: duration,
                functions,
                mappings,
                locations,
                samples,
            }
        },
    )
}

/// The pprof profile a spec describes, with ids that are neither dense nor
/// in order, so that the store has to renumber them.
fn build(spec: &Spec) -> Profile {
    let mut string_table = vec![String::new()];
    string_table.extend(spec.strings.iter().cloned());
    let s = |i: &Index| 1 + i.index(spec.strings.len()) as i64;
    let vt = |(t, u): &(Index, Index)| ValueType {
        r#type: s(t),
        unit: s(u),
    };
    let function_id = |i: usize| 100 + 7 * i as u64;
    let mapping_id = |i: usize| 50 - i as u64;
    let location_id = |i: usize| 1_000 + 3 * i as u64;
    let function = spec
        .functions
        .iter()
        .enumerate()
        .map(|(i, (name, system_name, filename, start_line))| Function {
            id: function_id(i),
            name: s(name),
            system_name: s(system_name),
            filename: s(filename),
            start_line: *start_line,
        })
        .collect();
    let mapping = spec
        .mappings
        .iter()
        .enumerate()
        .map(|(i, (start, size, offset, filename, build_id, flags))| {
            let memory_start = ((i as u64) << 40) | u64::from(*start);
            Mapping {
                id: mapping_id(i),
                memory_start,
                memory_limit: memory_start.wrapping_add(*size),
                file_offset: *offset,
                filename: s(filename),
                build_id: s(build_id),
                has_functions: flags[0],
                has_filenames: flags[1],
                has_line_numbers: flags[2],
                has_inline_frames: flags[3],
            }
        })
        .collect();
    let location = spec
        .locations
        .iter()
        .enumerate()
        .map(|(i, (mapping, address, lines))| Location {
            id: location_id(i),
            mapping_id: match mapping {
                Some(m) if !spec.mappings.is_empty() => mapping_id(m.index(spec.mappings.len())),
                _ => 0,
            },
            address: *address,
            line: lines
                .iter()
                .filter(|_| !spec.functions.is_empty())
                .map(|(f, line, column)| Line {
                    function_id: function_id(f.index(spec.functions.len())),
                    line: *line,
                    column: *column,
                })
                .collect(),
            is_folded: false,
        })
        .collect();
    let types = spec.sample_types.len();
    let sample = spec
        .samples
        .iter()
        .map(|(locations, values, labels)| Sample {
            location_id: locations
                .iter()
                .map(|l| location_id(l.index(spec.locations.len())))
                .collect(),
            value: values[..types].to_vec(),
            label: labels
                .iter()
                .map(|(key, str, num, unit)| Label {
                    key: s(key),
                    str: s(str),
                    num: *num,
                    num_unit: s(unit),
                })
                .collect(),
        })
        .collect();
    let (period_type, period) = match &spec.period {
        Some((pt, period)) => (Some(vt(pt)), *period),
        None => (None, spec.period_without_type),
    };
    Profile {
        sample_type: spec.sample_types.iter().map(vt).collect(),
        sample,
        mapping,
        location,
        function,
        string_table,
        time_nanos: spec.time_nanos,
        duration_nanos: spec.duration_nanos,
        period_type,
        period,
        default_sample_type: s(&spec.default_sample_type),
        ..Profile::default()
    }
}

type CanonFunction = (String, String, String, i64);
type CanonMapping = (u64, u64, u64, String, String, [bool; 4]);
type CanonLocation = (Option<CanonMapping>, u64, Vec<(CanonFunction, i64, i64)>);
type CanonLabel = (String, String, i64, String);
/// A sample's identity: its stack and sorted labels.
type CanonKey = (Vec<CanonLocation>, Vec<CanonLabel>);
/// A location's mapping, address and lines.
type LocationSpec = (Option<Index>, u64, Vec<(Index, i64, i64)>);

/// A profile with every reference replaced by what it refers to, and the
/// store's normalisations applied (see the module docs).
#[derive(Debug, PartialEq, Eq)]
struct Canonical {
    sample_types: Vec<(String, String)>,
    period: Option<((String, String), i64)>,
    default_sample_type: String,
    time_nanos: i64,
    duration_nanos: i64,
    /// (stack, sorted labels) → values, sorted.
    samples: Vec<(CanonKey, Vec<i64>)>,
}

fn canonical(p: &Profile) -> Canonical {
    let s = |i: i64| p.string_table[i as usize].clone();
    let vt = |v: &ValueType| (s(v.r#type), s(v.unit));
    let function = |id: u64| {
        let f = p.function.iter().find(|f| f.id == id).unwrap();
        (s(f.name), s(f.system_name), s(f.filename), f.start_line)
    };
    let mapping = |id: u64| {
        let m = p.mapping.iter().find(|m| m.id == id)?;
        let flags = [
            m.has_functions,
            m.has_filenames,
            m.has_line_numbers,
            m.has_inline_frames,
        ];
        Some((
            m.memory_start,
            m.memory_limit,
            m.file_offset,
            s(m.filename),
            s(m.build_id),
            flags,
        ))
    };
    let location = |id: &u64| {
        let l = p.location.iter().find(|l| l.id == *id).unwrap();
        let lines = l
            .line
            .iter()
            .map(|line| (function(line.function_id), line.line, line.column))
            .collect();
        (mapping(l.mapping_id), l.address, lines)
    };
    let mut samples: Vec<(CanonKey, Vec<i64>)> = Vec::new();
    for sample in &p.sample {
        let mut labels: Vec<CanonLabel> = sample
            .label
            .iter()
            .map(|l| (s(l.key), s(l.str), l.num, s(l.num_unit)))
            .collect();
        labels.sort();
        let key = (sample.location_id.iter().map(location).collect(), labels);
        match samples.iter_mut().find(|(k, _)| *k == key) {
            Some((_, values)) => {
                for (sum, v) in values.iter_mut().zip(&sample.value) {
                    *sum = sum.saturating_add(*v);
                }
            }
            None => samples.push((key, sample.value.clone())),
        }
    }
    samples.retain(|(_, values)| values.iter().any(|&v| v != 0));
    samples.sort();
    Canonical {
        sample_types: p.sample_type.iter().map(vt).collect(),
        period: p.period_type.as_ref().map(|pt| (vt(pt), p.period)),
        default_sample_type: s(p.default_sample_type),
        time_nanos: p.time_nanos,
        duration_nanos: p.duration_nanos,
        samples,
    }
}

proptest! {
    // Each case opens a store twice: enough cases to cover the record
    // kinds' corners without making the suite slow.
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn profiles_read_back_equal_to_what_was_written(
        specs in prop::collection::vec(spec(), 1..4),
    ) {
        let profiles: Vec<Profile> = specs.iter().map(build).collect();
        for p in &profiles {
            validate(p).unwrap();
        }
        let dir = tempfile::tempdir().unwrap();
        let labels = Labels::new([("__name__", "process_cpu"), ("service", "api")]).unwrap();
        {
            // One series per kind: later profiles reuse the records of
            // earlier ones.
            let store = Store::open(dir.path(), StoreOptions::default()).unwrap();
            for (time, p) in (1..).zip(&profiles) {
                store.ingest(&labels, p, time).unwrap();
            }
        }
        // Reopened: every record is decoded from disk.
        let store = common::once_released(
            || Store::open(dir.path(), StoreOptions::default()),
            |e| matches!(e, Error::Locked { .. }),
        );
        let kinds: std::collections::BTreeSet<Kind> = profiles.iter().map(Kind::of).collect();
        let series = store.series_ids();
        prop_assert_eq!(series.len(), kinds.len());
        // Every series' blobs and totals, in the order written.
        let mut stored = Vec::new();
        for &id in &series {
            let blobs = store.scan(id, 0, u64::MAX).map(Result::unwrap);
            let totals = store.totals(id, 0, u64::MAX).unwrap();
            for ((time, blob), (_, totals)) in blobs.zip(totals) {
                stored.push((time, id, blob, totals));
            }
        }
        stored.sort_by_key(|(time, ..)| *time);
        prop_assert_eq!(stored.len(), profiles.len());
        for (original, (_, id, blob, stored_totals)) in profiles.iter().zip(&stored) {
            let back = store.load(*id, blob).unwrap();
            validate(&back).unwrap();
            prop_assert_eq!(canonical(&back), canonical(original));
            let expected: Vec<i64> =
                (0..original.sample_type.len()).map(|i| total(original, i)).collect();
            prop_assert_eq!(stored_totals, &expected);
        }
    }
}
