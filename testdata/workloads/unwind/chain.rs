//! A Rust release build without frame pointers for the unwind table
//! tests: `rustc -O -C force-frame-pointers=no chain.rs`. Prints a number
//! computed through a few non-inlined calls, a closure and a caught panic,
//! so the binary has ordinary, landing-pad and std frames.

use std::hint::black_box;

#[inline(never)]
fn leaf(values: &mut [u64]) -> u64 {
    values.sort_unstable_by(|a, b| b.cmp(a));
    values.iter().copied().fold(0, u64::wrapping_add)
}

#[inline(never)]
fn middle(n: u64) -> u64 {
    let mut values: Vec<u64> = (0..n).map(|i| i.wrapping_mul(2654435761) % 1000).collect();
    leaf(black_box(&mut values)) + 1
}

#[inline(never)]
fn fallible(n: u64) -> u64 {
    std::panic::catch_unwind(|| {
        if black_box(n) == 0 {
            panic!("zero");
        }
        middle(n)
    })
    .unwrap_or(0)
}

fn main() {
    let n = std::env::args().count() as u64 * 100;
    println!("{}", fallible(black_box(n)));
}
