//! The bytes the store writes, pinned: every sled entry of a small store
//! is compared with `tests/golden/format_N.txt`, N being
//! [`FORMAT_VERSION`].
//!
//! A difference means the on-disk format changed. Data directories of the
//! old format would then be misread, so the change must come with a new
//! `FORMAT_VERSION` (see `ARCHITECTURE.md`): bumping it makes this test
//! look for a golden file of the new version, which `BRASA_BLESS=1`
//! writes. The golden files of earlier versions stay, as their record.

use std::fmt::Write as _;

use brasa_profile::{
    builder::{FunctionInfo, MappingInfo},
    pprof::Line,
    Profile, ProfileBuilder,
};
use brasa_store::{labels::Labels, Store, StoreOptions, FORMAT_VERSION};

mod common;

use brasa_test_support::golden;

/// A profile that uses every record kind and field the store keeps.
fn fixture(extra_frame: bool) -> Profile {
    let mut b = ProfileBuilder::new(&[("samples", "count"), ("cpu", "nanoseconds")]);
    b.set_period("cpu", "nanoseconds", 52_631_578);
    b.set_time(1_700_000_000_000_000_000, 10_000_000_000);
    b.set_default_sample_type("cpu");
    let m = b.mapping(MappingInfo {
        memory_start: 0x5555_0000_1000,
        memory_limit: 0x5555_0000_9000,
        file_offset: 0x100,
        filename: "/bin/app",
        build_id: "abcd",
        has_functions: true,
        has_line_numbers: true,
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
    let line = |function_id, line, column| Line {
        function_id,
        line,
        column,
    };
    let l_main = b.location(m, 0x5555_0000_1234, &[line(main, 7, 2)]);
    let l_work = b.location(m, 0x5555_0000_2345, &[line(work, 40, 0), line(main, 12, 0)]);
    let kernel = b.location(0, 0xffff_ffff_8100_0000, &[]);
    let pid = b.label_num("pid", 42, "");
    let thread = b.label_str("thread", "worker-1");
    b.add_sample(&[l_work, l_main], &[3, 3 * 52_631_578], &[thread, pid]);
    b.add_sample(&[kernel, l_main], &[-1, 52_631_578], &[pid]);
    if extra_frame {
        let late = b.function(FunctionInfo {
            name: "late",
            ..FunctionInfo::default()
        });
        let l_late = b.location(m, 0x5555_0000_3456, &[line(late, 1, 1)]);
        b.add_sample(&[l_late, l_main], &[1, 52_631_578], &[]);
    }
    b.build()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    })
}

/// Every entry of every tree of the sled database in `dir`, one per line.
fn dump(dir: &std::path::Path) -> String {
    let db = common::once_released(
        || sled::open(dir),
        |e| e.to_string().contains("could not acquire lock"),
    );
    let mut names: Vec<_> = db.tree_names();
    names.sort();
    let mut out = String::new();
    for name in names {
        let tree = db.open_tree(&name).unwrap();
        let name = String::from_utf8_lossy(&name).into_owned();
        if name.starts_with("__sled__") {
            continue;
        }
        for entry in tree.iter() {
            let (key, value) = entry.unwrap();
            writeln!(out, "{name} {} {}", hex(&key), hex(&value)).unwrap();
        }
    }
    out
}

#[test]
fn the_store_writes_the_bytes_of_its_format_version() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = Store::open(dir.path(), StoreOptions::default()).unwrap();
        let labels = Labels::new([("__name__", "process_cpu"), ("service", "api")]).unwrap();
        store.ingest(&labels, &fixture(false), 1_000).unwrap();
        // New symbols go to a second chunk; known ones are not written again.
        store.ingest(&labels, &fixture(true), 2_000).unwrap();
    }
    let actual = dump(dir.path());
    // A difference means the bytes changed: bump FORMAT_VERSION first,
    // unless it only adds an entry that builds without it ignore and builds
    // with it do without (see the docs of `format_version`).
    golden!(&format!("format_{FORMAT_VERSION}.txt"), &actual);
}
