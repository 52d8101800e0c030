//! What durability costs in the store: inserting agent-like profiles with
//! no flush, with one commit (fsync) per profile from one writer, and with
//! group commit from eight concurrent writers.

use brasa_benches::agent_like::{Program, INTERVAL_NANOS};
use brasa_profile::Profile;
use brasa_store::{labels::Labels, Store, StoreOptions};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

/// Profiles written per measured iteration.
const PROFILES: usize = 200;
/// Concurrent writers for group commit.
const WRITERS: usize = 8;

fn inputs() -> Vec<(Labels, Profile)> {
    (0..PROFILES as u64)
        .map(|i| {
            let labels = Labels::new([("comm", format!("service_{}", i % 20))]).unwrap();
            (
                labels,
                Program::new(i % 20).profile(i / 20, INTERVAL_NANOS * i as i64),
            )
        })
        .collect()
}

fn commit(c: &mut Criterion) {
    let inputs = inputs();
    let records: usize = inputs.iter().map(|(_, p)| p.sample.len()).sum();
    let mut group = c.benchmark_group("store_commit");
    group.sample_size(10);
    group.throughput(Throughput::Elements(records as u64));
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), StoreOptions::default()).unwrap();
    let mut time = 0u64;
    let mut next_time = || {
        time += 1_000_000_000_000;
        time
    };
    group.bench_function(BenchmarkId::new("no_flush", PROFILES), |b| {
        b.iter(|| {
            let t = next_time();
            for (i, (labels, p)) in inputs.iter().enumerate() {
                let _ = store.insert(labels, p, t + i as u64).unwrap();
            }
        })
    });
    group.bench_function(BenchmarkId::new("commit_each_1_writer", PROFILES), |b| {
        b.iter(|| {
            let t = next_time();
            for (i, (labels, p)) in inputs.iter().enumerate() {
                store.ingest(labels, p, t + i as u64).unwrap();
            }
        })
    });
    group.bench_function(
        BenchmarkId::new(format!("group_commit_{WRITERS}_writers"), PROFILES),
        |b| {
            b.iter(|| {
                let t = next_time();
                std::thread::scope(|scope| {
                    for w in 0..WRITERS {
                        let (store, inputs) = (&store, &inputs);
                        scope.spawn(move || {
                            for (i, (labels, p)) in
                                inputs.iter().enumerate().skip(w).step_by(WRITERS)
                            {
                                store.ingest(labels, p, t + i as u64).unwrap();
                            }
                        });
                    }
                });
            })
        },
    );
    group.finish();
    println!(
        "flushes by group commit during the run: {}",
        store.flushes()
    );
}

criterion_group!(benches, commit);
criterion_main!(benches);
