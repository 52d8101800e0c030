//! Round trips: pprof → model → pprof, and folded → pprof → folded, on
//! arbitrary profiles.

use brasa_profile::{
    builder::{FunctionInfo, MappingInfo},
    codec,
    folded::Folded,
    merge::merge,
    pprof::Line,
    ProfileBuilder,
};
use proptest::prelude::*;

/// A frame name: printable, without the folded separator, and without
/// white space at either end (folded text is white-space delimited).
fn frame() -> impl Strategy<Value = String> {
    "[a-zA-Z_][a-zA-Z_:<>()*&. 0-9]{0,8}[a-zA-Z_)]"
}

fn stacks() -> impl Strategy<Value = Vec<(Vec<String>, i64)>> {
    prop::collection::vec(
        (prop::collection::vec(frame(), 1..12), 1i64..1_000_000),
        0..40,
    )
}

fn build(stacks: &[(Vec<String>, i64)], with_labels: bool) -> brasa_profile::Profile {
    let mut b = ProfileBuilder::new(&[("samples", "count"), ("cpu", "nanoseconds")]);
    b.set_period("cpu", "nanoseconds", 10_000_000);
    b.set_time(1_700_000_000_000_000_000, 10_000_000_000);
    let mapping = b.mapping(MappingInfo {
        memory_start: 0x40_0000,
        memory_limit: 0x80_0000,
        filename: "/usr/bin/app",
        build_id: "abcdef",
        has_functions: true,
        ..MappingInfo::default()
    });
    for (i, (frames, count)) in stacks.iter().enumerate() {
        let locations: Vec<u64> = frames
            .iter()
            .rev()
            .map(|name| {
                let f = b.function(FunctionInfo {
                    name,
                    filename: "app.c",
                    ..FunctionInfo::default()
                });
                let address = 0x40_0000 + (f * 16);
                let line = Line {
                    function_id: f,
                    line: f as i64,
                    column: 0,
                };
                b.location(mapping, address, &[line])
            })
            .collect();
        let labels = if with_labels {
            vec![b.label_num("pid", (i % 3) as i64, "")]
        } else {
            vec![]
        };
        b.add_sample(&locations, &[*count, count * 10_000_000], &labels);
    }
    b.build()
}

proptest! {
    #[test]
    fn pprof_round_trip(stacks in stacks()) {
        let profile = build(&stacks, true);
        let decoded = codec::decode(&codec::encode(&profile)).unwrap();
        prop_assert_eq!(decoded, profile);
    }

    #[test]
    fn folded_round_trip(stacks in stacks()) {
        let mut folded = Folded::default();
        for (frames, count) in &stacks {
            folded.add(&frames.join(";"), *count);
        }
        let text = folded.to_text();
        let reparsed = Folded::parse(&text).unwrap();
        prop_assert_eq!(&reparsed, &folded);
        let via_pprof = codec::decode(&codec::encode(&reparsed.to_profile())).unwrap();
        prop_assert_eq!(Folded::from_profile(&via_pprof, 0), folded);
    }

    #[test]
    fn merge_sums_and_commutes(a in stacks(), b in stacks()) {
        let (pa, pb) = (build(&a, false), build(&b, false));
        let ab = merge([&pa, &pb]).unwrap();
        let ba = merge([&pb, &pa]).unwrap();
        for t in 0..2 {
            let mut expected = Folded::from_profile(&pa, t);
            for (stack, count) in Folded::from_profile(&pb, t).stacks {
                expected.add(&stack, count);
            }
            prop_assert_eq!(&Folded::from_profile(&ab, t), &expected);
            prop_assert_eq!(&Folded::from_profile(&ba, t), &expected);
        }
        // Shared functions are stored once.
        let names: std::collections::HashSet<_> = a.iter().chain(&b).flat_map(|(f, _)| f).collect();
        prop_assert_eq!(ab.function.len(), names.len());
    }
}

#[test]
fn merging_different_sample_types_is_refused() {
    let folded = Folded::parse("a;b 1\n").unwrap().to_profile();
    let cpu = build(&[(vec!["a".into()], 1)], false);
    let err = merge([&cpu, &folded]).unwrap_err().to_string();
    assert!(err.contains("sample types differ"), "{err}");
    assert!(err.contains("samples/count, cpu/nanoseconds"), "{err}");
}

#[test]
fn folded_parse_errors_name_the_line() {
    let err = Folded::parse("a;b 1\n\na;c x\n").unwrap_err().to_string();
    assert!(err.contains("line 3"), "{err}");
    assert!(err.contains("\"x\" is not an integer"), "{err}");
    assert!(Folded::parse("a;b -1")
        .unwrap_err()
        .to_string()
        .contains("negative"));
    assert!(Folded::parse("lonely")
        .unwrap_err()
        .to_string()
        .contains("no count"));
}

#[test]
fn folded_names_may_contain_spaces() {
    let folded = Folded::parse("main;operator() const 7\nmain;foo 2\nmain;foo 3\n").unwrap();
    assert_eq!(folded.stacks["main;operator() const"], 7);
    assert_eq!(folded.stacks["main;foo"], 5);
    assert_eq!(folded.total(), 12);
}

#[test]
fn folded_output_keeps_its_sample_type_and_merges_back() {
    use brasa_profile::{
        io::{load, render, OutputFormat, WriteOptions},
        sample_type::{only, sample_type_names},
    };
    let pprof = build(
        &[
            (vec!["main".into(), "parse".into()], 3),
            (vec!["main".into(), "eval".into()], 1),
        ],
        false,
    );
    let mut options = WriteOptions::default();
    options.sample_type = Some("cpu".to_owned());
    let text = String::from_utf8(render(&pprof, OutputFormat::Folded, &options).unwrap()).unwrap();
    assert_eq!(
        text,
        "# brasa: sample_type=cpu unit=nanoseconds\nmain;eval 10000000\nmain;parse 30000000\n"
    );
    let folded = load(text.as_bytes(), &codec::DecodeOptions::default()).unwrap();
    assert_eq!(sample_type_names(&folded), ["cpu/nanoseconds"]);
    // Cut to the type it shares, the pprof merges with its folded form.
    let merged = merge([&only(&pprof, 1), &folded]).unwrap();
    assert_eq!(Folded::from_profile(&merged, 0).total(), 2 * 40_000_000);
    // A comment that is not Brasa's header is skipped; a broken header is
    // an error naming its line.
    let commented = Folded::parse("# from perf\nmain;eval 2\n").unwrap();
    assert_eq!((commented.total(), commented.sample_type), (2, None));
    let error = Folded::parse("a 1\n# brasa: unit=bytes\n")
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("line 2") && error.contains("sample_type=TYPE"),
        "{error}"
    );
}

#[test]
fn output_names_are_checked_against_the_formats_an_output_takes() {
    use brasa_profile::io::OutputFormat;
    use std::path::Path;
    assert_eq!(
        OutputFormat::from_path(Path::new("x.PB.GZ")).unwrap(),
        OutputFormat::Pprof
    );
    let error = OutputFormat::from_path(Path::new("x.txt"))
        .unwrap_err()
        .to_string();
    assert_eq!(
        error,
        "x.txt: cannot tell the output format; end the name in .pb.gz or .pb or .pprof (pprof), .folded (folded stacks), .svg (an SVG flame graph)"
    );
    let error = OutputFormat::from_path_among(Path::new("x.pb.gz"), &[OutputFormat::Svg])
        .unwrap_err()
        .to_string();
    assert_eq!(
        error,
        "x.pb.gz: .pb.gz asks for pprof, which this command does not write; end the name in .svg (an SVG flame graph)"
    );
}

#[test]
fn inferno_reads_brasa_folded_files_and_skips_the_header() {
    let mut folded = Folded::parse("main;parse 3\nmain;eval 1\n").unwrap();
    folded.sample_type = Some(("cpu".to_owned(), "nanoseconds".to_owned()));
    let text = folded.to_text();
    assert!(text.starts_with("# brasa:"), "{text}");
    // inferno's own folded reader, as `inferno-flamegraph` runs it on a file.
    let mut options = inferno::flamegraph::Options::default();
    let mut svg = Vec::new();
    inferno::flamegraph::from_lines(&mut options, text.lines(), &mut svg).unwrap();
    let svg = String::from_utf8(svg).unwrap();
    assert!(svg.contains("parse") && svg.contains("eval"), "{svg}");
    assert!(!svg.contains("brasa:"), "the header became a frame: {svg}");
}
