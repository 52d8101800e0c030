//! Agent-like profiles for the store and server benchmarks.
//!
//! Each series is one "program": a call tree of a few hundred functions in
//! one executable mapping, from which about 150 distinct stacks (10-30
//! frames) are drawn. Each 10 s profile samples about 100 of those stacks
//! with small counts, as the agent does at 19 Hz for a process using one
//! to two cores: `samples/count` and `cpu/nanoseconds`, period 1e9/19, a
//! numeric `pid` sample label. Everything is deterministic (seeded).

use brasa_profile::{
    builder::{FunctionInfo, MappingInfo},
    pprof::Line,
    Profile, ProfileBuilder,
};

/// The agent's default sampling frequency (Hz).
pub const FREQUENCY_HZ: i64 = 19;
/// The agent's upload interval.
pub const INTERVAL_NANOS: i64 = 10_000_000_000;
/// Functions per program.
const FUNCTIONS: usize = 400;
/// Distinct stacks per program.
const STACKS: usize = 150;
/// Stacks present in one profile (out of [`STACKS`]).
const STACKS_PER_PROFILE: usize = 100;

/// A small deterministic generator (splitmix64).
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n`.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

/// One simulated program: its functions and the stacks it runs.
#[derive(Debug, Clone)]
pub struct Program {
    seed: u64,
    names: Vec<(String, String, u64)>,
    /// Stacks as function indexes, leaf first.
    stacks: Vec<Vec<usize>>,
    pid: i64,
}

impl Program {
    /// The program of series number `series`.
    pub fn new(series: u64) -> Self {
        let mut rng = Rng::new(series.wrapping_mul(7919) ^ 0x5eed);
        let crate_name = format!("service_{series}");
        let names = (0..FUNCTIONS)
            .map(|f| {
                let module = f % 23;
                (
                    format!("{crate_name}::module_{module}::function_{f}"),
                    format!("src/module_{module}.rs"),
                    0x40_0000 + (f as u64) * 0x1f0,
                )
            })
            .collect();
        // A call tree: every stack starts at main (0) and walks down through
        // children, so prefixes are shared the way real programs share them.
        let stacks = (0..STACKS)
            .map(|_| {
                let depth = 10 + rng.below(21);
                let mut stack = vec![0];
                let mut current = 0;
                for _ in 1..depth {
                    current = (current * 3 + 1 + rng.below(4)) % FUNCTIONS;
                    stack.push(current);
                }
                stack.reverse();
                stack
            })
            .collect();
        Self {
            seed: series,
            names,
            stacks,
            pid: 1000 + series as i64,
        }
    }

    /// The profile this program yields for interval number `interval`.
    pub fn profile(&self, interval: u64, time_nanos: i64) -> Profile {
        let mut rng = Rng::new(self.seed << 20 ^ interval);
        let mut builder = ProfileBuilder::new(&[("samples", "count"), ("cpu", "nanoseconds")]);
        let period = 1_000_000_000 / FREQUENCY_HZ;
        builder.set_period("cpu", "nanoseconds", period);
        builder.set_time(time_nanos, INTERVAL_NANOS);
        builder.set_default_sample_type("cpu");
        let mapping = builder.mapping(MappingInfo {
            memory_start: 0x40_0000,
            memory_limit: 0x80_0000,
            filename: "/usr/local/bin/service",
            build_id: "5f0c4d2e9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d",
            has_functions: true,
            has_filenames: true,
            has_line_numbers: true,
            ..MappingInfo::default()
        });
        let pid = builder.label_num("pid", self.pid, "");
        let mut locations = Vec::new();
        for _ in 0..STACKS_PER_PROFILE {
            let stack = &self.stacks[rng.below(STACKS)];
            locations.clear();
            for (depth, &f) in stack.iter().enumerate() {
                let (name, file, address) = &self.names[f];
                let function_id = builder.function(FunctionInfo {
                    name,
                    filename: file,
                    start_line: 10 + f as i64,
                    ..FunctionInfo::default()
                });
                let line = Line {
                    function_id,
                    line: 12 + f as i64 + (depth % 3) as i64,
                    column: 0,
                };
                locations.push(builder.location(
                    mapping,
                    address + (depth % 3) as u64 * 4,
                    &[line],
                ));
            }
            let count = 1 + (rng.below(8) / 3) as i64;
            builder.add_sample(&locations, &[count, count * period], &[pid]);
        }
        builder.build()
    }
}

/// Sum of the `samples/count` values: sampled events.
pub fn events(profile: &Profile) -> i64 {
    profile.sample.iter().map(|s| s.value[0]).sum()
}
