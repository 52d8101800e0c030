//! `brasa flamegraph` and `brasa merge` as a user runs them.

use brasa_test_support::{brasa, testdata};

#[test]
fn renders_the_go_fixture_with_real_names() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("go.svg");
    let status = brasa()
        .args(["flamegraph", "--title", "Go CPU"])
        .arg(testdata("go/cpu.pb.gz"))
        .arg("-o")
        .arg(&out)
        .status()
        .unwrap();
    assert!(status.success());
    let svg = std::fs::read_to_string(&out).unwrap();
    assert!(svg.starts_with("<?xml"), "{}", &svg[..100]);
    for name in [
        "crypto/sha256.block",
        "main.spin",
        "sort.Ints",
        "runtime.main",
        "Go CPU",
    ] {
        assert!(svg.contains(name), "flame graph lacks {name}");
    }
    // Tooltips name the chosen sample type's unit.
    assert!(svg.contains("nanoseconds"));
}

#[test]
fn renders_folded_input_and_picks_sample_types() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.folded");
    std::fs::write(&input, "main;work;leaf_a 30\nmain;work;leaf_b 10\n").unwrap();
    let out = dir.path().join("f.svg");
    let status = brasa()
        .arg("flamegraph")
        .arg(&input)
        .arg("-o")
        .arg(&out)
        .status()
        .unwrap();
    assert!(status.success());
    let svg = std::fs::read_to_string(&out).unwrap();
    assert!(svg.contains("leaf_a (30 samples, 75.00%)"), "{svg}");

    let out = brasa()
        .arg("flamegraph")
        .arg(testdata("go/cpu.pb.gz"))
        .args(["--sample-type", "alloc_space", "-o"])
        .arg(dir.path().join("x.svg"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("available: samples/count, cpu/nanoseconds"),
        "{err}"
    );
}

#[test]
fn garbage_input_is_a_one_line_error() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&str, &[u8]); 4] = [
        ("binary", &[0xff, 0x00, 0x13, 0x37, 0x42, 0x99, 0x01]),
        ("empty", b""),
        ("text", b"this is not a profile\n"),
        ("gzip", &[0x1f, 0x8b, 0x08, 0x00, 0x01]),
    ];
    for (name, bytes) in cases {
        let input = dir.path().join(name);
        std::fs::write(&input, bytes).unwrap();
        let out_svg = dir.path().join(format!("{name}.svg"));
        let out = brasa()
            .arg("flamegraph")
            .arg(&input)
            .arg("-o")
            .arg(&out_svg)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{name}");
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(err.lines().count(), 1, "{name}: {err}");
        assert!(err.starts_with("brasa: error: "), "{name}: {err}");
        assert!(
            err.contains(name),
            "{name}: the error names the file: {err}"
        );
        assert!(
            !err.contains("panicked") && !err.contains("backtrace"),
            "{err}"
        );
        assert!(!out_svg.exists(), "{name}: no output on failure");
    }
}

#[test]
fn merge_writes_pprof_and_folded_by_extension() {
    let dir = tempfile::tempdir().unwrap();
    let pb = dir.path().join("merged.pb.gz");
    let status = brasa()
        .arg("merge")
        .arg(testdata("go/cpu.pb.gz"))
        .arg(testdata("go/cpu-b.pb.gz"))
        .arg("-o")
        .arg(&pb)
        .status()
        .unwrap();
    assert!(status.success());
    let merged = brasa_profile::io::load_path(&pb).unwrap();
    let golden = brasa_profile::io::load_path(&testdata("go/merged-by-go-pprof.pb.gz")).unwrap();
    let folded = |p| brasa_profile::folded::Folded::from_profile(p, 1);
    assert_eq!(folded(&merged), folded(&golden));

    let text = dir.path().join("merged.folded");
    let status = brasa()
        .arg("merge")
        .arg(&pb)
        .arg("-o")
        .arg(&text)
        .status()
        .unwrap();
    assert!(status.success());
    let reparsed =
        brasa_profile::folded::Folded::parse(&std::fs::read_to_string(&text).unwrap()).unwrap();
    assert_eq!(reparsed, folded(&merged));

    let out = brasa()
        .arg("merge")
        .arg(&pb)
        .arg("-o")
        .arg(dir.path().join("x.png"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("end the name in .pb.gz or .pb or .pprof (pprof), .folded (folded stacks)"));
}

#[test]
fn version_and_help() {
    let out = brasa().arg("--version").output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("brasa "));
    let out = brasa().arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(
        help.contains("flamegraph") && help.contains("merge"),
        "{help}"
    );
}

#[test]
fn merge_refuses_mixed_kinds() {
    let dir = tempfile::tempdir().unwrap();
    let folded = dir.path().join("stacks.folded");
    std::fs::write(&folded, "main;f 3\n").unwrap();
    let out = brasa()
        .arg("merge")
        .arg(testdata("go/cpu.pb.gz"))
        .arg(&folded)
        .arg("-o")
        .arg(dir.path().join("m.pb.gz"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("sample types differ"), "{err}");
    assert!(!dir.path().join("m.pb.gz").exists());
}

#[test]
fn a_pprof_merges_with_the_folded_stacks_written_from_it() {
    let dir = tempfile::tempdir().unwrap();
    let pprof = testdata("go/cpu.pb.gz");
    let folded = dir.path().join("cpu.folded");
    let merged = dir.path().join("twice.pb.gz");
    let run = |args: &[&std::ffi::OsStr]| {
        let out = brasa().args(args).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run(&[
        "merge".as_ref(),
        pprof.as_ref(),
        "--sample-type".as_ref(),
        "cpu".as_ref(),
        "-o".as_ref(),
        folded.as_ref(),
    ]);
    let text = std::fs::read_to_string(&folded).unwrap();
    assert!(
        text.starts_with("# brasa: sample_type=cpu unit=nanoseconds\n"),
        "{text}"
    );
    run(&[
        "merge".as_ref(),
        pprof.as_ref(),
        folded.as_ref(),
        "--sample-type".as_ref(),
        "cpu".as_ref(),
        "-o".as_ref(),
        merged.as_ref(),
    ]);
    let once = brasa_profile::io::load_path(&pprof).unwrap();
    let twice = brasa_profile::io::load_path(&merged).unwrap();
    let total =
        |p: &brasa_profile::Profile, t| brasa_profile::folded::Folded::from_profile(p, t).total();
    assert_eq!(total(&twice, 0), 2 * total(&once, 1));
}
