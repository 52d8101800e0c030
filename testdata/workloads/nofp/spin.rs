//! A CPU workload without frame pointers, for testing a DWARF (.eh_frame)
//! unwinder against `perf record --call-graph dwarf`; see README.md.
//!
//! `spin cpu MS`: `main -> run_workload -> hot_branch -> spin_leaf` for 3
//! units of work out of 4, `main -> run_workload -> cold_branch ->
//! spin_leaf` for the other one, for MS milliseconds of CPU time.

use std::hint::black_box;

/// Iterations of the leaf loop in one unit of work: about a millisecond.
const UNIT_ITERATIONS: u64 = 400_000;

/// CPU time of the process in milliseconds, not wall time: the workload
/// does the same work on a busy machine.
fn now_ms() -> i64 {
    let mut ts = Timespec { sec: 0, nsec: 0 };
    // SAFETY: `ts` has the layout of `struct timespec` on 64-bit Linux.
    if unsafe { clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &mut ts) } != 0 {
        panic!("clock_gettime failed");
    }
    ts.sec * 1000 + ts.nsec / 1_000_000
}

// std has no CPU-time clock and the workload is built with plain rustc,
// without crates, so the libc call is declared here.
#[repr(C)]
struct Timespec {
    sec: i64,
    nsec: i64,
}
const CLOCK_PROCESS_CPUTIME_ID: i32 = 2;
extern "C" {
    fn clock_gettime(clock: i32, ts: *mut Timespec) -> i32;
}

/// The callers use the result after the call, so that no call of the
/// chain can become a tail call and every frame stays on the stack.
#[inline(never)]
fn spin_leaf(units: u64) -> u64 {
    let mut x = black_box(1u64);
    for _ in 0..units * UNIT_ITERATIONS {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
    }
    x
}

// The arrays, kept alive across the call by black_box, give the callers
// frames of different sizes, so their CFA offsets differ.
#[inline(never)]
fn hot_branch() -> u64 {
    let pad = black_box([3u8; 96]);
    let x = spin_leaf(u64::from(pad[0]));
    black_box(&pad);
    x.wrapping_add(u64::from(pad[95]))
}

#[inline(never)]
fn cold_branch() -> u64 {
    let pad = black_box([1u8; 40]);
    let x = spin_leaf(u64::from(pad[0]));
    black_box(&pad);
    x.wrapping_add(u64::from(pad[39]))
}

#[inline(never)]
fn run_workload(ms: i64) -> u64 {
    let pad = black_box([0u8; 200]);
    let mut total = 0u64;
    let end = now_ms() + ms;
    while now_ms() < end {
        total = total.wrapping_add(hot_branch());
        total = total.wrapping_add(cold_branch());
    }
    black_box(&pad);
    total.wrapping_add(u64::from(pad[199]))
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let usage = || -> ! {
        eprintln!("usage: {} cpu MILLISECONDS", args[0]);
        std::process::exit(2)
    };
    if args.len() != 3 || args[1] != "cpu" {
        usage();
    }
    let ms: i64 = args[2].parse().unwrap_or_else(|_| usage());
    // Printed so that the compiler cannot drop the work.
    println!("{}", run_workload(ms));
}
