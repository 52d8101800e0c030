//! The JSON form of a merged profile that the page draws from
//! (`/api/v1/profile?format=json`): every distinct frame name once in
//! `names`, each stack as indexes into it, root first.
//!
//! ```json
//! {"profile_type": "process_cpu:cpu:nanoseconds:cpu:nanoseconds",
//!  "sample_type": "cpu/nanoseconds", "sample_types": ["cpu/nanoseconds"],
//!  "total": 120, "profiles": 3, "series": 2, "aggregation": "sum",
//!  "groups": [{"value": "api", "total": 100, "share": 0.8333},
//!             {"other": true, "total": 20, "share": 0.1667, "groups_in_other": 2}],
//!  "names": ["main", "parse"],
//!  "frame_kinds": {"python": [1]},
//!  "stacks": [{"frames": [0, 1], "value": 120}]}
//! ```
//!
//! `groups` is there with `group_by=LABEL` (and `limit`): the label's
//! biggest values by total, then the rest as "other", shares of `total`
//! (see [`super::groups`]; for snapshots a group's total is, like
//! `total`, the average over each series' profiles, added across series).
//!
//! `frame_kinds` lists, for each [`FrameKind`] but native, the names whose
//! frames it ran (by the mapping of the first location seen with them);
//! it is left out when every frame is native.
//!
//! A selection of 50,000 stacks 15 frames deep is written straight from
//! the merged profile: names are resolved once per location, stacks share
//! one frame buffer, and nothing goes through folded text or
//! `serde_json::Value`.

use std::{collections::hash_map::Entry, ops::Range};

use brasa_profile::{
    frame_kind::FrameKind,
    pprof::Sample,
    sample_type::{sample_type_index, sample_type_names},
    strings::FrameNames,
    top::total,
    Profile,
};
use rustc_hash::FxHashMap as HashMap;
use serde::{
    ser::{SerializeMap, Serializer},
    Serialize,
};

use super::{
    groups::{GroupJson, Ranking},
    name_table::NameTable,
};
use crate::{selection::Summary, Error, Result};

/// Largest location id, as a multiple of the location count, for which
/// locations are looked up in a vector indexed by id instead of a map.
/// Profiles number their locations from 1, so this is the usual case.
const DENSE_IDS_FACTOR: usize = 4;

/// The body of `format=json` for `profile`, in `sample_type` (its default
/// when `None`), with the `groups` of `group_by` when given.
pub(crate) fn profile_json(
    profile: &Profile,
    summary: &Summary,
    sample_type: Option<&str>,
    groups: Option<&Ranking>,
) -> Result<Vec<u8>> {
    let index = sample_type_index(profile, sample_type)?;
    let types = sample_type_names(profile);
    let table = StackTable::new(profile, index);
    let other_types: Vec<String> = summary.other_types.iter().map(|t| t.id()).collect();
    let total = total(profile, index);
    let body = ProfileJson {
        profile_type: summary.profile_type.id(),
        sample_type: &types[index],
        sample_types: &types,
        total,
        profiles: summary.profiles,
        series: summary.series,
        other_types: &other_types,
        aggregation: if summary.averaged { "average" } else { "sum" },
        groups: groups.map(|g| g.groups(total)),
        names: &table.names,
        frame_kinds: &table.kinds,
        stacks: &table,
    };
    serde_json::to_vec(&body).map_err(|e| Error::Internal(format!("writing JSON: {e}")))
}

#[derive(Serialize)]
struct ProfileJson<'a> {
    /// The profile type's ID.
    profile_type: String,
    sample_type: &'a str,
    sample_types: &'a [String],
    total: i64,
    profiles: usize,
    series: usize,
    /// The selection's other profile types (IDs), not in this answer.
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    other_types: &'a [String],
    /// `sum` over the range, or `average` for snapshots (in-use memory,
    /// goroutines).
    aggregation: &'static str,
    /// The values of `group_by`, biggest first, then "other".
    #[serde(skip_serializing_if = "Option::is_none")]
    groups: Option<Vec<GroupJson<'a>>>,
    names: &'a NameTable,
    #[serde(skip_serializing_if = "FrameKinds::all_native")]
    frame_kinds: &'a FrameKinds,
    stacks: &'a StackTable,
}

/// The kind of each name that is not native, by name index.
#[derive(Default)]
struct FrameKinds {
    kinds: Vec<(u32, FrameKind)>,
}

impl FrameKinds {
    fn all_native(&self) -> bool {
        self.kinds.is_empty()
    }
}

impl Serialize for FrameKinds {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        for kind in FrameKind::OTHERS {
            let ids: Vec<u32> = self
                .kinds
                .iter()
                .filter(|(_, k)| *k == kind)
                .map(|(id, _)| *id)
                .collect();
            if !ids.is_empty() {
                map.serialize_entry(kind.label(), &ids)?;
            }
        }
        map.end()
    }
}

#[derive(Serialize)]
struct StackJson<'a> {
    frames: &'a [u32],
    value: i64,
}

/// Stacks of one sample type as indexes into a table of names. Samples
/// with the same locations (they differ only in labels) are one stack.
struct StackTable {
    names: NameTable,
    kinds: FrameKinds,
    /// Frames of every stack, root first, back to back.
    frames: Vec<u32>,
    /// Each stack's part of `frames`, and its value.
    stacks: Vec<(Range<usize>, i64)>,
}

impl StackTable {
    fn new(profile: &Profile, sample_type: usize) -> Self {
        let locations = LocationNames::new(profile);
        let mut by_locations: HashMap<&[u64], usize> = HashMap::default();
        by_locations.reserve(profile.sample.len());
        let mut frames: Vec<u32> = Vec::new();
        let mut stacks: Vec<(Range<usize>, i64)> = Vec::new();
        for sample in &profile.sample {
            let value = sample.value.get(sample_type).copied().unwrap_or(0);
            if value == 0 {
                continue;
            }
            match by_locations.entry(&sample.location_id) {
                Entry::Occupied(stack) => {
                    let sum = &mut stacks[*stack.get()].1;
                    *sum = sum.saturating_add(value);
                }
                Entry::Vacant(slot) => {
                    let start = frames.len();
                    for &location in &sample.location_id {
                        frames.extend_from_slice(locations.leaf_first(location));
                    }
                    frames[start..].reverse();
                    slot.insert(stacks.len());
                    stacks.push((start..frames.len(), value));
                }
            }
        }
        stacks.retain(|(_, value)| *value != 0);
        Self {
            names: locations.names,
            kinds: locations.kinds,
            frames,
            stacks,
        }
    }
}

impl Serialize for StackTable {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.stacks.iter().map(|(range, value)| StackJson {
            frames: &self.frames[range.clone()],
            value: *value,
        }))
    }
}

/// Every location's frames (leaf first) as indexes into `names`.
struct LocationNames {
    names: NameTable,
    kinds: FrameKinds,
    /// Frames of every location, back to back.
    ids: Vec<u32>,
    /// Where a location's frames are in `ids`, by location id.
    index: LocationIndex,
}

enum LocationIndex {
    /// Indexed by location id.
    Dense(Vec<Range<u32>>),
    Sparse(HashMap<u64, Range<u32>>),
}

impl LocationNames {
    fn new(profile: &Profile) -> Self {
        let frame_names = FrameNames::new(profile);
        let mut names = NameTable::default();
        let mut kinds = FrameKinds::default();
        let mut ids: Vec<u32> = Vec::new();
        let mapping_kinds: HashMap<u64, FrameKind> = profile
            .mapping
            .iter()
            .map(|m| {
                let filename = profile.string_table.get(m.filename as usize);
                (
                    m.id,
                    FrameKind::of_mapping(filename.map_or("", String::as_str)),
                )
            })
            .collect();
        let mut ranges: Vec<(u64, Range<u32>)> = Vec::with_capacity(profile.location.len());
        for location in &profile.location {
            // FrameNames resolves whole samples; a one-location sample gives
            // this location's frames, inlined ones included.
            let one = Sample {
                location_id: vec![location.id],
                ..Sample::default()
            };
            let start = ids.len() as u32;
            let kind = mapping_kinds
                .get(&location.mapping_id)
                .copied()
                .unwrap_or(FrameKind::Native);
            for name in frame_names.leaf_first(&one) {
                let known = names.len();
                let id = names.id(name);
                if id as usize == known && kind != FrameKind::Native {
                    kinds.kinds.push((id, kind));
                }
                ids.push(id);
            }
            ranges.push((location.id, start..ids.len() as u32));
        }
        let max_id = ranges.iter().map(|(id, _)| *id).max().unwrap_or(0);
        let index = if max_id as usize <= DENSE_IDS_FACTOR * ranges.len() {
            let mut dense = vec![0..0; max_id as usize + 1];
            for (id, range) in ranges {
                dense[id as usize] = range;
            }
            LocationIndex::Dense(dense)
        } else {
            LocationIndex::Sparse(ranges.into_iter().collect())
        };
        Self {
            names,
            kinds,
            ids,
            index,
        }
    }

    /// The frames of location `id`, leaf first; none for an unknown id.
    fn leaf_first(&self, id: u64) -> &[u32] {
        let range = match &self.index {
            LocationIndex::Dense(dense) => usize::try_from(id).ok().and_then(|i| dense.get(i)),
            LocationIndex::Sparse(map) => map.get(&id),
        };
        range.map_or(&[], |r| &self.ids[r.start as usize..r.end as usize])
    }
}

#[cfg(test)]
mod tests {
    use brasa_profile::pprof::{Function, Label, Line, Location, ValueType};
    use serde_json::{json, Value};

    use super::*;

    /// Location ids far apart (the map lookup), an inlined location, two
    /// samples that differ only in a label, and a zero sample.
    fn sparse_profile() -> Profile {
        let strings = ["", "samples", "count", "main", "outer", "inlined", "pid"];
        let function = |id: u64, name: i64| Function {
            id,
            name,
            ..Function::default()
        };
        let location = |id: u64, functions: &[u64]| Location {
            id,
            line: functions
                .iter()
                .map(|&function_id| Line {
                    function_id,
                    ..Line::default()
                })
                .collect(),
            ..Location::default()
        };
        let sample = |location_id: Vec<u64>, value: i64, pid: i64| Sample {
            location_id,
            value: vec![value],
            label: vec![Label {
                key: 6,
                num: pid,
                ..Label::default()
            }],
        };
        Profile {
            string_table: strings.iter().map(|s| s.to_string()).collect(),
            sample_type: vec![ValueType { r#type: 1, unit: 2 }],
            function: vec![function(1, 3), function(2, 4), function(3, 5)],
            // Lines are innermost first: `inlined` was inlined into `outer`.
            location: vec![location(7, &[1]), location(90_000, &[3, 2])],
            sample: vec![
                sample(vec![90_000, 7], 5, 100),
                sample(vec![90_000, 7], 2, 200),
                sample(vec![7], 3, 100),
                sample(vec![7], 0, 300),
            ],
            ..Profile::default()
        }
    }

    /// The summary of one CPU profile of one series.
    fn cpu_summary() -> Summary {
        Summary {
            title: "all profiles".to_owned(),
            profiles: 1,
            series: 1,
            profile_type: brasa_profile::profile_type::ProfileType::parse(
                "process_cpu:samples:count:cpu:nanoseconds",
            )
            .unwrap(),
            other_types: Vec::new(),
            averaged: false,
        }
    }

    #[test]
    fn stacks_are_name_indexes_root_first() {
        let summary = cpu_summary();
        let body = profile_json(&sparse_profile(), &summary, None, None).unwrap();
        let json: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(json["sample_type"], "samples/count");
        assert_eq!(
            json["profile_type"],
            "process_cpu:samples:count:cpu:nanoseconds"
        );
        assert_eq!(json["total"], 10);
        assert_eq!(json["names"], json!(["main", "inlined", "outer"]));
        assert_eq!(
            json["stacks"],
            json!([
                { "frames": [0, 2, 1], "value": 7 },
                { "frames": [0], "value": 3 },
            ])
        );
    }

    #[test]
    fn names_in_pseudo_mappings_carry_their_frame_kind() {
        let summary = cpu_summary();
        let plain = profile_json(&sparse_profile(), &summary, None, None).unwrap();
        let plain: Value = serde_json::from_slice(&plain).unwrap();
        assert!(plain.get("frame_kinds").is_none(), "all native: {plain}");

        // `main` (location 7) in the Python mapping, the rest in a file.
        let mut profile = sparse_profile();
        profile.string_table.push("[python]".to_owned());
        profile.string_table.push("/usr/bin/python3.11".to_owned());
        let count = profile.string_table.len() as i64;
        profile.mapping = vec![
            brasa_profile::pprof::Mapping {
                id: 1,
                filename: count - 2,
                ..Default::default()
            },
            brasa_profile::pprof::Mapping {
                id: 2,
                filename: count - 1,
                ..Default::default()
            },
        ];
        profile.location[0].mapping_id = 1;
        profile.location[1].mapping_id = 2;
        let body = profile_json(&profile, &summary, None, None).unwrap();
        let json: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(json["names"], json!(["main", "inlined", "outer"]));
        assert_eq!(json["frame_kinds"], json!({ "python": [0] }));
    }
}
