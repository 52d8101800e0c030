//! Decode and merge throughput of `brasa-profile` on the recorded fixtures.

use brasa_profile::{codec, merge::Merger, Profile};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

const FIXTURES: &[&str] = &["go/cpu.pb.gz", "pprof-rs/cpu.pb"];

fn read(name: &str) -> Vec<u8> {
    std::fs::read(brasa_test_support::testdata(name)).expect("fixture exists")
}

fn decode(c: &mut Criterion) {
    let mut group = c.benchmark_group("decode");
    for name in FIXTURES {
        let bytes = read(name);
        group.throughput(Throughput::Bytes(bytes.len() as u64));
        group.bench_with_input(BenchmarkId::from_parameter(name), &bytes, |b, bytes| {
            b.iter(|| codec::decode(bytes).expect("fixture decodes"))
        });
    }
    group.finish();
}

fn merge(c: &mut Criterion) {
    let mut group = c.benchmark_group("merge");
    for name in FIXTURES {
        let profile = codec::decode(&read(name)).expect("fixture decodes");
        let inputs: Vec<Profile> = (0..100).map(|_| profile.clone()).collect();
        let samples: usize = inputs.iter().map(|p| p.sample.len()).sum();
        group.throughput(Throughput::Elements(samples as u64));
        group.bench_with_input(BenchmarkId::new("100x", name), &inputs, |b, inputs| {
            b.iter(|| {
                let mut merger = Merger::new();
                for p in inputs {
                    merger.add(p).expect("same sample types");
                }
                merger.finish()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, decode, merge);
criterion_main!(benches);
