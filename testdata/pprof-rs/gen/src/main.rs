//! Burns CPU in two known functions under pprof-rs and writes the profile
//! as raw (uncompressed) pprof protobuf, as pprof-rs produces it.

use std::{hint::black_box, io::Write};

use pprof::protos::Message;

#[inline(never)]
fn fibonacci(n: u64) -> u64 {
    if n < 2 {
        n
    } else {
        fibonacci(n - 1) + fibonacci(n - 2)
    }
}

#[inline(never)]
fn checksum(rounds: u64) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    for i in 0..rounds {
        h = (h ^ i).wrapping_mul(0x0100_0000_01b3);
    }
    h
}

fn main() {
    let out = std::env::args().nth(1).unwrap_or_else(|| "cpu.pb".into());
    let guard = pprof::ProfilerGuardBuilder::default()
        .frequency(997)
        .blocklist(&["libc", "libgcc", "pthread", "vdso"])
        .build()
        .expect("profiler starts");
    let start = std::time::Instant::now();
    while start.elapsed().as_secs_f64() < 2.0 {
        black_box(fibonacci(black_box(27)));
        black_box(checksum(black_box(3_000_000)));
    }
    let profile = guard
        .report()
        .build()
        .expect("report")
        .pprof()
        .expect("pprof");
    let mut bytes = Vec::new();
    profile.encode(&mut bytes).expect("encode");
    std::fs::File::create(out)
        .and_then(|mut f| f.write_all(&bytes))
        .expect("write");
}
