//! User stacks without frame pointers, walked by the BPF sampler with unwind
//! tables: the workloads of `testdata/workloads/nofp/` recorded with Brasa
//! and, for reference, with `perf record --call-graph dwarf`, which unwinds
//! a copy of the stack in user space with the same `.eh_frame`.
//!
//! A sample is complete when its user stack reaches the process's first
//! frame (`_start`) and, when its leaf is the workload's hot function, it
//! holds the designed chain from `main` down to that leaf. Both rates are
//! printed for Brasa and perf; Brasa must reach 99% on both.
//!
//! Needs root (or CAP_BPF + CAP_PERFMON) and perf; CI runs as root.

mod common;

use std::{ffi::OsStr, path::Path};

use brasa_agent::record::{RecordOptions, Recording};
use brasa_profile::Profile;
use common::{
    contains_chain,
    nofp::{build_nofp_c, build_nofp_rust},
    perf::{perf_dwarf_record, PerfStack},
    physical_stacks,
    recording::{alone, record_command, workload_pid},
    stacks, Stack,
};

/// About 2,000 samples per run: a 99% rate is then 20 samples of slack.
const FREQUENCY: u64 = 997;
/// Milliseconds of CPU time each workload runs.
const RUN_MS: &str = "2000";
/// The bar for Brasa: 99% of samples complete.
const MIN_COMPLETE: f64 = 0.99;
/// The first frame of a process's main thread.
const ROOT: &str = "_start";

/// What a recording shows, by sample count.
#[derive(Debug, Default)]
struct Rates {
    total: u64,
    /// Samples whose user stack reaches [`ROOT`].
    reach_root: u64,
    /// Samples whose leaf is the workload's hot function.
    at_leaf: u64,
    /// Of those, the ones holding one of the designed chains.
    leaf_with_chain: u64,
}

impl Rates {
    /// `frames` root first.
    fn add(&mut self, frames: &[String], count: u64, leaf: &str, chains: &[&[&str]]) {
        self.total += count;
        if frames.first().is_some_and(|f| f == ROOT) {
            self.reach_root += count;
        }
        if frames.last().is_some_and(|f| f == leaf) {
            self.at_leaf += count;
            if chains.iter().any(|c| contains_chain(frames, c)) {
                self.leaf_with_chain += count;
            }
        }
    }

    fn root_rate(&self) -> f64 {
        self.reach_root as f64 / self.total.max(1) as f64
    }

    fn chain_rate(&self) -> f64 {
        self.leaf_with_chain as f64 / self.at_leaf.max(1) as f64
    }

    fn line(&self, who: &str) -> String {
        format!(
            "{who:>22}: {:5} samples, reach {ROOT} {:6.2}%, {:5} at the leaf with the chain {:6.2}%",
            self.total,
            100.0 * self.root_rate(),
            self.at_leaf,
            100.0 * self.chain_rate()
        )
    }
}

fn brasa_rates(profile: &Profile, pid: i64, leaf: &str, chains: &[&[&str]]) -> Rates {
    let mut rates = Rates::default();
    for (frames, count) in physical_stacks(profile, pid) {
        rates.add(&frames, count, leaf, chains);
    }
    rates
}

fn perf_rates(stacks: &[PerfStack], leaf: &str, chains: &[&[&str]]) -> Rates {
    let mut rates = Rates::default();
    for stack in stacks {
        rates.add(&stack.frames, stack.count, leaf, chains);
    }
    rates
}

fn record_with(binary: &Path, mode: &str, unwind_tables: bool) -> (Recording, Profile) {
    let mut options = RecordOptions::default();
    options.sampling.unwind_tables = unwind_tables;
    record_options(binary, mode, options)
}

fn record_options(binary: &Path, mode: &str, options: RecordOptions) -> (Recording, Profile) {
    let argv = vec![binary.as_os_str().to_owned(), mode.into(), RUN_MS.into()];
    record_command(argv, FREQUENCY, options)
}

fn perf_with(binary: &Path, mode: &str) -> Vec<PerfStack> {
    let _alone = alone();
    perf_dwarf_record(
        &[binary.as_os_str(), OsStr::new(mode), OsStr::new(RUN_MS)],
        FREQUENCY,
    )
}

/// Records with tables, with frame pointers only, and with perf; prints
/// the three and checks Brasa's bar, and that the tables are what made the
/// difference.
fn compare(binary: &Path, mode: &str, leaf: &str, chains: &[&[&str]]) {
    let (recording, profile) = record_with(binary, mode, true);
    let pid = workload_pid(&profile);
    let tables = brasa_rates(&profile, pid, leaf, chains);
    let (_, fp_profile) = record_with(binary, mode, false);
    let fp = brasa_rates(&fp_profile, workload_pid(&fp_profile), leaf, chains);
    let perf = perf_rates(&perf_with(binary, mode), leaf, chains);
    let name = binary.file_name().unwrap().to_string_lossy();
    println!("{name} {mode}:");
    println!("{}", tables.line("brasa, unwind tables"));
    println!("{}", fp.line("brasa, frame pointers"));
    println!("{}", perf.line("perf --call-graph dwarf"));
    println!("sampler counters: {:?}", recording.stats);
    let mut heaviest = physical_stacks(&profile, pid);
    heaviest.sort_by_key(|(_, count)| std::cmp::Reverse(*count));
    for (frames, count) in heaviest.iter().take(3) {
        println!("{count:5} {}", frames.join(";"));
    }

    let stats = &recording.stats;
    assert!(stats.unwind_walks > 0, "no walk used the tables: {stats:?}");
    assert!(
        tables.at_leaf * 2 > tables.total,
        "too few samples at {leaf}: {tables:?}"
    );
    assert!(
        tables.root_rate() >= MIN_COMPLETE,
        "{:.2}% of samples reach {ROOT} (perf: {:.2}%)",
        100.0 * tables.root_rate(),
        100.0 * perf.root_rate()
    );
    assert!(
        tables.chain_rate() >= MIN_COMPLETE,
        "{:.2}% of samples at {leaf} hold the chain (perf: {:.2}%)",
        100.0 * tables.chain_rate(),
        100.0 * perf.chain_rate()
    );
    // Without tables, frame pointers that are not there lose the chain:
    // the workload really needs the tables.
    assert!(
        fp.chain_rate() < 0.5,
        "frame pointers alone found the chain in {:.2}%: the workload keeps frame pointers",
        100.0 * fp.chain_rate()
    );
}

#[test]
fn c_without_frame_pointers_unwinds_to_main() {
    let binary = build_nofp_c("unwind-spin-c");
    compare(
        &binary,
        "cpu",
        "spin_leaf",
        &[
            &["main", "run_workload", "hot_branch", "spin_leaf"],
            &["main", "run_workload", "cold_branch", "spin_leaf"],
        ],
    );
}

#[test]
fn rust_release_without_frame_pointers_unwinds_to_main() {
    let binary = build_nofp_rust("unwind-spin-rust");
    compare(
        &binary,
        "cpu",
        "spin::spin_leaf",
        &[
            &[
                "spin::main",
                "spin::run_workload",
                "spin::hot_branch",
                "spin::spin_leaf",
            ],
            &[
                "spin::main",
                "spin::run_workload",
                "spin::cold_branch",
                "spin::spin_leaf",
            ],
        ],
    );
}

#[test]
fn a_callback_through_libc_qsort_unwinds_to_main() {
    let binary = build_nofp_c("unwind-spin-qsort");
    // glibc's qsort tail-calls qsort_r, whose name depends on the symbols
    // at hand (see testdata/workloads/nofp/README.md).
    compare(
        &binary,
        "qsort",
        "compare_slow",
        &[
            &["main", "sort_loop", "qsort_r"],
            &["main", "sort_loop", "__qsort_r"],
            &["main", "sort_loop", "__GI___qsort_r"],
        ],
    );
}

/// Code in an anonymous mapping has no table: the walk goes on by frame
/// pointer, which this code does not keep, so it must end there cleanly,
/// recording no address from outside the process's mappings, while the
/// samples outside that code stay complete.
#[test]
fn jit_like_code_ends_the_walk_cleanly() {
    let binary = build_nofp_c("unwind-spin-jit");
    let (recording, profile) = record_with(&binary, "jit", true);
    let pid = workload_pid(&profile);
    let mine: Vec<Stack> = stacks(&profile)
        .into_iter()
        .filter(|s| s.pid == pid)
        .collect();
    // Unknown code is an address, or its mapping's function in brackets
    // (`[unknown]` for anonymous memory).
    let unknown = |f: &String| f.starts_with("0x") || f.starts_with('[');
    let in_jit = |s: &Stack| s.user.last().is_some_and(unknown);
    let (jit, rest): (Vec<&Stack>, Vec<&Stack>) = mine.iter().partition(|s| in_jit(s));
    let jit_samples: i64 = jit.iter().map(|s| s.count).sum();
    let rest_samples: i64 = rest.iter().map(|s| s.count).sum();
    println!("sampler counters: {:?}", recording.stats);
    println!("{jit_samples} samples in the generated code, {rest_samples} elsewhere");
    assert!(jit_samples > 500, "too few samples in the generated code");
    assert!(recording.stats.unwind_table_miss > 0);
    // Every frame above the generated code's is a symbolized function of
    // the binary or libc: nothing read from garbage.
    for stack in &jit {
        let above = &stack.user[..stack.user.len() - 1];
        assert!(
            !above.iter().any(unknown),
            "an unsymbolized frame above the generated code: {:?}",
            stack.user
        );
    }
    let rest_complete: i64 = rest
        .iter()
        .filter(|s| s.user.first().is_some_and(|f| f == ROOT))
        .map(|s| s.count)
        .sum();
    // Few samples fall outside the generated code: count the incomplete
    // ones against all samples, as in the other tests.
    let incomplete = rest_samples - rest_complete;
    assert!(
        incomplete as f64 <= (1.0 - MIN_COMPLETE) * (jit_samples + rest_samples) as f64,
        "{incomplete} of {rest_samples} samples outside the generated code do not reach {ROOT}"
    );
}

/// The kernel memory for tables is fixed: with room for 256 rows, libc's
/// table cannot be loaded, and the process is walked by frame pointer
/// instead, with the recording otherwise intact.
#[test]
fn tables_that_do_not_fit_leave_the_walk_to_frame_pointers() {
    let binary = build_nofp_c("unwind-spin-small-room");
    let mut options = RecordOptions::default();
    options.sampling.table_rows = 256;
    let (recording, profile) = record_options(&binary, "cpu", options);
    let tables = recording.unwind.expect("tables were on");
    println!("{tables:?}");
    assert!(tables.tables_failed > 0, "{tables:?}");
    assert!(tables.rows_used <= 256, "{tables:?}");
    assert!(recording.raw.sample_count() > 1000);
    let pid = workload_pid(&profile);
    let rates = brasa_rates(&profile, pid, "spin_leaf", &[&["main", "run_workload"]]);
    assert!(rates.at_leaf > 1000, "{rates:?}");
}
