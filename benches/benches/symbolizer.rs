//! Brasa's symbolizer on 10,000 addresses of the bench binary itself (built
//! with `debug = 1`: line tables and inlined frames): cold (a new
//! symbolizer parses the binary) and warm (the agent's case at every drain:
//! the same symbolizer, results cached). `benches/sampler/symbolize.sh`
//! compares the same workload with addr2line and llvm-symbolizer.

use std::sync::Arc;

use brasa_symbolizer::{
    addr::{AbsAddr, FileOffset},
    elf::ElfSymbolizer,
    process::{MappedFile, ProcessMaps},
};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

/// Addresses per batch, as in the comparison script.
const ADDRESSES: usize = 10_000;

/// Evenly spread file offsets over this binary's code, and the binary.
fn own_code() -> (Arc<MappedFile>, Vec<FileOffset>) {
    let here = AbsAddr(own_code as fn() -> (Arc<MappedFile>, Vec<FileOffset>) as usize as u64);
    let maps = ProcessMaps::snapshot(std::process::id()).expect("own maps");
    let mapping = maps.find(here).expect("own code is mapped");
    let file = mapping.file.clone().expect("own binary is open");
    let range = mapping.range;
    let len = range.end.0 - range.start.0;
    let step = (len / ADDRESSES as u64).max(1);
    let offsets = (0..ADDRESSES as u64)
        .map(|i| range.file_offset_of(AbsAddr(range.start.0 + (i * step) % len)))
        .collect();
    (file, offsets)
}

fn symbolize(c: &mut Criterion) {
    let (file, offsets) = own_code();
    let mut group = c.benchmark_group("symbolize");
    group.throughput(Throughput::Elements(offsets.len() as u64));
    group.sample_size(10);
    group.bench_function("cold", |b| {
        b.iter(|| ElfSymbolizer::default().symbolize(&file, &offsets))
    });
    let mut warm = ElfSymbolizer::default();
    warm.symbolize(&file, &offsets);
    group.bench_function("warm", |b| b.iter(|| warm.symbolize(&file, &offsets)));
    group.finish();
}

criterion_group!(benches, symbolize);
criterion_main!(benches);
