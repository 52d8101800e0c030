//! A library loaded with `dlopen` after the process was first sampled: the
//! `dlopen` mode of `testdata/workloads/nofp/spin.c` runs for a while with
//! only the program and libc mapped, then loads `plugin.c`'s build and
//! spends the rest of its time in `main -> run_plugin -> plugin_run ->
//! plugin_middle -> plugin_leaf`, where the middle two are in the library
//! and `plugin_leaf` is back in the program. Nothing keeps frame pointers.
//!
//! The process's unwind tables predate the library, so its first samples
//! in the library's code must make the sampler read the mappings again
//! and load the library's table; after that, the samples at `plugin_leaf`
//! must hold the whole chain and reach `_start` (99%, as in
//! `unwind_tables.rs`). Frame pointers alone cannot cross the library.
//!
//! Needs root (or CAP_BPF + CAP_PERFMON); CI runs as root.

mod common;

use std::path::Path;

use brasa_agent::record::{RecordOptions, Recording};
use brasa_profile::Profile;
use common::{
    contains_chain,
    nofp::{build_nofp_c, build_nofp_plugin},
    physical_stacks,
    recording::{record_command, workload_pid},
};

/// About 2,000 samples in the library: a 99% rate is 20 samples of slack.
const FREQUENCY: u64 = 997;
/// Milliseconds of CPU time spent in the library (after 300 before it).
const RUN_MS: &str = "2000";
/// The bar of `unwind_tables.rs`.
const MIN_COMPLETE: f64 = 0.99;
/// The first frame of a process's main thread.
const ROOT: &str = "_start";
/// The leaf of the samples that matter, in the program.
const LEAF: &str = "plugin_leaf";
/// From the program into the library and back.
const CHAIN: &[&str] = &["main", "run_plugin", "plugin_run", "plugin_middle", LEAF];

/// Records `binary dlopen RUN_MS plugin`.
fn record_with(binary: &Path, plugin: &Path, unwind_tables: bool) -> (Recording, Profile) {
    let mut options = RecordOptions::default();
    options.sampling.unwind_tables = unwind_tables;
    let argv = vec![
        binary.as_os_str().to_owned(),
        "dlopen".into(),
        RUN_MS.into(),
        plugin.as_os_str().to_owned(),
    ];
    record_command(argv, FREQUENCY, options)
}

/// Of the workload's samples at [`LEAF`]: how many, and how many hold
/// [`CHAIN`] and reach [`ROOT`]; with the heaviest stacks that do not.
struct AtLeaf {
    total: u64,
    at_leaf: u64,
    complete: u64,
    incomplete: Vec<(Vec<String>, u64)>,
}

impl AtLeaf {
    fn of(profile: &Profile) -> Self {
        let mut rates = AtLeaf {
            total: 0,
            at_leaf: 0,
            complete: 0,
            incomplete: Vec::new(),
        };
        // Samples at different addresses can have the same names.
        let mut incomplete = std::collections::HashMap::<Vec<String>, u64>::new();
        for (frames, count) in physical_stacks(profile, workload_pid(profile)) {
            rates.total += count;
            if frames.last().is_none_or(|f| f != LEAF) {
                continue;
            }
            rates.at_leaf += count;
            if frames.first().is_some_and(|f| f == ROOT) && contains_chain(&frames, CHAIN) {
                rates.complete += count;
            } else {
                *incomplete.entry(frames).or_default() += count;
            }
        }
        rates.incomplete = incomplete.into_iter().collect();
        rates
            .incomplete
            .sort_by_key(|(_, count)| std::cmp::Reverse(*count));
        rates
    }

    fn rate(&self) -> f64 {
        self.complete as f64 / self.at_leaf.max(1) as f64
    }

    fn print(&self, who: &str) {
        println!(
            "{who:>22}: {:5} samples, {:5} at {LEAF}, with the chain from {ROOT} {:6.2}%",
            self.total,
            self.at_leaf,
            100.0 * self.rate()
        );
        for (frames, count) in self.incomplete.iter().take(5) {
            println!("{count:5} {}", frames.join(";"));
        }
    }
}

#[test]
fn a_library_loaded_with_dlopen_gets_its_table() {
    let binary = build_nofp_c("unwind-spin-dlopen");
    let plugin = build_nofp_plugin("unwind-plugin.so");

    let (recording, profile) = record_with(&binary, &plugin, true);
    let tables = AtLeaf::of(&profile);
    let (_, fp_profile) = record_with(&binary, &plugin, false);
    let fp = AtLeaf::of(&fp_profile);
    tables.print("brasa, unwind tables");
    fp.print("brasa, frame pointers");
    let stats = &recording.stats;
    println!("sampler counters: {stats:?}");
    // Each sample taken between the dlopen and the refresh that loads the
    // library's table ends its walk at the library.
    println!(
        "{} samples met a mapping unknown to the tables",
        stats.unwind_unknown_mapping
    );

    assert!(
        tables.at_leaf > 1000,
        "too few samples at {LEAF}: {}",
        tables.at_leaf
    );
    assert!(
        tables.rate() >= MIN_COMPLETE,
        "{:.2}% of the samples at {LEAF} hold the chain from {ROOT}",
        100.0 * tables.rate()
    );
    // The refresh follows the first miss within a poll of the events: the
    // samples lost meanwhile are few next to those at the leaf.
    assert!(
        stats.unwind_unknown_mapping as f64 <= (1.0 - MIN_COMPLETE) * tables.at_leaf as f64,
        "{} samples met an unknown mapping, against {} at {LEAF}",
        stats.unwind_unknown_mapping,
        tables.at_leaf
    );
    // Without tables, the walk cannot cross the library's frames.
    assert!(
        fp.rate() < 0.5,
        "frame pointers alone found the chain in {:.2}%",
        100.0 * fp.rate()
    );
}
