//! The profile model against `go tool pprof` itself: merge and top on the
//! Go `runtime/pprof` and pprof-rs fixtures must agree with the golden
//! outputs it made (see testdata/go/README.md and testdata/pprof-rs/README.md).

use std::{collections::HashMap, path::PathBuf};

use brasa_profile::{
    codec, folded::Folded, merge::merge, sample_type::sample_type_index, top::top, Profile,
};

fn fixture(name: &str) -> PathBuf {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../testdata");
    if name.contains('/') {
        path.join(name)
    } else {
        path.join("go").join(name)
    }
}

fn load(name: &str) -> Profile {
    codec::decode(&std::fs::read(fixture(name)).unwrap()).unwrap()
}

#[test]
fn merge_agrees_with_go_tool_pprof() {
    let a = load("cpu.pb.gz");
    let b = load("cpu-b.pb.gz");
    let ours = merge([&a, &b]).unwrap();
    let theirs = load("merged-by-go-pprof.pb.gz");
    assert_eq!(ours.sample_type.len(), 2);
    for index in 0..ours.sample_type.len() {
        let ours_folded = Folded::from_profile(&ours, index);
        assert_eq!(ours_folded, Folded::from_profile(&theirs, index));
        let inputs =
            Folded::from_profile(&a, index).total() + Folded::from_profile(&b, index).total();
        assert_eq!(ours_folded.total(), inputs);
    }
    assert_eq!(ours.period, theirs.period);
    assert_eq!(ours.duration_nanos, theirs.duration_nanos);
    // Deduplication: no more functions or locations than go's result has.
    assert!(ours.function.len() <= theirs.function.len());
    assert!(ours.location.len() <= theirs.location.len());
}

/// Parses `go tool pprof -top -unit=ns` rows: flat, flat%, sum%, cum, cum%, name.
fn go_top(golden: &str) -> HashMap<String, (i64, i64)> {
    let text = std::fs::read_to_string(fixture(golden)).unwrap();
    let ns = |s: &str| s.trim_end_matches("ns").parse::<i64>().unwrap();
    text.lines()
        .skip_while(|l| !l.trim_start().starts_with("flat"))
        .skip(1)
        .map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let name = fields[5..].join(" ");
            let name = name.trim_end_matches(" (inline)").to_owned();
            (name, (ns(fields[0]), ns(fields[3])))
        })
        .collect()
}

fn assert_top_matches(profile: &str, golden: &str, min_functions: usize) {
    let profile = load(profile);
    let cpu = sample_type_index(&profile, Some("cpu")).unwrap();
    let ours: HashMap<String, (i64, i64)> = top(&profile, cpu)
        .into_iter()
        .map(|e| (e.name, (e.flat, e.cum)))
        .collect();
    let theirs = go_top(golden);
    assert!(
        theirs.len() >= min_functions,
        "golden file parsed: {theirs:?}"
    );
    assert_eq!(ours, theirs);
}

#[test]
fn top_agrees_with_go_tool_pprof_on_go_profile() {
    assert_top_matches("cpu.pb.gz", "cpu.top.txt", 10);
}

#[test]
fn top_agrees_with_go_tool_pprof_on_pprof_rs_profile() {
    // Raw (uncompressed) protobuf, demangled Rust names with spaces.
    assert_top_matches("pprof-rs/cpu.pb", "pprof-rs/cpu.top.txt", 5);
}

#[test]
fn default_sample_type_is_the_last_like_pprof() {
    let profile = load("cpu.pb.gz");
    assert_eq!(sample_type_index(&profile, None).unwrap(), 1);
    assert_eq!(
        sample_type_index(&profile, Some("samples/count")).unwrap(),
        0
    );
    let err = sample_type_index(&profile, Some("alloc_space")).unwrap_err();
    assert!(
        err.to_string().contains("samples/count, cpu/nanoseconds"),
        "{err}"
    );
}
