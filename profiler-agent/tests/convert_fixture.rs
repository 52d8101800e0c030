//! The converter on a recorded fixture (`testdata/workloads/recorded/`),
//! without BPF: the same input a live recording feeds it.

mod common;

use std::collections::HashMap;

use brasa_agent::{
    convert::{
        convert, ConvertOptions, NoSymbols, Resolve, KERNEL_MAPPING_NAME, UNMAPPED_FUNCTION_NAME,
    },
    raw::{RawMapping, RawProfile},
};
use brasa_profile::{codec, Profile};
use brasa_symbolizer::{
    addr::{AbsAddr, FileOffset},
    Lines, SourceLine, Symbolized,
};

fn fixture() -> RawProfile {
    let path = common::workloads_dir().join("recorded/c-cpu.raw");
    RawProfile::parse(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn string(profile: &Profile, index: i64) -> &str {
    &profile.string_table[index as usize]
}

fn label(profile: &Profile, sample: usize, key: &str) -> Option<i64> {
    profile.sample[sample]
        .label
        .iter()
        .find(|l| string(profile, l.key) == key)
        .map(|l| l.num)
}

#[test]
fn unsymbolized_fixture_keeps_every_sample_address_and_mapping() {
    let raw = fixture();
    let profile = convert(&raw, &mut NoSymbols, &ConvertOptions::default()).profile;
    codec::decode(&codec::encode(&profile)).expect("valid pprof");

    // Types and period from the frequency.
    let types: Vec<(&str, &str)> = profile
        .sample_type
        .iter()
        .map(|t| (string(&profile, t.r#type), string(&profile, t.unit)))
        .collect();
    assert_eq!(types, [("samples", "count"), ("cpu", "nanoseconds")]);
    let period = 1_000_000_000 / raw.frequency as i64;
    assert_eq!(profile.period, period);
    let period_type = profile.period_type.unwrap();
    assert_eq!(string(&profile, period_type.r#type), "cpu");
    assert_eq!(profile.duration_nanos, raw.duration_nanos);

    // Every sample, with both values and pid/tid labels.
    assert_eq!(profile.sample.len(), raw.samples.len());
    let total: i64 = profile.sample.iter().map(|s| s.value[0]).sum();
    assert_eq!(total as u64, raw.sample_count());
    for (index, sample) in profile.sample.iter().enumerate() {
        assert_eq!(sample.value[1], sample.value[0] * period);
        let pid = label(&profile, index, "pid").unwrap();
        assert!(raw.processes.contains_key(&(pid as u32)));
        assert!(label(&profile, index, "tid").is_some());
    }

    // Every frame is kept as an address in its mapping; the first mapping is
    // the main binary with its file offset and build id.
    let frames: usize = raw
        .samples
        .iter()
        .map(|s| s.user.len() + s.kernel.len())
        .sum();
    let located: usize = profile.sample.iter().map(|s| s.location_id.len()).sum();
    assert_eq!(located, frames);
    let main = &profile.mapping[0];
    let recorded_main = &raw.processes.values().next().unwrap()[0];
    assert_eq!(string(&profile, main.filename), recorded_main.path);
    assert_eq!(string(&profile, main.build_id), recorded_main.build_id);
    assert_eq!(
        (main.memory_start, main.memory_limit, main.file_offset),
        (
            recorded_main.range.start.0,
            recorded_main.range.end.0,
            recorded_main.range.offset.0
        )
    );
    let kernel = profile
        .mapping
        .iter()
        .find(|m| string(&profile, m.filename) == KERNEL_MAPPING_NAME)
        .expect("the fixture has kernel frames");
    assert!(!raw.kernel_build_id.is_empty());
    assert_eq!(string(&profile, kernel.build_id), raw.kernel_build_id);
    for location in &profile.location {
        // Without symbols every location's one function is its mapping's.
        assert_eq!(location.line.len(), 1);
        let function = &profile.function[location.line[0].function_id as usize - 1];
        if location.mapping_id == 0 {
            // Outside every executable mapping (here: loader start-up),
            // kept as an address.
            assert_eq!(string(&profile, function.name), UNMAPPED_FUNCTION_NAME);
            continue;
        }
        let mapping = &profile.mapping[location.mapping_id as usize - 1];
        let base = string(&profile, mapping.filename)
            .rsplit('/')
            .next()
            .unwrap();
        let expected = if base.starts_with('[') {
            base.to_owned()
        } else {
            format!("[{base}]")
        };
        assert_eq!(string(&profile, function.name), expected);
        assert!(
            (mapping.memory_start..mapping.memory_limit).contains(&location.address)
                || mapping.id == kernel.id
        );
    }
}

/// Names each file offset after itself; one chosen offset resolves to an
/// inlined callee inside its function.
#[derive(Default)]
struct OffsetNames {
    inlined_at: Option<FileOffset>,
    calls: Vec<(String, Vec<FileOffset>)>,
}

impl Resolve for OffsetNames {
    fn user(&mut self, _: u32, mapping: &RawMapping, offsets: &[FileOffset]) -> Vec<Symbolized> {
        self.calls.push((mapping.path.clone(), offsets.to_vec()));
        offsets
            .iter()
            .map(|&offset| {
                let outer = SourceLine::function(format!("fn_{offset:x}"));
                let lines = if Some(offset) == self.inlined_at {
                    Lines::from([SourceLine::function("inlined_callee"), outer])
                } else {
                    Lines::from([outer])
                };
                Symbolized::Frames(lines)
            })
            .collect()
    }

    fn kernel(&mut self, addrs: &[AbsAddr]) -> Vec<Symbolized> {
        addrs
            .iter()
            .map(|a| Symbolized::Frames(Lines::from([SourceLine::function(format!("k_{a:x}"))])))
            .collect()
    }
}

#[test]
fn resolver_gets_file_offsets_with_callers_inside_their_call() {
    let raw = fixture();
    let sample = &raw.samples[0];
    let mapping = raw
        .mapping_of(sample.pid, AbsAddr(sample.user[0]))
        .unwrap()
        .clone();
    let (start, offset) = (mapping.range.start.0, mapping.range.offset.0);
    let leaf_offset = FileOffset(sample.user[0] - start + offset);
    let caller_offset = FileOffset(sample.user[1] - 1 - start + offset);
    let mut resolver = OffsetNames {
        inlined_at: Some(leaf_offset),
        ..OffsetNames::default()
    };
    let profile = convert(&raw, &mut resolver, &ConvertOptions::default()).profile;

    // One batch per mapping, each offset once.
    let mut batches: HashMap<&str, usize> = HashMap::new();
    for (path, offsets) in &resolver.calls {
        *batches.entry(path).or_default() += 1;
        let mut unique = offsets.clone();
        unique.dedup();
        assert_eq!(unique.len(), offsets.len());
    }
    assert!(batches.values().all(|&n| n == 1), "{batches:?}");
    let main_batch = &resolver
        .calls
        .iter()
        .find(|(p, _)| *p == mapping.path)
        .unwrap()
        .1;
    assert!(main_batch.contains(&leaf_offset) && main_batch.contains(&caller_offset));

    // The leaf location holds the inlined callee first, then its function.
    let first = &profile.sample[0];
    let leaf_user = first.location_id.len() - sample.user.len();
    let location = &profile.location[first.location_id[leaf_user] as usize - 1];
    let names: Vec<&str> = location
        .line
        .iter()
        .map(|l| string(&profile, profile.function[l.function_id as usize - 1].name))
        .collect();
    assert_eq!(
        names,
        ["inlined_callee".to_owned(), format!("fn_{leaf_offset:x}")]
    );
    assert!(profile.mapping[0].has_inline_frames && profile.mapping[0].has_functions);

    // Kernel frames sit under the user frames: leaf side of the stack.
    let with_kernel = raw
        .samples
        .iter()
        .position(|s| !s.kernel.is_empty())
        .unwrap();
    let kernel_leaf = profile.sample[with_kernel].location_id[0];
    let kernel_location = &profile.location[kernel_leaf as usize - 1];
    let kernel_mapping = &profile.mapping[kernel_location.mapping_id as usize - 1];
    assert_eq!(
        string(&profile, kernel_mapping.filename),
        KERNEL_MAPPING_NAME
    );
    assert_eq!(kernel_location.address, raw.samples[with_kernel].kernel[0]);
}

#[test]
fn addresses_outside_every_mapping_stay_as_addresses() {
    let text = "brasa-raw-samples 1\nfrequency 100\nsample 9 9 2 user=1234,5678 kernel= lost\n";
    let raw = RawProfile::parse(text).unwrap();
    let profile = convert(&raw, &mut NoSymbols, &ConvertOptions::default()).profile;
    assert_eq!(profile.location.len(), 2);
    assert!(profile
        .location
        .iter()
        .all(|l| l.mapping_id == 0 && l.line.len() == 1));
    assert_eq!(profile.function.len(), 1, "one function for both addresses");
    assert_eq!(
        string(&profile, profile.function[0].name),
        UNMAPPED_FUNCTION_NAME
    );
    assert_eq!(profile.location[0].address, 0x1234);
    assert_eq!(
        profile.location[1].address, 0x5677,
        "caller moved into its call"
    );
    assert_eq!(profile.sample[0].value, vec![2, 20_000_000]);
}
