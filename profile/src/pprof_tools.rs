//! Profiles as `go tool pprof` reads them best, for answers that pprof
//! fetches from a URL.
//!
//! pprof asks the source for remote symbolization (`POST …/symbolz`) for
//! every mapping that does not say it has functions, and fails when the
//! source has no such endpoint; and it names the profile's program after
//! the first mapping (`File:`). Brasa symbolizes where it collects, so by
//! the time a profile is served there is nothing left to resolve, and the
//! program is the mapping the stacks start in.

use std::collections::HashMap;

use brasa_proto::pprof::Profile;

/// `profile`, ready for pprof: every mapping marked as symbolized and the
/// program's mapping first ([`program_first`]).
pub fn for_pprof(mut profile: Profile) -> Profile {
    for mapping in &mut profile.mapping {
        mapping.has_functions = true;
    }
    program_first(&mut profile);
    profile
}

/// Moves the program's mapping to the front, renumbering mappings 1..=n in
/// their new order. The program is the user-space mapping that holds the
/// outermost frame (`_start`, `runtime.goexit`, …) of the most samples;
/// a profile without one keeps its order.
pub fn program_first(profile: &mut Profile) {
    let location_mapping: HashMap<u64, u64> = profile
        .location
        .iter()
        .map(|l| (l.id, l.mapping_id))
        .collect();
    let user_space: HashMap<u64, bool> = profile
        .mapping
        .iter()
        .map(|m| {
            let name = crate::strings::string(profile, m.filename);
            (m.id, !name.starts_with('['))
        })
        .collect();
    let mut weight: HashMap<u64, u128> = HashMap::new();
    for sample in &profile.sample {
        let root = sample
            .location_id
            .iter()
            .rev()
            .filter_map(|id| location_mapping.get(id))
            .find(|m| user_space.get(m).copied().unwrap_or(false));
        if let Some(&mapping) = root {
            let value = sample
                .value
                .iter()
                .map(|v| v.unsigned_abs() as u128)
                .sum::<u128>();
            *weight.entry(mapping).or_default() += value.max(1);
        }
    }
    let Some(program) = weight
        .into_iter()
        .max_by_key(|&(id, w)| (w, std::cmp::Reverse(id)))
        .map(|(id, _)| id)
    else {
        return;
    };
    if let Some(at) = profile.mapping.iter().position(|m| m.id == program) {
        let mapping = profile.mapping.remove(at);
        profile.mapping.insert(0, mapping);
    }
    let renumbered: HashMap<u64, u64> = profile
        .mapping
        .iter_mut()
        .enumerate()
        .map(|(i, m)| {
            let old = m.id;
            m.id = i as u64 + 1;
            (old, m.id)
        })
        .collect();
    for location in &mut profile.location {
        if let Some(&id) = renumbered.get(&location.mapping_id) {
            location.mapping_id = id;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::builder::{FunctionInfo, MappingInfo, ProfileBuilder};
    use brasa_proto::pprof::Line;

    #[test]
    fn the_mapping_stacks_start_in_comes_first_and_all_say_they_have_functions() {
        let mut b = ProfileBuilder::new(&[("cpu", "nanoseconds")]);
        let mapping = |b: &mut ProfileBuilder, name, start| {
            b.mapping(MappingInfo {
                memory_start: start,
                memory_limit: start + 0x1000,
                filename: name,
                ..MappingInfo::default()
            })
        };
        let libc = mapping(&mut b, "/usr/lib/libc.so.6", 0x7000);
        let kernel = mapping(&mut b, "[kernel.kallsyms]", 0xffff_0000);
        let program = mapping(&mut b, "/usr/bin/app", 0x1000);
        let frame = |b: &mut ProfileBuilder, name, mapping, address| {
            let function_id = b.function(FunctionInfo {
                name,
                ..FunctionInfo::default()
            });
            let line = Line {
                function_id,
                ..Line::default()
            };
            b.location(mapping, address, &[line])
        };
        let sys = frame(&mut b, "sys_read", kernel, 0xffff_0010);
        let read = frame(&mut b, "read", libc, 0x7010);
        let main = frame(&mut b, "main", program, 0x1010);
        let start = frame(&mut b, "_start", program, 0x1000);
        // Leaf first: kernel, libc, then the program down to _start.
        b.add_sample(&[sys, read, main, start], &[10], &[]);
        b.add_sample(&[read], &[3], &[]);
        let served = for_pprof(b.build());
        let names: Vec<&str> = served
            .mapping
            .iter()
            .map(|m| crate::strings::string(&served, m.filename))
            .collect();
        assert_eq!(
            names,
            ["/usr/bin/app", "/usr/lib/libc.so.6", "[kernel.kallsyms]"]
        );
        assert!(served.mapping.iter().all(|m| m.has_functions));
        let ids: Vec<u64> = served.mapping.iter().map(|m| m.id).collect();
        assert_eq!(ids, [1, 2, 3]);
        // Locations follow their mappings' new ids.
        let start_location = served
            .location
            .iter()
            .find(|l| l.address == 0x1000)
            .unwrap();
        assert_eq!(start_location.mapping_id, 1);
        crate::validate::validate(&served).unwrap();
    }
}
