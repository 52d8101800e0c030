//! Unwind tables (`brasa_symbolizer::unwind`): build time of Debian's libc
//! and libstdc++ tables, as throughput in bytes of `.eh_frame` (criterion
//! prints MiB/s), and the memory the tables of a C++ process take: the rows
//! of libstdc++ and the libraries it pulls in (libm, libgcc_s, libc, the
//! dynamic loader), printed once before the measurements.

use std::path::Path;

use brasa_symbolizer::unwind::{build_from_bytes, build_from_path, ROW_SIZE};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

const LIBC: &str = "/lib/x86_64-linux-gnu/libc.so.6";
const LIBSTDCXX: &str = "/usr/lib/x86_64-linux-gnu/libstdc++.so.6";

/// What a C++ program linked against libstdc++ maps, besides itself.
const CXX_PROCESS: [&str; 5] = [
    LIBSTDCXX,
    "/lib/x86_64-linux-gnu/libm.so.6",
    "/lib/x86_64-linux-gnu/libgcc_s.so.1",
    LIBC,
    "/lib64/ld-linux-x86-64.so.2",
];

fn report_memory() {
    let mut total_rows = 0;
    for path in CXX_PROCESS {
        let built = build_from_path(Path::new(path)).expect("Debian's libraries are installed");
        let rows = built.table.rows().len();
        total_rows += rows;
        eprintln!(
            "unwind table {path}: .eh_frame {} bytes, {} FDEs, {rows} rows x {ROW_SIZE} B = {} bytes",
            built.stats.eh_frame_bytes,
            built.stats.fdes,
            built.table.size_bytes(),
        );
    }
    eprintln!(
        "unwind tables of a libstdc++ process: {total_rows} rows x {ROW_SIZE} B = {} bytes ({:.2} MiB)",
        total_rows * ROW_SIZE,
        (total_rows * ROW_SIZE) as f64 / (1 << 20) as f64,
    );
}

fn build(c: &mut Criterion) {
    report_memory();
    let mut group = c.benchmark_group("unwind_build");
    group.sample_size(20);
    for (name, path) in [("libc", LIBC), ("libstdc++", LIBSTDCXX)] {
        let bytes = std::fs::read(path).expect("Debian's libraries are installed");
        let path = Path::new(path);
        let eh_frame = build_from_bytes(&bytes, path)
            .expect("builds")
            .stats
            .eh_frame_bytes;
        group.throughput(Throughput::Bytes(eh_frame));
        group.bench_function(name, |b| {
            b.iter(|| build_from_bytes(&bytes, path).expect("builds"))
        });
    }
    group.finish();
}

criterion_group!(benches, build);
criterion_main!(benches);
