//! A damaged data directory: [`Store::open`] refuses it with an error
//! naming the damaged file (never a panic, never a store that quietly lost
//! profiles), and [`check`] names the damage without changing a byte.
//!
//! What sled itself does with each kind of damage is in the docs of the
//! store's `sled_open` module; the tests below hold Brasa to its side.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
};

use brasa_profile::folded::Folded;
use brasa_store::{
    check::{check, Report},
    labels::Labels,
    Error, Store, StoreOptions,
};

mod common;

/// Series in the test store.
const SERIES: [&str; 3] = ["api", "db", "web"];

/// Writes a store of `per_series` profiles in each of [`SERIES`], one
/// commit each, and waits until sled has let go of its files.
fn write_store(dir: &Path, per_series: u64) {
    let store = Store::open(dir, StoreOptions::default()).unwrap();
    for (s, service) in SERIES.iter().enumerate() {
        let labels = Labels::new([("__name__", "process_cpu"), ("service", service)]).unwrap();
        for i in 0..per_series {
            let text = format!("main;work_{s};step_{i} {}\nmain;idle 2\n", i + 1);
            let profile = Folded::parse(&text).unwrap().to_profile();
            store.ingest(&labels, &profile, 1_000 + i).unwrap();
        }
    }
    drop(store);
    common::wait_released(dir);
}

/// A small store in a new temporary directory: 60 profiles in one sled
/// segment, every byte of it live.
fn small_store() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    write_store(&dir, 20);
    (tmp, dir)
}

/// Every file under `dir` with its bytes.
fn files(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files(&path));
        } else {
            out.insert(path.clone(), std::fs::read(&path).unwrap());
        }
    }
    out
}

/// Checks `dir`, asserting that the check changed none of its files.
fn check_unchanged(dir: &Path) -> Report {
    let before = files(dir);
    let report = check(dir).unwrap();
    assert!(
        before == files(dir),
        "brasa store check changed {}",
        dir.display()
    );
    report
}

/// The error of opening `dir`, which must fail.
fn open_error(dir: &Path) -> Error {
    match Store::open(dir, StoreOptions::default()) {
        Ok(_) => panic!("{} opened although it is damaged", dir.display()),
        Err(error) => error,
    }
}

/// Asserts that `error` is [`Error::Damaged`] about `file`, with a message
/// that names it and says what to do.
fn assert_damaged(error: &Error, file: &Path) {
    match error {
        Error::Damaged { path, .. } => assert_eq!(path, file, "{error}"),
        other => panic!("expected damage to {}, got {other:?}", file.display()),
    }
    let message = error.to_string();
    assert!(message.contains(&file.display().to_string()), "{message}");
    assert!(message.contains("brasa store check"), "{message}");
    assert!(message.contains("backup"), "{message}");
}

/// Asserts that `report` lists damage to `file`.
fn assert_reported(report: &Report, file: &str) {
    assert!(!report.is_clean(), "{report:?}");
    assert!(
        report.damage.iter().any(|d| d.file == file),
        "no damage to {file} in {report:#?}"
    );
}

#[test]
fn a_clean_store_checks_clean_and_is_left_as_it_was() {
    let (_tmp, dir) = small_store();
    let report = check_unchanged(&dir);
    assert!(report.is_clean(), "{report:#?}");
    assert!(report.database_read);
    assert_eq!(report.series, 3);
    assert_eq!(report.profiles_ok, 60);
    assert_eq!(report.profiles_damaged, 0);
    // And it still opens with everything in it.
    let store = Store::open(&dir, StoreOptions::default()).unwrap();
    assert_eq!(store.series_count(), 3);
}

#[test]
fn a_truncated_database_is_refused_and_checked() {
    let (_tmp, dir) = small_store();
    let db = dir.join("db");
    let len = std::fs::metadata(&db).unwrap().len();
    let file = std::fs::OpenOptions::new().write(true).open(&db).unwrap();
    file.set_len(len / 2).unwrap();
    drop(file);

    let report = check_unchanged(&dir);
    assert_reported(&report, "db");
    assert!(report.database_read);
    // sled recovers what precedes the cut and nothing after it.
    assert!(report.profiles_ok < 60, "{report:?}");
    assert_eq!(report.profiles_damaged, 0, "{report:?}");
    let what = &report.damage.iter().find(|d| d.file == "db").unwrap().what;
    assert!(what.contains("of the 60"), "{what}");

    let error = open_error(&dir);
    assert_damaged(&error, &db);
    // Refused again: the database does not pass for whole once sled has
    // recovered it.
    common::wait_released(&dir);
    assert_damaged(&open_error(&dir), &db);
}

#[test]
fn a_database_cut_to_nothing_is_refused() {
    let (_tmp, dir) = small_store();
    let db = dir.join("db");
    std::fs::write(&db, b"").unwrap();
    assert_reported(&check_unchanged(&dir), "db");
    assert_damaged(&open_error(&dir), &db);
}

#[test]
fn a_database_garbled_in_the_middle_is_refused_and_checked() {
    let (_tmp, dir) = small_store();
    let db = dir.join("db");
    let mut bytes = std::fs::read(&db).unwrap();
    let middle = bytes.len() / 2;
    for byte in &mut bytes[middle..middle + 64] {
        *byte ^= 0x5A;
    }
    std::fs::write(&db, bytes).unwrap();

    let report = check_unchanged(&dir);
    assert_reported(&report, "db");
    assert!(report.profiles_ok < 60, "{report:?}");
    assert_damaged(&open_error(&dir), &db);
}

#[test]
fn a_garbled_format_file_is_refused_and_checked() {
    let (_tmp, dir) = small_store();
    let format = dir.join("FORMAT");
    std::fs::write(&format, b"2\x00garbage").unwrap();

    let report = check_unchanged(&dir);
    assert_reported(&report, "FORMAT");
    // The rest is read as the current format, and is whole.
    assert_eq!(report.damage.len(), 1, "{report:#?}");
    assert_eq!(report.profiles_ok, 60);

    let error = open_error(&dir);
    match &error {
        Error::FormatUnreadable { path } => assert_eq!(path, &format),
        other => panic!("expected an unreadable FORMAT, got {other:?}"),
    }
    assert!(error.to_string().contains(&format.display().to_string()));
}

#[test]
fn a_garbled_sled_conf_is_refused_and_checked() {
    let (_tmp, dir) = small_store();
    let conf = dir.join("conf");
    let mut bytes = std::fs::read(&conf).unwrap();
    // A digit of the segment size: still parses, so sled alone would
    // misread the whole log.
    let at = bytes.iter().position(u8::is_ascii_digit).unwrap();
    bytes[at] = if bytes[at] == b'9' {
        b'1'
    } else {
        bytes[at] + 1
    };
    std::fs::write(&conf, bytes).unwrap();

    let report = check_unchanged(&dir);
    assert_reported(&report, "conf");
    assert_eq!(report.damage.len(), 1, "{report:#?}");
    assert_eq!(report.profiles_ok, 60, "the database is read without it");
    assert_damaged(&open_error(&dir), &conf);
}

#[test]
fn a_garbled_commit_count_is_refused_and_checked() {
    let (_tmp, dir) = small_store();
    let commits = dir.join("COMMITS");
    assert_eq!(std::fs::read_to_string(&commits).unwrap(), "60\n");
    std::fs::write(&commits, b"6\xff\n").unwrap();
    assert_reported(&check_unchanged(&dir), "COMMITS");
    assert_damaged(&open_error(&dir), &commits);
}

/// On a store of several sled segments, a cut or a garbled stretch of
/// `db` makes sled drop the rest of its log without a word, or panic inside
/// its recovery (which of the two depends on where the segments' pages
/// happen to lie); either way the store reports damage to `db`, and the
/// process goes on.
#[test]
fn damage_anywhere_in_a_larger_database_is_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let clean = tmp.path().join("clean");
    write_store(&clean, 700);
    let clean_db = std::fs::read(clean.join("db")).unwrap();
    assert!(clean_db.len() > 1 << 20, "several segments of 512 KiB");
    let mut messages = Vec::new();
    for tenth in 1..10 {
        for damage in ["truncate", "garble"] {
            let dir = tmp.path().join(format!("{damage}-{tenth}"));
            std::fs::create_dir_all(&dir).unwrap();
            for (path, bytes) in files(&clean) {
                std::fs::write(dir.join(path.file_name().unwrap()), bytes).unwrap();
            }
            let mut bytes = clean_db.clone();
            let at = bytes.len() * tenth / 10;
            if damage == "truncate" {
                bytes.truncate(at);
            } else {
                for byte in &mut bytes[at..at + 256] {
                    *byte ^= 0x5A;
                }
            }
            let db = dir.join("db");
            std::fs::write(&db, bytes).unwrap();
            let report = check_unchanged(&dir);
            // Damage to a segment that later ones replaced loses nothing.
            if report.is_clean() {
                assert_eq!(report.profiles_ok, 2100, "{damage} at {tenth}/10");
                Store::open(&dir, StoreOptions::default()).unwrap();
                continue;
            }
            assert_reported(&report, "db");
            let error = open_error(&dir);
            assert_damaged(&error, &db);
            messages.push(format!("{damage} at {tenth}/10: {error}"));
        }
    }
    assert!(messages.len() >= 4, "{messages:#?}");
}

#[test]
fn damaged_records_are_named_with_their_keys() {
    let (_tmp, dir) = small_store();
    {
        // Damage two records through sled itself: the log stays whole.
        let db = sled::open(&dir).unwrap();
        let profiles = db.open_tree("profiles").unwrap();
        let mut key = [0u8; 16];
        key[..8].copy_from_slice(&1u64.to_be_bytes());
        key[8..].copy_from_slice(&1_005u64.to_be_bytes());
        profiles.insert(key, &[4u8, 1, 2, 0xff][..]).unwrap();
        // A profile of a series the index does not have.
        key[..8].copy_from_slice(&9u64.to_be_bytes());
        profiles.insert(key, &[3u8, 0][..]).unwrap();
        db.flush().unwrap();
    }
    common::wait_released(&dir);

    let report = check_unchanged(&dir);
    assert_eq!(report.profiles_ok, 59, "{report:#?}");
    assert_eq!(report.profiles_damaged, 2, "{report:#?}");
    let listed: Vec<String> = report.damage.iter().map(ToString::to_string).collect();
    assert!(
        listed
            .iter()
            .any(|d| d.starts_with("db, tree profiles, key series 1 time 1005: profile blob")),
        "{listed:#?}"
    );
    assert!(
        listed
            .iter()
            .any(|d| d
                == "db, tree profiles, key series 9 time 1005: the series is not in the index"),
        "{listed:#?}"
    );
}

#[test]
fn a_directory_without_a_store_cannot_be_checked() {
    let tmp = tempfile::tempdir().unwrap();
    assert!(matches!(check(tmp.path()), Err(Error::NotAStore { .. })));
    assert!(matches!(
        check(&tmp.path().join("missing")),
        Err(Error::Io(_))
    ));
}

#[test]
fn a_store_in_use_is_not_checked() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    let _store = Store::open(&dir, StoreOptions::default()).unwrap();
    assert!(matches!(check(&dir), Err(Error::Locked { .. })));
}
