//! Choosing which of a profile's sample types to look at.

use brasa_proto::pprof::Profile;

use crate::{strings::string, Error, Result};

/// The `type/unit` names of a profile's sample types, e.g. `["samples/count", "cpu/nanoseconds"]`.
pub fn sample_type_names(profile: &Profile) -> Vec<String> {
    profile
        .sample_type
        .iter()
        .map(|vt| {
            format!(
                "{}/{}",
                string(profile, vt.r#type),
                string(profile, vt.unit)
            )
        })
        .collect()
}

/// Index of the sample type to use.
///
/// `wanted` is a type name (`cpu`) or `type/unit` (`cpu/nanoseconds`). With
/// `None`, the profile's `default_sample_type` wins, else the last type, as in
/// `go tool pprof`.
pub fn sample_type_index(profile: &Profile, wanted: Option<&str>) -> Result<usize> {
    let names = sample_type_names(profile);
    let no_such = |wanted: &str| Error::NoSuchSampleType {
        wanted: wanted.to_owned(),
        available: if names.is_empty() {
            "none".to_owned()
        } else {
            names.join(", ")
        },
    };
    match wanted {
        Some(wanted) => names
            .iter()
            .position(|full| {
                full == wanted || full.split_once('/').is_some_and(|(t, _)| t == wanted)
            })
            .ok_or_else(|| no_such(wanted)),
        None => {
            if names.is_empty() {
                return Err(no_such("(default)"));
            }
            let default = profile.default_sample_type;
            let by_default = (default != 0)
                .then(|| {
                    profile
                        .sample_type
                        .iter()
                        .position(|vt| vt.r#type == default)
                })
                .flatten();
            Ok(by_default.unwrap_or(names.len() - 1))
        }
    }
}

/// `profile` with one sample type, the one at `index`: every sample keeps
/// that value alone, and samples without it are dropped. Profiles whose
/// other types differ (a pprof and the folded stacks written from it) then
/// merge.
pub fn only(profile: &Profile, index: usize) -> Profile {
    let mut one = profile.clone();
    one.sample_type = profile
        .sample_type
        .get(index)
        .cloned()
        .into_iter()
        .collect();
    one.default_sample_type = 0;
    one.sample
        .retain_mut(|sample| match sample.value.get(index) {
            Some(&value) => {
                sample.value = vec![value];
                true
            }
            None => false,
        });
    one
}

/// The name of CPU profiles (`process_cpu{service="api"}`), as Pyroscope
/// and Parca call them.
pub const CPU_PROFILE_NAME: &str = "process_cpu";

/// The profile name a profile's sample types call for, for a profile that
/// arrives without one: `process_cpu` (CPU time, or bare sample counts),
/// `wall`, `memory` (allocations or in-use space), `goroutine`, or
/// `contention` (Go's mutex and block profiles, which carry the same
/// types); else its first sample type.
pub fn profile_name(profile: &Profile) -> String {
    let types: Vec<&str> = profile
        .sample_type
        .iter()
        .map(|vt| string(profile, vt.r#type))
        .collect();
    let has = |wanted: &[&str]| types.iter().any(|t| wanted.contains(t));
    let name = if has(&["cpu"]) {
        CPU_PROFILE_NAME
    } else if has(&["wall"]) {
        "wall"
    } else if has(&[
        "alloc_objects",
        "alloc_space",
        "inuse_objects",
        "inuse_space",
        "space",
        "objects",
    ]) {
        "memory"
    } else if has(&["goroutine", "goroutines"]) {
        "goroutine"
    } else if has(&["contentions", "delay"]) {
        "contention"
    } else {
        match types.first() {
            Some(&first) if first != "samples" && !first.is_empty() => first,
            _ => CPU_PROFILE_NAME,
        }
    };
    name.to_owned()
}

/// The profile name of a Pyroscope legacy `/ingest` name suffix
/// (`app.cpu`, `app.inuse_space`, …), `None` for a suffix that is not one.
pub fn legacy_suffix_name(suffix: &str) -> Option<&'static str> {
    Some(match suffix {
        "cpu" | "itimer" => CPU_PROFILE_NAME,
        "wall" => "wall",
        "alloc_objects" | "alloc_space" | "inuse_objects" | "inuse_space" => "memory",
        "goroutines" => "goroutine",
        "mutex_count" | "mutex_duration" => "mutex",
        "block_count" | "block_duration" => "block",
        _ => return None,
    })
}

/// Whether values of the sample type `name` (`inuse_space` or
/// `inuse_space/bytes`) are snapshots, which a range averages, rather than
/// amounts over time, which a range adds up: in-use memory and goroutine
/// counts are; CPU, wall time and allocations are not.
pub fn is_gauge(name: &str) -> bool {
    let r#type = name.split_once('/').map_or(name, |(t, _)| t);
    matches!(
        r#type,
        "inuse_space" | "inuse_objects" | "goroutine" | "goroutines"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ProfileBuilder;

    #[test]
    fn names_follow_the_sample_types() {
        let name = |types: &[(&str, &str)]| profile_name(&ProfileBuilder::new(types).build());
        assert_eq!(
            name(&[("samples", "count"), ("cpu", "nanoseconds")]),
            "process_cpu"
        );
        assert_eq!(name(&[("samples", "count")]), "process_cpu");
        assert_eq!(
            name(&[("samples", "count"), ("wall", "nanoseconds")]),
            "wall"
        );
        assert_eq!(
            name(&[
                ("alloc_objects", "count"),
                ("alloc_space", "bytes"),
                ("inuse_space", "bytes")
            ]),
            "memory"
        );
        assert_eq!(name(&[("goroutine", "count")]), "goroutine");
        assert_eq!(
            name(&[("contentions", "count"), ("delay", "nanoseconds")]),
            "contention"
        );
        assert_eq!(name(&[("exceptions", "count")]), "exceptions");
        assert_eq!(legacy_suffix_name("inuse_space"), Some("memory"));
        assert_eq!(legacy_suffix_name("itimer"), Some("process_cpu"));
        assert_eq!(legacy_suffix_name("json"), None);
    }

    #[test]
    fn snapshots_are_gauges() {
        assert!(is_gauge("inuse_space/bytes") && is_gauge("goroutine"));
        assert!(!is_gauge("cpu/nanoseconds") && !is_gauge("alloc_space/bytes"));
    }
}
