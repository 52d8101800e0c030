//! Reading names out of a validated profile.

use rustc_hash::FxHashMap as HashMap;

use brasa_proto::pprof::{Location, Mapping, Profile, Sample};

/// The string at `index`, or "" when out of range (only possible for
/// profiles that skipped validation).
pub fn string(profile: &Profile, index: i64) -> &str {
    usize::try_from(index)
        .ok()
        .and_then(|i| profile.string_table.get(i))
        .map_or("", String::as_str)
}

/// Resolves samples to frame names, caching each location's names.
///
/// A location with inlined code yields several frames (innermost first);
/// one with no symbol information yields `file+0xOFFSET` or `0xADDRESS`, so
/// unsymbolized code is kept and still distinguishable.
pub struct FrameNames<'p> {
    profile: &'p Profile,
    by_location: HashMap<u64, Vec<String>>,
}

impl<'p> FrameNames<'p> {
    /// Prepares name resolution for `profile`.
    pub fn new(profile: &'p Profile) -> Self {
        let functions: HashMap<u64, &str> = profile
            .function
            .iter()
            .map(|f| (f.id, string(profile, f.name)))
            .collect();
        let mappings: HashMap<u64, &Mapping> = profile.mapping.iter().map(|m| (m.id, m)).collect();
        let by_location = profile
            .location
            .iter()
            .map(|loc| (loc.id, location_names(profile, loc, &functions, &mappings)))
            .collect();
        Self {
            profile,
            by_location,
        }
    }

    /// The profile names are resolved in.
    pub fn profile(&self) -> &'p Profile {
        self.profile
    }

    /// The frames of a sample, leaf first.
    pub fn leaf_first<'s>(&'s self, sample: &'s Sample) -> impl Iterator<Item = &'s str> + 's {
        sample
            .location_id
            .iter()
            .filter_map(|id| self.by_location.get(id))
            .flat_map(|names| names.iter().map(String::as_str))
    }

    /// The frames of a sample, root first (the order flame graphs draw).
    pub fn root_first<'s>(&'s self, sample: &'s Sample) -> Vec<&'s str> {
        let mut frames: Vec<&str> = self.leaf_first(sample).collect();
        frames.reverse();
        frames
    }
}

fn location_names(
    profile: &Profile,
    loc: &Location,
    functions: &HashMap<u64, &str>,
    mappings: &HashMap<u64, &Mapping>,
) -> Vec<String> {
    let names: Vec<String> = loc
        .line
        .iter()
        .filter_map(|line| functions.get(&line.function_id))
        .filter(|name| !name.is_empty())
        .map(|name| name.to_string())
        .collect();
    if !names.is_empty() {
        return names;
    }
    let mapping = mappings.get(&loc.mapping_id);
    let name = match mapping {
        Some(m) if !string(profile, m.filename).is_empty() => {
            let file = string(profile, m.filename);
            let base = file.rsplit('/').next().unwrap_or(file);
            let offset = loc
                .address
                .wrapping_sub(m.memory_start)
                .wrapping_add(m.file_offset);
            format!("{base}+{offset:#x}")
        }
        _ => format!("{:#x}", loc.address),
    };
    vec![name]
}
