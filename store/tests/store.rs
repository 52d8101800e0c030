//! Behaviour of the profile store through its public API.

use brasa_profile::{
    folded::Folded,
    top::{top, total},
    Profile,
};
use brasa_store::{labels::Labels, matcher::Matcher, Error, Store, StoreOptions};

mod common;

fn profile(text: &str) -> Profile {
    Folded::parse(text).unwrap().to_profile()
}

fn labels(pairs: &[(&str, &str)]) -> Labels {
    Labels::new(pairs.iter().copied()).unwrap()
}

fn put(store: &Store, l: &Labels, text: &str, time: u64) {
    let p = profile(text);
    store.ingest(l, &p, time).unwrap();
}

fn folded(store: &Store, matchers: &[Matcher], from: u64, to: u64) -> String {
    match store.merge(matchers, from, to).unwrap().profile {
        Some(p) => Folded::from_profile(&p, 0).to_text(),
        None => String::new(),
    }
}

/// Opens the store in `dir`, waiting for one closed just before to let go.
fn open(dir: &std::path::Path) -> Store {
    common::once_released(
        || Store::open(dir, StoreOptions::default()),
        |e| matches!(e, Error::Locked { .. }),
    )
}

#[test]
fn merges_matching_series_within_the_time_range() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let api = labels(&[
        ("__name__", "process_cpu"),
        ("service", "api"),
        ("host", "a"),
    ]);
    let db = labels(&[
        ("__name__", "process_cpu"),
        ("service", "db"),
        ("host", "a"),
    ]);
    put(&store, &api, "main;serve 5\n", 100);
    put(&store, &api, "main;serve 1\nmain;gc 2\n", 200);
    put(&store, &api, "main;late 7\n", 300);
    put(&store, &db, "main;query 4\n", 150);

    assert_eq!(
        folded(&store, &[Matcher::equal("service", "api")], 100, 200),
        "main;gc 2\nmain;serve 6\n"
    );
    assert_eq!(
        folded(&store, &[Matcher::equal("host", "a")], 150, 150),
        "main;query 4\n"
    );
    assert_eq!(
        folded(&store, &[Matcher::not_equal("service", "api")], 0, 1000),
        "main;query 4\n"
    );
    assert_eq!(
        folded(
            &store,
            &[Matcher::regex("service", "a.*|d.").unwrap()],
            0,
            160
        ),
        "main;query 4\nmain;serve 5\n"
    );
    assert_eq!(
        folded(
            &store,
            &[Matcher::not_regex("service", "a.*").unwrap()],
            0,
            1000
        ),
        "main;query 4\n"
    );
    // Regexes are anchored: "ap" does not match "api".
    assert_eq!(
        folded(&store, &[Matcher::regex("service", "ap").unwrap()], 0, 1000),
        ""
    );
    let merged = store
        .merge(&[Matcher::equal("__name__", "process_cpu")], 0, 1000)
        .unwrap();
    assert_eq!((merged.profiles, merged.series), (4, 2));
}

#[test]
fn data_survives_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let l = labels(&[("service", "api")]);
    {
        let store = open(dir.path());
        put(&store, &l, "a;b 3\n", 10);
    }
    let store = open(dir.path());
    assert_eq!(store.series_count(), 1);
    assert_eq!(folded(&store, &[], 0, 100), "a;b 3\n");
    // New ingests after reopening reuse the series and get a fresh dictionary.
    put(&store, &l, "a;c 1\n", 20);
    assert_eq!(store.series_count(), 1);
    assert_eq!(folded(&store, &[], 0, 100), "a;b 3\na;c 1\n");
}

#[test]
fn profiles_at_the_same_instant_are_both_kept() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let l = labels(&[("service", "api")]);
    let p = profile("x 1\n");
    let first = store.ingest(&l, &p, 42).unwrap();
    let second = store.ingest(&l, &p, 42).unwrap();
    assert_eq!((first.time_nanos, second.time_nanos), (42, 43));
    assert_eq!(folded(&store, &[], 0, 100), "x 2\n");
}

#[test]
fn label_index_lists_names_and_values() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    put(
        &store,
        &labels(&[("service", "api"), ("host", "b")]),
        "x 1\n",
        1,
    );
    put(
        &store,
        &labels(&[("service", "db"), ("host", "b")]),
        "x 1\n",
        1,
    );
    put(
        &store,
        &labels(&[("service", "api"), ("zone", "z1")]),
        "x 1\n",
        1,
    );
    assert_eq!(store.label_names(), ["host", "service", "zone"]);
    assert_eq!(store.label_values("service").unwrap(), ["api", "db"]);
    assert_eq!(store.label_values("host").unwrap(), ["b"]);
    assert!(store.label_values("nope").unwrap().is_empty());
    let selected = store.select(&[Matcher::equal("service", "api")]).unwrap();
    assert_eq!(selected.len(), 2);
    assert_eq!(store.sample_types(selected[0].id), ["samples/count"]);
}

#[test]
fn totals_come_from_headers() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let l = labels(&[("service", "api")]);
    put(&store, &l, "a 2\nb 3\n", 10);
    put(&store, &l, "a 7\n", 20);
    let id = store.series_ids()[0];
    assert_eq!(
        store.totals(id, 0, 100).unwrap(),
        [(10, vec![5]), (20, vec![7])]
    );
}

#[test]
fn retention_deletes_old_profiles() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let l = labels(&[("service", "api")]);
    put(&store, &l, "old 1\n", 10);
    put(&store, &l, "old 1\n", 20);
    put(&store, &l, "new 1\n", 30);
    assert_eq!(store.delete_before(25).unwrap().profiles, 2);
    assert_eq!(folded(&store, &[], 0, 100), "new 1\n");
    assert_eq!(store.delete_before(25).unwrap().profiles, 0);
    // The series' symbols stay: a later profile with the old stack works.
    put(&store, &l, "old 2\n", 40);
    assert_eq!(folded(&store, &[], 0, 100), "new 1\nold 2\n");
}

/// A profile with everything pprof can carry that Brasa keeps.
fn rich_profile(count: i64) -> Profile {
    use brasa_profile::{
        builder::{FunctionInfo, MappingInfo},
        pprof::Line,
        ProfileBuilder,
    };
    let line = |function_id, line, column| Line {
        function_id,
        line,
        column,
    };
    let mut b = ProfileBuilder::new(&[("samples", "count"), ("cpu", "nanoseconds")]);
    b.set_period("cpu", "nanoseconds", 52_631_578);
    b.set_time(1_700_000_000_000_000_000, 10_000_000_000);
    b.set_default_sample_type("cpu");
    let m = b.mapping(MappingInfo {
        memory_start: 0x1000,
        memory_limit: 0x9000,
        file_offset: 0x100,
        filename: "/bin/app",
        build_id: "abcd",
        has_functions: true,
        ..MappingInfo::default()
    });
    let main = b.function(FunctionInfo {
        name: "main",
        filename: "main.c",
        start_line: 3,
        ..FunctionInfo::default()
    });
    let work = b.function(FunctionInfo {
        name: "work",
        system_name: "_Z4workv",
        ..FunctionInfo::default()
    });
    let helper = b.function(FunctionInfo {
        name: "helper",
        ..FunctionInfo::default()
    });
    let l_main = b.location(m, 0x1234, &[line(main, 7, 2)]);
    let l_work = b.location(m, 0x2345, &[line(helper, 40, 0), line(work, 12, 0)]);
    let unsymbolized = b.location(m, 0x3456, &[]);
    let pid = b.label_num("pid", 42, "");
    let thread = b.label_str("thread", "worker-1");
    b.add_sample(
        &[l_work, l_main],
        &[count, count * 52_631_578],
        &[pid, thread],
    );
    b.add_sample(&[unsymbolized, l_main], &[1, 52_631_578], &[pid]);
    b.build()
}

#[test]
fn stored_profiles_keep_what_pprof_tools_show() {
    let dir = tempfile::tempdir().unwrap();
    let l = labels(&[("service", "api")]);
    let original = rich_profile(3);
    {
        let store = open(dir.path());
        store.ingest(&l, &original, 5).unwrap();
    }
    // Symbols are read back from disk after reopening.
    let store = open(dir.path());
    let id = store.series_ids()[0];
    let (_, blob) = store.scan(id, 0, 10).next().unwrap().unwrap();
    let back = store.load(id, &blob).unwrap();
    brasa_profile::validate::validate(&back).unwrap();
    for i in 0..2 {
        assert_eq!(
            Folded::from_profile(&back, i).to_text(),
            Folded::from_profile(&original, i).to_text()
        );
        assert_eq!(top(&back, i), top(&original, i));
    }
    assert_eq!(back.period, original.period);
    assert_eq!(back.time_nanos, original.time_nanos);
    assert_eq!(back.duration_nanos, original.duration_nanos);
    assert_eq!(
        brasa_profile::sample_type::sample_type_names(&back),
        ["samples/count", "cpu/nanoseconds"]
    );
    assert_eq!(
        brasa_profile::sample_type::sample_type_index(&back, None).unwrap(),
        1
    );
    let s = |i: i64| back.string_table[i as usize].as_str();
    let sample_labels: Vec<(String, String, i64)> = back.sample[0]
        .label
        .iter()
        .map(|x| (s(x.key).to_owned(), s(x.str).to_owned(), x.num))
        .collect();
    assert!(sample_labels.contains(&("pid".into(), "".into(), 42)));
    assert!(sample_labels.contains(&("thread".into(), "worker-1".into(), 0)));
    let mapping = &back.mapping[0];
    assert_eq!(
        (
            s(mapping.filename),
            s(mapping.build_id),
            mapping.file_offset
        ),
        ("/bin/app", "abcd", 0x100)
    );
    let work = back.function.iter().find(|f| s(f.name) == "work").unwrap();
    assert_eq!(s(work.system_name), "_Z4workv");
    // Inlined frames stay on one location, innermost first.
    assert!(back.location.iter().any(|l| l.line.len() == 2));
}

#[test]
fn repeated_profiles_cost_a_few_bytes_per_sample() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let l = labels(&[("service", "api")]);
    let text: String = (0..200)
        .map(|i| {
            format!(
                "main;handler_{i};parse_request;decode_json_value {}\n",
                i % 7 + 1
            )
        })
        .collect();
    let p = profile(&text);
    store.ingest(&l, &p, 1).unwrap();
    store.ingest(&l, &p, 2).unwrap();
    let id = store.series_ids()[0];
    let blobs: Vec<_> = store.scan(id, 0, 10).map(|e| e.unwrap().1).collect();
    // Symbols went to the series table: the blob is ids and counts.
    assert!(
        blobs[1].len() < 200 * 3,
        "{} bytes for 200 samples",
        blobs[1].len()
    );
    let back = store.load(id, &blobs[1]).unwrap();
    assert_eq!(total(&back, 0), total(&p, 0));
}

#[test]
fn corrupt_blobs_are_errors_not_panics() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    for bad in [
        &b""[..],
        b"\x03",
        b"\x04\x00garbage",
        b"\x03\x01\x05\x00\x28\xb5\x2f\xfd",
    ] {
        assert!(store.load(1, bad).is_err());
    }
}

#[test]
fn labels_are_validated() {
    assert!(Labels::new([("1abc", "x")]).is_err());
    assert!(Labels::new([("a-b", "x")]).is_err());
    assert!(Labels::new([("a", "x"), ("a", "y")]).is_err());
    assert!(Labels::new([("a", "line\nbreak")]).is_err());
    assert!(Labels::new([("a", "v".repeat(2000))]).is_err());
    assert!(Labels::new([("n".repeat(200), "v")]).is_err());
    let many: Vec<(String, String)> = (0..40).map(|i| (format!("l{i}"), "v".into())).collect();
    let err = Labels::new(many).unwrap_err().to_string();
    assert!(err.contains("more than 32 labels"), "{err}");
    let l = Labels::new([("b", "2"), ("a", "1"), ("empty", "")]).unwrap();
    assert_eq!(l.iter().collect::<Vec<_>>(), [("a", "1"), ("b", "2")]);
    assert!(Matcher::regex("a", "(").is_err());
}

#[test]
fn a_directory_in_use_is_refused_with_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let _first = open(dir.path());
    let err = Store::open(dir.path(), StoreOptions::default()).unwrap_err();
    let message = err.to_string();
    assert!(
        message.starts_with(&format!(
            "{} is in use by another Brasa process",
            dir.path().display()
        )),
        "{message}"
    );
    assert!(
        message.ends_with("; stop it or choose another --data directory"),
        "{message}"
    );
    assert!(!message.contains("WouldBlock"), "{message}");
    assert!(std::error::Error::source(&err).is_none());
    // Linux names the holder in /proc/locks: here, this very process.
    if std::path::Path::new("/proc/locks").exists() {
        let pid = std::process::id();
        assert!(message.contains(&format!("(pid {pid})")), "{message}");
        assert!(matches!(err, Error::Locked { pid: Some(p), .. } if p == pid));
    }
}

#[test]
fn a_directory_of_another_format_is_refused_with_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    drop(open(dir.path()));
    let format = dir.path().join("FORMAT");
    assert_eq!(
        std::fs::read_to_string(&format).unwrap(),
        format!("{}\n", brasa_store::FORMAT_VERSION)
    );
    let other = brasa_store::FORMAT_VERSION + 1;
    std::fs::write(&format, format!("{other}\n")).unwrap();
    let err = Store::open(dir.path(), StoreOptions::default()).unwrap_err();
    assert!(
        matches!(err, Error::FormatMismatch { found, .. } if found == other),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        format!(
            "the data directory {} was written by store format {other}; this Brasa reads format {}: \
             use a new --data directory or the matching Brasa version",
            dir.path().display(),
            brasa_store::FORMAT_VERSION
        )
    );
    std::fs::write(&format, "garbage").unwrap();
    let err = Store::open(dir.path(), StoreOptions::default()).unwrap_err();
    assert!(matches!(err, Error::FormatUnreadable { .. }), "{err:?}");
    assert!(
        err.to_string().contains("use a new --data directory"),
        "{err}"
    );
}

#[test]
fn a_directory_from_before_the_format_file_is_format_1() {
    let dir = tempfile::tempdir().unwrap();
    let l = labels(&[("service", "api")]);
    {
        let store = open(dir.path());
        put(&store, &l, "a;b 3\n", 10);
    }
    // What a Brasa that did not record its format left behind.
    std::fs::remove_file(dir.path().join("FORMAT")).unwrap();
    let store = open(dir.path());
    assert_eq!(folded(&store, &[], 0, 100), "a;b 3\n");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("FORMAT")).unwrap(),
        "1\n"
    );
}

/// A profile of folded `text` whose counts are `r#type`/`unit`.
fn typed(text: &str, r#type: &str, unit: &str) -> Profile {
    let mut folded = Folded::parse(text).unwrap();
    folded.sample_type = Some((r#type.to_owned(), unit.to_owned()));
    folded.to_profile()
}

#[test]
fn one_kind_of_profile_per_merge_and_snapshots_averaged() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let (a, b) = (labels(&[("host", "a")]), labels(&[("host", "b")]));
    // In-use memory, two snapshots on host a, one on b; CPU on a.
    for (l, text, time) in [
        (&a, "main;cache 100\n", 1),
        (&a, "main;cache 300\n", 2),
        (&b, "main;cache 50\n", 3),
    ] {
        store
            .ingest(l, &typed(text, "inuse_space", "bytes"), time)
            .unwrap();
    }
    store
        .ingest(&a, &typed("main;work 7\n", "cpu", "nanoseconds"), 4)
        .unwrap();

    let cpu = store.merge(&[], 0, 10).unwrap();
    assert_eq!(
        Folded::from_profile(&cpu.profile.unwrap(), 0).to_text(),
        "# brasa: sample_type=cpu unit=nanoseconds\nmain;work 7\n"
    );
    assert_eq!((cpu.profiles, cpu.averaged), (1, vec![false]));
    assert_eq!(cpu.other_kinds, ["inuse_space/bytes"]);

    let heap = store.merge_kind(&[], 0, 10, Some("inuse_space")).unwrap();
    // Host a's average (200) plus host b's (50), not the sum of snapshots.
    let text = Folded::from_profile(&heap.profile.unwrap(), 0).to_text();
    assert_eq!(
        text,
        "# brasa: sample_type=inuse_space unit=bytes\nmain;cache 250\n"
    );
    assert_eq!((heap.profiles, heap.averaged), (3, vec![true]));
    assert_eq!(heap.other_kinds, ["cpu/nanoseconds"]);
}

#[test]
fn in_a_heap_profile_allocations_are_summed_and_in_use_memory_averaged() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let host = labels(&[("__name__", "memory"), ("host", "a")]);
    // Go's heap profile: allocations since the last one, and what is live.
    let heap = |allocated: i64, live: i64| {
        let mut builder = brasa_profile::ProfileBuilder::new(&[
            ("alloc_space", "bytes"),
            ("inuse_space", "bytes"),
        ]);
        let f = builder.function(brasa_profile::builder::FunctionInfo {
            name: "main.cache",
            ..Default::default()
        });
        let line = brasa_profile::pprof::Line {
            function_id: f,
            ..Default::default()
        };
        let location = builder.location(0, 0x1000, &[line]);
        builder.add_sample(&[location], &[allocated, live], &[]);
        builder.build()
    };
    for (time, (allocated, live)) in [(10, 1000), (20, 3000), (30, 2000)].into_iter().enumerate() {
        store
            .ingest(&host, &heap(allocated, live), time as u64 + 1)
            .unwrap();
    }
    let merged = store.merge(&[], 0, 10).unwrap();
    assert_eq!(merged.averaged, [false, true]);
    let profile = merged.profile.unwrap();
    assert_eq!((total(&profile, 0), total(&profile, 1)), (60, 2000));
}
