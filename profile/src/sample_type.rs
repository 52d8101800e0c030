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

/// What a Pyroscope legacy `/ingest` name suffix (`app.cpu`,
/// `app.inuse_space`, ...) says about folded stacks sent under it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LegacySuffix {
    /// The profile name (`process_cpu`, `memory`, ...).
    pub name: &'static str,
    /// The sample type and unit of the values.
    pub sample: (&'static str, &'static str),
    /// The period type and unit.
    pub period: (&'static str, &'static str),
    /// Whether the folded values are sample counts, each worth one period
    /// of `sample` (CPU and wall time), rather than amounts of `sample`.
    pub counts_samples: bool,
}

/// The suffix a legacy name without one means: CPU.
pub const LEGACY_CPU: LegacySuffix = LegacySuffix {
    name: CPU_PROFILE_NAME,
    sample: ("cpu", "nanoseconds"),
    period: ("cpu", "nanoseconds"),
    counts_samples: true,
};

/// What a Pyroscope legacy `/ingest` name suffix means, `None` for a
/// suffix that is not one (then it is part of the application name).
/// Types and units are those of Go's runtime profiles, as Pyroscope maps
/// them.
pub fn legacy_suffix(suffix: &str) -> Option<LegacySuffix> {
    let amount = |name, sample, period| LegacySuffix {
        name,
        sample,
        period,
        counts_samples: false,
    };
    let space = ("space", "bytes");
    Some(match suffix {
        "cpu" | "itimer" => LEGACY_CPU,
        "wall" => LegacySuffix {
            name: "wall",
            sample: ("wall", "nanoseconds"),
            period: ("wall", "nanoseconds"),
            counts_samples: true,
        },
        "alloc_objects" => amount("memory", ("alloc_objects", "count"), space),
        "alloc_space" => amount("memory", ("alloc_space", "bytes"), space),
        "inuse_objects" => amount("memory", ("inuse_objects", "count"), space),
        "inuse_space" => amount("memory", ("inuse_space", "bytes"), space),
        "goroutines" => amount("goroutine", ("goroutine", "count"), ("goroutine", "count")),
        "mutex_count" => amount("mutex", ("contentions", "count"), ("contentions", "count")),
        "mutex_duration" => amount("mutex", ("delay", "nanoseconds"), ("contentions", "count")),
        "block_count" => amount("block", ("contentions", "count"), ("contentions", "count")),
        "block_duration" => amount("block", ("delay", "nanoseconds"), ("contentions", "count")),
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
        let inuse = legacy_suffix("inuse_space").unwrap();
        assert_eq!(
            (inuse.name, inuse.sample),
            ("memory", ("inuse_space", "bytes"))
        );
        assert_eq!(legacy_suffix("itimer"), Some(LEGACY_CPU));
        assert_eq!(legacy_suffix("json"), None);
    }

    #[test]
    fn snapshots_are_gauges() {
        assert!(is_gauge("inuse_space/bytes") && is_gauge("goroutine"));
        assert!(!is_gauge("cpu/nanoseconds") && !is_gauge("alloc_space/bytes"));
    }
}
