//! The store under an hour of agent-like data: 100 series x 360 profiles
//! (one per 10 s), 36,000 profiles.
//!
//! Prints, before the criterion groups run:
//! - bytes on disk per stored sample, next to the size each candidate
//!   per-profile compression of whole pprof would give (the measurement
//!   behind per-series symbol tables);
//! - the same 36,000-profile merge done by `go tool pprof -proto`, timed
//!   once, next to Brasa's (when `go` is installed).
//!
//! Criterion then times the merge of all 36,000 profiles into a flame
//! graph (merge, fold, render SVG), and the merge alone.

use std::{io::Write, path::Path, time::Instant};

use brasa_benches::agent_like::{events, Program, INTERVAL_NANOS};
use brasa_profile::{
    codec, folded::Folded, render::flamegraph_svg, render::FlameGraphOptions,
    sample_type::sample_type_index,
};
use brasa_store::{labels::Labels, Store, StoreOptions};
use criterion::{criterion_group, criterion_main, Criterion};
use prost::Message;

const SERIES: u64 = 100;
const INTERVALS: u64 = 360;
const T0: i64 = 1_800_000_000_000_000_000;

struct Loaded {
    _dir: tempfile::TempDir,
    store: Store,
}

fn load() -> Loaded {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), StoreOptions::default()).unwrap();
    let programs: Vec<Program> = (0..SERIES).map(Program::new).collect();
    let labels: Vec<Labels> = (0..SERIES)
        .map(|s| {
            Labels::new([
                ("__name__", "process_cpu".to_owned()),
                ("host", format!("host-{}", s % 10)),
                ("comm", format!("service_{s}")),
                ("exe", format!("/usr/local/bin/service_{s}")),
            ])
            .unwrap()
        })
        .collect();
    let (mut records, mut sampled, mut raw_bytes, mut gzip_bytes) = (0u64, 0i64, 0u64, 0u64);
    let (mut zstd3, mut zstd19) = (0u64, 0u64);
    for interval in 0..INTERVALS {
        let time = T0 + interval as i64 * INTERVAL_NANOS;
        let mut last = None;
        for (program, labels) in programs.iter().zip(&labels) {
            let profile = program.profile(interval, time);
            let raw = profile.encode_to_vec();
            records += profile.sample.len() as u64;
            sampled += events(&profile);
            raw_bytes += raw.len() as u64;
            // Candidate codecs, measured on a tenth of the profiles.
            if interval % 10 == 0 {
                gzip_bytes += codec::gzip(&raw).len() as u64 * 10;
                zstd3 += zstd::bulk::compress(&raw, 3).unwrap().len() as u64 * 10;
                zstd19 += zstd::bulk::compress(&raw, 19).unwrap().len() as u64 * 10;
            }
            last = Some(store.insert(labels, &profile, time as u64).unwrap());
        }
        store.commit(&last.unwrap()).unwrap();
    }
    store.flush().unwrap();
    let blob_bytes: u64 = store
        .series_ids()
        .iter()
        .flat_map(|&id| {
            store
                .scan(id, 0, u64::MAX)
                .map(|e| e.unwrap().1.len() as u64)
        })
        .sum();
    let disk = store.size_on_disk().unwrap();
    let profiles = SERIES * INTERVALS;
    println!("store: {profiles} profiles, {records} sample records, {sampled} sampled events");
    println!(
        "  per profile: raw pprof {:.0} B; gzip {:.0}; zstd-3 {:.0}; zstd-19 {:.0}; stored blob (stack ids + values against the series symbol table) {:.0}",
        raw_bytes as f64 / profiles as f64,
        gzip_bytes as f64 / profiles as f64,
        zstd3 as f64 / profiles as f64,
        zstd19 as f64 / profiles as f64,
        blob_bytes as f64 / profiles as f64,
    );
    println!(
        "  on disk: {disk} bytes = {:.2} B/sample record, {:.2} B/sampled event (blobs alone: {:.2} B/record)",
        disk as f64 / records as f64,
        disk as f64 / sampled as f64,
        blob_bytes as f64 / records as f64,
    );
    Loaded { _dir: dir, store }
}

fn flame_graph(store: &Store) -> Vec<u8> {
    let merged = store.merge(&[], 0, u64::MAX).unwrap();
    assert_eq!(merged.profiles as u64, SERIES * INTERVALS);
    let profile = merged.profile.unwrap();
    let index = sample_type_index(&profile, Some("cpu")).unwrap();
    flamegraph_svg(
        &Folded::from_profile(&profile, index),
        &FlameGraphOptions::default(),
    )
    .unwrap()
}

/// Writes the stored profiles as gzip pprof files and times
/// `go tool pprof -proto` merging them.
fn go_pprof_side_by_side(store: &Store) {
    if std::process::Command::new("go")
        .arg("version")
        .output()
        .is_err()
    {
        println!("go tool pprof: `go` not installed, comparison skipped");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for id in store.series_ids() {
        for entry in store.scan(id, 0, u64::MAX) {
            let (time, value) = entry.unwrap();
            let profile = store.load(id, &value).unwrap();
            let path = dir.path().join(format!("{id}-{time}.pb.gz"));
            std::fs::File::create(&path)
                .unwrap()
                .write_all(&codec::encode(&profile))
                .unwrap();
            files.push(path);
        }
    }
    let started = Instant::now();
    let brasa_svg = flame_graph(store);
    let brasa = started.elapsed();
    let out = dir.path().join("merged.pb.gz");
    let started = Instant::now();
    let status = run_pprof(&files, &out, dir.path());
    let go = started.elapsed();
    assert!(status, "go tool pprof failed");
    println!(
        "merge of {} profiles: brasa (merge + flame graph) {:.3} s, go tool pprof -proto {:.3} s, ratio {:.1}x",
        files.len(),
        brasa.as_secs_f64(),
        go.as_secs_f64(),
        go.as_secs_f64() / brasa.as_secs_f64()
    );
    assert!(!brasa_svg.is_empty());
}

fn run_pprof(files: &[std::path::PathBuf], out: &Path, tmp: &Path) -> bool {
    std::process::Command::new("go")
        .args(["tool", "pprof", "-proto", "-output"])
        .arg(out)
        .args(files)
        .env("PPROF_TMPDIR", tmp)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn merge(c: &mut Criterion) {
    let loaded = load();
    go_pprof_side_by_side(&loaded.store);
    let mut group = c.benchmark_group("store_merge");
    group.sample_size(10);
    group.bench_function("hour_100_series_x_360_flamegraph", |b| {
        b.iter(|| flame_graph(&loaded.store))
    });
    group.bench_function("hour_100_series_x_360_merge_only", |b| {
        b.iter(|| loaded.store.merge(&[], 0, u64::MAX).unwrap())
    });
    group.finish();
}

criterion_group!(benches, merge);
criterion_main!(benches);
