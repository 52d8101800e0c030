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
//!  "details": [{"mapping": "/usr/bin/app", "file": "main.go", "lines": [[12, 0, 120]]},
//!              {"mapping": "/usr/bin/app", "file": "parse.go", "lines": [[40, 90, 90], [41, 30, 30]]}],
//!  "frame_kinds": {"python": [1]},
//!  "stacks": [{"frames": [0, 1], "value": 120}]}
//! ```
//!
//! `groups` is there with `group_by=LABEL` (and `limit`): the label's
//! biggest values by total, then the rest as "other", shares of `total`
//! (see [`super::groups`]; for snapshots a group's total is, like
//! `total`, the average over each series' profiles, added across series).
//!
//! `details` is aligned with `names`: per name, the filename of the
//! mapping of the first location seen with it, the source file of the
//! first line seen with it (`null` when unknown), and per source line
//! (ascending; left out when none is known) `[line, self, total]`: the
//! value of the stacks whose leaf is that line, and of the stacks that
//! pass through it (each stack once, even when the function recurses).
//! At most [`MAX_LINES_PER_NAME`] lines per name, those of the biggest
//! total.
//!
//! `frame_kinds` lists, for each [`FrameKind`] but native, the names whose
//! frames it ran (by the mapping of the first location seen with them);
//! it is left out when every frame is native.
//!
//! A selection of 50,000 stacks 15 frames deep is written straight from
//! the merged profile: names (and their source lines) are resolved once
//! per location, stacks share one frame buffer, line totals are flat
//! vectors indexed by (name, line) ids resolved per location, and nothing
//! goes through folded text or `serde_json::Value`.

use std::{collections::hash_map::Entry, ops::Range};

use brasa_profile::{
    frame_kind::FrameKind,
    pprof::{Function, Sample},
    sample_type::{sample_type_index, sample_type_names},
    strings::{string, FrameNames},
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
/// Most source lines `details` lists per name, those of the biggest
/// total: a profile of a generated function with a line per sample must
/// not make the answer huge.
pub(crate) const MAX_LINES_PER_NAME: usize = 1_000;
/// A frame without a known source line (`Line::line` 0).
const NO_LINE: u32 = u32::MAX;

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
        details: Details {
            profile,
            table: &table,
        },
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
    /// Per name: its mapping, file and source lines.
    details: Details<'a>,
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

/// Where a name was first seen: the string indexes (0: none) of its
/// location's mapping filename and of its function's filename.
#[derive(Clone, Copy)]
struct NameInfo {
    mapping: i64,
    file: i64,
}

/// The values of one (name, source line) over the stacks.
#[derive(Clone, Copy, Default)]
struct LineStat {
    /// Of the stacks whose leaf it is.
    leaf: i64,
    /// Of the stacks it is in, each once.
    total: i64,
    /// One more than the index of the last stack counted in `total`;
    /// 0 before the first.
    last: u32,
}

/// Stacks of one sample type as indexes into a table of names. Samples
/// with the same locations (they differ only in labels) are one stack.
struct StackTable {
    names: NameTable,
    kinds: FrameKinds,
    /// Per name index, where it was first seen.
    info: Vec<NameInfo>,
    /// `[line, self, total]` of every name's source lines, by name and
    /// then line, back to back.
    lines: Vec<[i64; 3]>,
    /// Each name's part of `lines`, by name index.
    line_ranges: Vec<Range<usize>>,
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
        // The (name, line) ids of `frames`, leaf first; none when no frame
        // has a line.
        let with_lines = !locations.line_keys.is_empty();
        let mut keys: Vec<u32> = Vec::new();
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
                        let range = locations.range(location);
                        frames.extend_from_slice(&locations.ids[range.clone()]);
                        if with_lines {
                            keys.extend_from_slice(&locations.keys[range]);
                        }
                    }
                    frames[start..].reverse();
                    slot.insert(stacks.len());
                    stacks.push((start..frames.len(), value));
                }
            }
        }
        let (lines, line_ranges) = line_details(&locations, &keys, &stacks);
        stacks.retain(|(_, value)| *value != 0);
        Self {
            names: locations.names,
            kinds: locations.kinds,
            info: locations.info,
            lines,
            line_ranges,
            frames,
            stacks,
        }
    }
}

/// Per name, its source lines' `[line, self, total]` (by name, then
/// line; at most [`MAX_LINES_PER_NAME`] per name, those of the biggest
/// total) and each name's range of them. One pass over the distinct
/// stacks, reading `keys`, their frames' (name, line) ids leaf first (at
/// the stacks' ranges of `frames`; empty when no frame has a line).
fn line_details(
    locations: &LocationNames,
    keys: &[u32],
    stacks: &[(Range<usize>, i64)],
) -> (Vec<[i64; 3]>, Vec<Range<usize>>) {
    if keys.is_empty() {
        return (Vec::new(), vec![0..0; locations.names.len()]);
    }
    let mut stats = vec![LineStat::default(); locations.line_keys.len()];
    for (stack, (range, value)) in stacks.iter().enumerate() {
        if *value == 0 {
            continue;
        }
        let stamp = stack as u32 + 1;
        let keys = &keys[range.clone()];
        if let Some(stat) = keys.first().and_then(|&k| stats.get_mut(k as usize)) {
            stat.leaf = stat.leaf.saturating_add(*value);
        }
        for &key in keys {
            let Some(stat) = stats.get_mut(key as usize) else {
                continue; // NO_LINE
            };
            if stat.last != stamp {
                stat.last = stamp;
                stat.total = stat.total.saturating_add(*value);
            }
        }
    }
    let mut seen: Vec<(u32, [i64; 3])> = locations
        .line_keys
        .iter()
        .zip(&stats)
        .filter(|(_, stat)| stat.last != 0)
        .map(|(&(name, line), stat)| (name, [line, stat.leaf, stat.total]))
        .collect();
    seen.sort_unstable_by_key(|&(name, [line, ..])| (name, line));
    let mut lines: Vec<[i64; 3]> = Vec::with_capacity(seen.len());
    let mut ranges = vec![0..0; locations.names.len()];
    for group in seen.chunk_by(|a, b| a.0 == b.0) {
        let start = lines.len();
        lines.extend(group.iter().map(|(_, line)| *line));
        if group.len() > MAX_LINES_PER_NAME {
            let kept = &mut lines[start..];
            kept.sort_unstable_by_key(|&[line, _, total]| (std::cmp::Reverse(total), line));
            lines.truncate(start + MAX_LINES_PER_NAME);
            lines[start..].sort_unstable_by_key(|&[line, ..]| line);
        }
        ranges[group[0].0 as usize] = start..lines.len();
    }
    (lines, ranges)
}

impl Serialize for StackTable {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.stacks.iter().map(|(range, value)| StackJson {
            frames: &self.frames[range.clone()],
            value: *value,
        }))
    }
}

/// The `details` of a profile's names, aligned with `names`.
struct Details<'a> {
    /// The profile whose string table the names' details index.
    profile: &'a Profile,
    /// The names, their details and their lines.
    table: &'a StackTable,
}

/// One entry of `details`.
#[derive(Serialize)]
struct DetailJson<'a> {
    /// The mapping's filename (the binary); `null` when unknown.
    mapping: Option<&'a str>,
    /// The function's source file; `null` when unknown.
    file: Option<&'a str>,
    /// `[line, self, total]` per source line, by line.
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    lines: &'a [[i64; 3]],
}

impl Serialize for Details<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let known = |index: i64| Some(string(self.profile, index)).filter(|s| !s.is_empty());
        let table = self.table;
        serializer.collect_seq(
            table
                .info
                .iter()
                .zip(&table.line_ranges)
                .map(|(info, range)| DetailJson {
                    mapping: known(info.mapping),
                    file: known(info.file),
                    lines: &table.lines[range.clone()],
                }),
        )
    }
}

/// Every location's frames (leaf first) as indexes into `names`, and
/// their (name, source line) ids.
struct LocationNames {
    names: NameTable,
    kinds: FrameKinds,
    /// Per name index, where it was first seen.
    info: Vec<NameInfo>,
    /// Frames of every location, back to back.
    ids: Vec<u32>,
    /// Per frame of `ids`, its index in `line_keys`; [`NO_LINE`] without a
    /// known line.
    keys: Vec<u32>,
    /// Each distinct (name index, line) of the frames.
    line_keys: Vec<(u32, i64)>,
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
        let mut info: Vec<NameInfo> = Vec::new();
        let mut ids: Vec<u32> = Vec::new();
        let mut keys: Vec<u32> = Vec::new();
        let mut line_keys: Vec<(u32, i64)> = Vec::new();
        let mut key_ids: HashMap<(u32, i64), u32> = HashMap::default();
        let functions: HashMap<u64, &Function> =
            profile.function.iter().map(|f| (f.id, f)).collect();
        let mappings: HashMap<u64, (FrameKind, i64)> = profile
            .mapping
            .iter()
            .map(|m| {
                let kind = FrameKind::of_mapping(string(profile, m.filename));
                (m.id, (kind, m.filename))
            })
            .collect();
        // Per frame of a location: its function's filename and its line.
        let mut sources: Vec<(i64, i64)> = Vec::new();
        let mut ranges: Vec<(u64, Range<u32>)> = Vec::with_capacity(profile.location.len());
        for location in &profile.location {
            // FrameNames resolves whole samples; a one-location sample gives
            // this location's frames, inlined ones included.
            let one = Sample {
                location_id: vec![location.id],
                ..Sample::default()
            };
            let start = ids.len() as u32;
            let (kind, mapping) = mappings
                .get(&location.mapping_id)
                .copied()
                .unwrap_or((FrameKind::Native, 0));
            // The lines FrameNames names, innermost first: those whose
            // function has a name. None when it names the address.
            sources.clear();
            sources.extend(location.line.iter().filter_map(|line| {
                let function = functions.get(&line.function_id)?;
                (!string(profile, function.name).is_empty())
                    .then_some((function.filename, line.line))
            }));
            for (at, name) in frame_names.leaf_first(&one).enumerate() {
                let (file, line) = sources.get(at).copied().unwrap_or((0, 0));
                let known = names.len();
                let id = names.id(name);
                if id as usize == known {
                    if kind != FrameKind::Native {
                        kinds.kinds.push((id, kind));
                    }
                    info.push(NameInfo { mapping, file });
                }
                ids.push(id);
                keys.push(if line > 0 {
                    *key_ids.entry((id, line)).or_insert_with(|| {
                        line_keys.push((id, line));
                        line_keys.len() as u32 - 1
                    })
                } else {
                    NO_LINE
                });
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
            info,
            ids,
            keys,
            line_keys,
            index,
        }
    }

    /// Where the frames of location `id` (leaf first) are in `ids` and
    /// `keys`; empty for an unknown id.
    fn range(&self, id: u64) -> Range<usize> {
        let range = match &self.index {
            LocationIndex::Dense(dense) => usize::try_from(id).ok().and_then(|i| dense.get(i)),
            LocationIndex::Sparse(map) => map.get(&id),
        };
        range.map_or(0..0, |r| r.start as usize..r.end as usize)
    }
}

#[cfg(test)]
mod tests {
    use brasa_profile::pprof::{Function, Label, Line, Location, Mapping, ValueType};
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

    /// `main` calls `work` (line 20), which recurses (line 21) and has
    /// `inner` inlined at line 22; `helper` has neither line nor file, and
    /// its mapping no filename.
    fn lines_profile() -> Profile {
        let strings = [
            "",
            "samples",
            "count",
            "main",
            "work",
            "inner",
            "helper",
            "main.go",
            "work.go",
            "/usr/bin/app",
        ];
        let function = |id: u64, name: i64, filename: i64| Function {
            id,
            name,
            filename,
            ..Function::default()
        };
        // (function, line) innermost first.
        let location = |id: u64, mapping_id: u64, lines: &[(u64, i64)]| Location {
            id,
            mapping_id,
            line: lines
                .iter()
                .map(|&(function_id, line)| Line {
                    function_id,
                    line,
                    ..Line::default()
                })
                .collect(),
            ..Location::default()
        };
        let sample = |location_id: Vec<u64>, value: i64| Sample {
            location_id,
            value: vec![value],
            ..Sample::default()
        };
        Profile {
            string_table: strings.iter().map(|s| s.to_string()).collect(),
            sample_type: vec![ValueType { r#type: 1, unit: 2 }],
            mapping: vec![
                Mapping {
                    id: 1,
                    filename: 9,
                    ..Mapping::default()
                },
                Mapping {
                    id: 2,
                    ..Mapping::default()
                },
            ],
            function: vec![
                function(1, 3, 7),
                function(2, 4, 8),
                function(3, 5, 8),
                function(4, 6, 0),
            ],
            location: vec![
                location(1, 1, &[(1, 10)]),
                location(2, 1, &[(2, 20)]),
                location(3, 1, &[(2, 21)]),
                location(4, 1, &[(3, 30), (2, 22)]),
                location(5, 2, &[(4, 0)]),
            ],
            // Leaf first.
            sample: vec![
                sample(vec![4, 3, 2, 1], 5),
                sample(vec![2, 2, 1], 3),
                sample(vec![3, 2, 1], 2),
                sample(vec![5, 1], 4),
                sample(vec![1], 1),
            ],
            ..Profile::default()
        }
    }

    #[test]
    fn details_give_each_name_its_binary_file_and_lines() {
        let body = profile_json(&lines_profile(), &cpu_summary(), None, None).unwrap();
        let json: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(json["names"], json!(["main", "work", "inner", "helper"]));
        assert_eq!(
            json["details"],
            json!([
                // Every stack passes through main:10; one ends there.
                { "mapping": "/usr/bin/app", "file": "main.go", "lines": [[10, 1, 15]] },
                // work:20 twice in the recursive stack counts it once.
                {
                    "mapping": "/usr/bin/app",
                    "file": "work.go",
                    "lines": [[20, 3, 10], [21, 2, 7], [22, 0, 5]],
                },
                // Inlined: the innermost line of its location is the leaf.
                { "mapping": "/usr/bin/app", "file": "work.go", "lines": [[30, 5, 5]] },
                { "mapping": null, "file": null },
            ])
        );
        let plain = profile_json(&sparse_profile(), &cpu_summary(), None, None).unwrap();
        let plain: Value = serde_json::from_slice(&plain).unwrap();
        let none = json!({ "mapping": null, "file": null });
        assert_eq!(plain["details"], json!([none, none, none]));
    }

    #[test]
    fn a_name_of_too_many_lines_keeps_those_of_the_biggest_total() {
        let mut profile = lines_profile();
        let lines = MAX_LINES_PER_NAME as i64 + 5;
        for line in 1..=lines {
            let id = 100 + line as u64;
            profile.location.push(Location {
                id,
                line: vec![Line {
                    function_id: 4,
                    line,
                    ..Line::default()
                }],
                ..Location::default()
            });
            profile.sample.push(Sample {
                location_id: vec![id],
                value: vec![line],
                ..Sample::default()
            });
        }
        let body = profile_json(&profile, &cpu_summary(), None, None).unwrap();
        let json: Value = serde_json::from_slice(&body).unwrap();
        let helper = json["details"][3]["lines"].as_array().unwrap();
        assert_eq!(helper.len(), MAX_LINES_PER_NAME);
        assert_eq!(helper[0], json!([6, 6, 6]), "the 5 smallest are dropped");
        assert_eq!(helper[MAX_LINES_PER_NAME - 1], json!([lines, lines, lines]));
    }
}
