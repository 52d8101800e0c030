//! Behaviour of the profile store through its public API.

use brasa_profile::profile_type::ProfileType;
use brasa_profile::{
    folded::Folded,
    top::{top, total},
    Profile,
};
use brasa_store::{
    labels::{Labels, DEFAULT_TENANT, TENANT_LABEL},
    matcher::Matcher,
    Cancel, Error, Store, StoreOptions,
};

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
    assert_eq!(
        store.label_names(DEFAULT_TENANT),
        ["host", "service", "zone"]
    );
    assert_eq!(
        store.label_values(DEFAULT_TENANT, "service").unwrap(),
        ["api", "db"]
    );
    assert_eq!(store.label_values(DEFAULT_TENANT, "host").unwrap(), ["b"]);
    assert!(store
        .label_values(DEFAULT_TENANT, "nope")
        .unwrap()
        .is_empty());
    let selected = store.select(&[Matcher::equal("service", "api")]).unwrap();
    assert_eq!(selected.len(), 2);
    assert_eq!(
        selected[0].kind.sample_types,
        [brasa_profile::profile_type::ValueKind::new(
            "samples", "count"
        )]
    );
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
    let err = Store::open(dir.path(), StoreOptions::default()).unwrap_err();
    assert!(
        matches!(err, Error::FormatMismatch { found: 1, .. }),
        "{err:?}"
    );
    assert!(!dir.path().join("FORMAT").exists());
}

/// A profile of folded `text` whose counts are `r#type`/`unit`.
fn typed(text: &str, r#type: &str, unit: &str) -> Profile {
    let mut folded = Folded::parse(text).unwrap();
    folded.sample_type = Some((r#type.to_owned(), unit.to_owned()));
    folded.to_profile()
}

#[test]
fn one_profile_type_per_merge_and_snapshots_averaged() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let (a, b) = (
        labels(&[("__name__", "process_cpu"), ("host", "a")]),
        labels(&[("__name__", "process_cpu"), ("host", "b")]),
    );
    // In-use memory, two snapshots on host a, one on b; CPU on a, all
    // under one name (a Pyroscope application sending both).
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
    let ids = |types: &[ProfileType]| types.iter().map(ProfileType::id).collect::<Vec<_>>();
    let present = store.profile_types(&[], 0, 10).unwrap();
    let present_ids: Vec<String> = present.iter().map(|p| p.profile_type.id()).collect();
    assert_eq!(
        present_ids,
        [
            "process_cpu:cpu:nanoseconds:cpu:nanoseconds",
            "process_cpu:inuse_space:bytes:inuse_space:bytes"
        ]
    );
    assert_eq!(present[1].series, 2);
    // Two series share host a's labels, one per kind.
    assert_eq!(store.series_count(), 3);

    let cpu = store.merge(&[], 0, 10).unwrap();
    assert_eq!(
        Folded::from_profile(&cpu.profile.unwrap(), 0).to_text(),
        "# brasa: sample_type=cpu unit=nanoseconds\nmain;work 7\n"
    );
    assert_eq!((cpu.profiles, cpu.averaged), (1, false));
    assert_eq!(
        ids(&cpu.other_types),
        ["process_cpu:inuse_space:bytes:inuse_space:bytes"]
    );

    let wanted = ProfileType::parse("process_cpu:inuse_space:bytes:inuse_space:bytes").unwrap();
    let heap = store
        .merge_type(&[], 0, 10, &wanted, &Cancel::default())
        .unwrap();
    // Host a's average (200) plus host b's (50), not the sum of snapshots.
    let text = Folded::from_profile(&heap.profile.unwrap(), 0).to_text();
    assert_eq!(
        text,
        "# brasa: sample_type=inuse_space unit=bytes\nmain;cache 250\n"
    );
    assert_eq!((heap.profiles, heap.series, heap.averaged), (3, 2, true));
    assert_eq!(heap.profile_type.as_ref(), Some(&wanted));
    assert_eq!(
        ids(&heap.other_types),
        ["process_cpu:cpu:nanoseconds:cpu:nanoseconds"]
    );
    let hinted = store
        .merge_choosing(&[], 0, 10, Some("inuse_space"), &Cancel::default())
        .unwrap();
    assert_eq!(hinted.profile_type, Some(wanted));
    let none = store
        .merge_choosing(&[], 0, 10, Some("wall"), &Cancel::default())
        .unwrap();
    assert!(none.profile.is_none());
    assert_eq!(none.other_types.len(), 2);
}

#[test]
fn a_profile_with_two_sample_types_is_queryable_per_type() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let l = labels(&[("__name__", "memory")]);
    let mut heap = typed("main 1\n", "alloc_space", "bytes");
    heap.sample_type.push(heap.sample_type[0]);
    heap.string_table
        .extend(["inuse_space".to_owned(), "space".to_owned()]);
    let n = heap.string_table.len() as i64;
    heap.sample_type[1].r#type = n - 2;
    heap.period_type = Some(brasa_profile::pprof::ValueType {
        r#type: n - 1,
        unit: heap.sample_type[0].unit,
    });
    heap.default_sample_type = n - 2;
    heap.sample[0].value = vec![4096, 1024];
    for time in [1, 2] {
        store.ingest(&l, &heap, time).unwrap();
    }
    let present = store.profile_types(&[], 0, 10).unwrap();
    assert_eq!(
        present
            .iter()
            .map(|p| (p.profile_type.id(), p.is_default))
            .collect::<Vec<_>>(),
        [
            ("memory:alloc_space:bytes:space:bytes".to_owned(), false),
            ("memory:inuse_space:bytes:space:bytes".to_owned(), true)
        ]
    );
    // No CPU: the default sample type, averaged; allocations add up.
    let inuse = store.merge(&[], 0, 10).unwrap();
    let inuse_profile = inuse.profile.unwrap();
    assert_eq!(inuse_profile.sample_type.len(), 1);
    assert_eq!(inuse_profile.sample[0].value, [1024]);
    let alloc = ProfileType::parse("memory:alloc_space:bytes:space:bytes").unwrap();
    let alloc = store
        .merge_type(&[], 0, 10, &alloc, &Cancel::default())
        .unwrap();
    assert_eq!(alloc.profile.unwrap().sample[0].value, [8192]);
    assert!(!alloc.averaged);
}

/// `text`'s profile with the sample of line `i` labelled `labels[i]`
/// (string labels, and `pid` as a number). Leaf names must differ.
fn labelled(text: &str, labels: &[&[(&str, &str)]]) -> Profile {
    let mut p = profile(text);
    // Samples in the order of the lines, by leaf function name.
    let leaf_name = |p: &Profile, sample: &brasa_profile::pprof::Sample| {
        let location = p
            .location
            .iter()
            .find(|l| l.id == sample.location_id[0])
            .unwrap();
        let function = p
            .function
            .iter()
            .find(|f| f.id == location.line[0].function_id)
            .unwrap();
        p.string_table[function.name as usize].clone()
    };
    let order: Vec<usize> = text
        .lines()
        .map(|line| {
            let leaf = line.rsplit_once(' ').unwrap().0.rsplit(';').next().unwrap();
            p.sample
                .iter()
                .position(|s| leaf_name(&p, s) == leaf)
                .unwrap()
        })
        .collect();
    let mut samples: Vec<_> = order.iter().map(|&i| p.sample[i].clone()).collect();
    let mut strings = std::mem::take(&mut p.string_table);
    let mut intern = |s: &str| match strings.iter().position(|t| t == s) {
        Some(i) => i as i64,
        None => {
            strings.push(s.to_owned());
            strings.len() as i64 - 1
        }
    };
    for (sample, pairs) in samples.iter_mut().zip(labels) {
        for (key, value) in *pairs {
            let is_pid = *key == "pid";
            let key = intern(key);
            let label = if is_pid {
                brasa_profile::pprof::Label {
                    key,
                    num: value.parse().unwrap(),
                    ..Default::default()
                }
            } else {
                brasa_profile::pprof::Label {
                    key,
                    str: intern(value),
                    ..Default::default()
                }
            };
            sample.label.push(label);
        }
    }
    p.string_table = strings;
    p.sample = samples;
    p
}

#[test]
fn sample_labels_select_samples_and_are_listed() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let app = labels(&[("__name__", "process_cpu"), ("service", "shop")]);
    let p = labelled(
        "main;fast 3\nmain;slow 5\nmain;idle 1\n",
        &[
            &[("request", "fast"), ("pid", "7")],
            &[("request", "slow"), ("pid", "7")],
            &[("pid", "8")],
        ],
    );
    store.ingest(&app, &p, 1).unwrap();
    // A series label of the same name as a sample label elsewhere.
    store
        .ingest(
            &labels(&[("__name__", "process_cpu"), ("request", "batch")]),
            &profile("main;batch 2\n"),
            2,
        )
        .unwrap();

    let fast = folded(&store, &[Matcher::equal("request", "fast")], 0, 10);
    assert_eq!(fast, "main;fast 3\n");
    let not_fast = folded(&store, &[Matcher::not_equal("request", "fast")], 0, 10);
    assert_eq!(not_fast, "main;batch 2\nmain;idle 1\nmain;slow 5\n");
    let pid = [
        Matcher::equal("pid", "8"),
        Matcher::equal("service", "shop"),
    ];
    assert_eq!(folded(&store, &pid, 0, 10), "main;idle 1\n");
    assert_eq!(
        folded(&store, &[Matcher::regex("request", "ba.*").unwrap()], 0, 10),
        "main;batch 2\n"
    );

    assert_eq!(
        store.label_names(DEFAULT_TENANT),
        ["__name__", "pid", "request", "service"]
    );
    assert_eq!(
        store.label_values(DEFAULT_TENANT, "request").unwrap(),
        ["batch", "fast", "slow"]
    );
    assert_eq!(
        store.label_values(DEFAULT_TENANT, "pid").unwrap(),
        ["7", "8"]
    );

    // The chart's totals count the matching samples only.
    let (series, on_samples) = store
        .select_samples(&[Matcher::equal("request", "slow")])
        .unwrap()
        .into_iter()
        .find(|(s, _)| s.labels.get("service") == Some("shop"))
        .unwrap();
    assert_eq!(
        store.column_totals(&series, 0, &on_samples, 0, 10).unwrap(),
        [(1, 5)]
    );
    assert_eq!(
        store.column_totals(&series, 0, &[], 0, 10).unwrap(),
        [(1, 9)]
    );

    // Still so once reopened from disk.
    drop(store);
    let store = open(dir.path());
    assert_eq!(
        store.label_values(DEFAULT_TENANT, "pid").unwrap(),
        ["7", "8"]
    );
    assert_eq!(
        folded(&store, &[Matcher::equal("request", "fast")], 0, 10),
        "main;fast 3\n"
    );
}

#[test]
fn tenants_see_only_their_own_series_and_labels() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    // The default tenant's profile carries a sample label that looks like
    // the tenant label: it must not put samples in tenant acme.
    let default = labels(&[("__name__", "process_cpu"), ("service", "shop")]);
    let p = labelled(
        "main;shop 3\nmain;sneaky 4\n",
        &[&[("request", "cart")], &[("__tenant__", "acme")]],
    );
    store.ingest(&default, &p, 1).unwrap();
    let acme = labels(&[
        ("__name__", "process_cpu"),
        ("__tenant__", "acme"),
        ("team", "rockets"),
    ]);
    let p = labelled("main;launch 2\n", &[&[("stage", "one")]]);
    store.ingest(&acme, &p, 1).unwrap();

    let of = |tenant: &str| vec![Matcher::equal(TENANT_LABEL, tenant)];
    assert_eq!(folded(&store, &of("acme"), 0, 10), "main;launch 2\n");
    assert_eq!(
        folded(&store, &of(DEFAULT_TENANT), 0, 10),
        "main;shop 3\nmain;sneaky 4\n"
    );
    assert_eq!(folded(&store, &of("other"), 0, 10), "");

    assert_eq!(store.label_names("acme"), ["__name__", "stage", "team"]);
    assert_eq!(
        store.label_names(DEFAULT_TENANT),
        ["__name__", "request", "service"]
    );
    assert!(store.label_names("other").is_empty());
    assert_eq!(store.label_values("acme", "team").unwrap(), ["rockets"]);
    assert!(store
        .label_values(DEFAULT_TENANT, "team")
        .unwrap()
        .is_empty());
    assert!(store.label_values("acme", "service").unwrap().is_empty());
    assert_eq!(store.label_values("acme", "stage").unwrap(), ["one"]);
    assert!(store
        .label_values(DEFAULT_TENANT, "stage")
        .unwrap()
        .is_empty());
    assert!(store.label_values("acme", "request").unwrap().is_empty());
    assert!(store.label_values("acme", TENANT_LABEL).unwrap().is_empty());
    assert!(store
        .label_values(DEFAULT_TENANT, TENANT_LABEL)
        .unwrap()
        .is_empty());

    // Still so once reopened from disk.
    drop(store);
    let store = open(dir.path());
    assert_eq!(store.label_values("acme", "stage").unwrap(), ["one"]);
    assert!(store
        .label_values(DEFAULT_TENANT, "stage")
        .unwrap()
        .is_empty());
}

#[test]
fn sample_label_values_are_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let l = labels(&[("__name__", "process_cpu")]);
    let over = brasa_store::MAX_SAMPLE_LABEL_VALUES + 5;
    let text: String = (0..over).map(|i| format!("main;f{i} 1\n")).collect();
    let pids: Vec<String> = (0..over).map(|i| i.to_string()).collect();
    let pairs: Vec<[(&str, &str); 1]> = pids.iter().map(|p| [("pid", p.as_str())]).collect();
    let refs: Vec<&[(&str, &str)]> = pairs.iter().map(|p| &p[..]).collect();
    store.ingest(&l, &labelled(&text, &refs), 1).unwrap();
    let err = store.label_values(DEFAULT_TENANT, "pid").unwrap_err();
    assert!(matches!(err, Error::TooManyValues { .. }), "{err:?}");
    assert!(err.to_string().contains("select with a matcher"), "{err}");
    // Matching does not need the list: the last pid is still selectable.
    let last = pids.last().unwrap();
    assert_eq!(
        folded(&store, &[Matcher::equal("pid", last)], 0, 10),
        format!("main;f{} 1\n", over - 1)
    );
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
    let merged = |id: &str| {
        let wanted = ProfileType::parse(id).unwrap();
        let merged = store
            .merge_type(&[], 0, 10, &wanted, &Cancel::default())
            .unwrap();
        (total(&merged.profile.unwrap(), 0), merged.averaged)
    };
    assert_eq!(
        merged("memory:alloc_space:bytes:alloc_space:bytes"),
        (60, false)
    );
    assert_eq!(
        merged("memory:inuse_space:bytes:inuse_space:bytes"),
        (2000, true)
    );
}

/// Folded text of `stacks` distinct three-frame stacks, numbered from `first`.
fn distinct_stacks(first: usize, stacks: usize) -> String {
    (first..first + stacks)
        .map(|i| format!("main;work_{i};leaf_{i} 1\n"))
        .collect()
}

#[test]
fn a_merge_holds_no_more_than_the_query_share_of_the_memory_budget() {
    let dir = tempfile::tempdir().unwrap();
    let mut options = StoreOptions::default();
    // A quarter of it, 1 MiB, is for queries; an eighth for tables.
    options.memory_budget = 4 << 20;
    let store = Store::open(dir.path(), options).unwrap();
    // Each series brings 500 stacks of its own: the merge grows with
    // every series until it needs more than the share.
    for s in 0..40 {
        let l = labels(&[("__name__", "process_cpu"), ("host", &format!("h{s}"))]);
        put(&store, &l, &distinct_stacks(s * 500, 500), 1_000);
    }
    let pool = store.query_memory();
    assert_eq!(pool.limit(), 1 << 20);
    let error = store.merge(&[], 0, 2_000).unwrap_err();
    let message = error.to_string();
    assert!(matches!(error, Error::QueryMemory { .. }), "{message}");
    assert!(
        message.contains("more than 1048576 bytes of memory"),
        "{message}"
    );
    // The tables the merge loaded stay within their share once it is over.
    assert!(
        store.loaded_table_bytes() <= 512 << 10,
        "{}",
        store.loaded_table_bytes()
    );
    assert_eq!(pool.used(), 0, "a failed merge gives its memory back");

    // A merge that fits holds its memory until its answer is dropped.
    let one = [Matcher::equal("host", "h0")];
    let merged = store.merge(&one, 0, 2_000).unwrap();
    assert_eq!(merged.profile.as_ref().unwrap().sample.len(), 500);
    assert!(merged.memory.bytes() > 0);
    assert_eq!(pool.used(), merged.memory.bytes());
    // Another query cannot have what it holds.
    let mut others = brasa_store::memory::MemoryHold::new(pool);
    let error = others
        .resize(pool.limit() - merged.memory.bytes() + 1)
        .unwrap_err();
    assert!(matches!(error, Error::QueryMemoryBusy { .. }), "{error}");
    drop(merged);
    assert_eq!(pool.used(), 0);
}

#[test]
fn insert_once_stores_a_repeated_profile_once_and_a_different_one_beside_it() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let l = labels(&[("__name__", "process_cpu"), ("service", "api")]);
    let first = profile("main;work 3\n");
    let written = store.insert_once(&l, &first, 100).unwrap();
    store.commit(&written).unwrap();
    let again = store.insert_once(&l, &first, 100).unwrap();
    store.commit(&again).unwrap();
    assert_eq!(again.time_nanos, 100);
    let other = store
        .insert_once(&l, &profile("main;rest 1\n"), 100)
        .unwrap();
    store.commit(&other).unwrap();
    assert_eq!(other.time_nanos, 101);
    // The first again, after the other took the next nanosecond.
    store.insert_once(&l, &first, 100).unwrap();
    let all = [Matcher::equal("service", "api")];
    assert_eq!(store.merge(&all, 0, 1_000).unwrap().profiles, 2);
    assert_eq!(folded(&store, &all, 0, 1_000), "main;rest 1\nmain;work 3\n");
    // insert keeps both.
    store.insert(&l, &first, 100).unwrap();
    assert_eq!(store.merge(&all, 0, 1_000).unwrap().profiles, 3);
}
