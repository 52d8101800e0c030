//! JIT runtimes under `brasa record`: Node.js with its perf map
//! (`--perf-basic-prof`) and a JVM asked for its perf map (`--jvm-perfmap`),
//! each running a workload of `testdata/` whose JIT frames must come out
//! named, in Brasa's `[jit]` mapping, with whole stacks.
//!
//! Needs root (or CAP_BPF + CAP_PERFMON), `node`, and a JDK 17 (`javac`,
//! `java`, `jcmd`); CI runs as root with `scripts/apt-packages.txt`
//! installed. Assertions are shares of samples, so a busy machine changes
//! how many samples there are, not whether the test passes.

use std::{ffi::OsStr, path::Path, process::Command};

use brasa_profile::Profile;
use brasa_test_support::testdata;

/// Records `command` at 199 Hz into a pprof file and reads it back.
fn record(extra: &[&str], command: &[&OsStr]) -> Profile {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.pb.gz");
    let output = brasa_test_support::brasa()
        .current_dir(dir.path())
        .args(["record", "--frequency", "199"])
        .args(extra)
        .arg("-o")
        .arg(&out)
        .arg("--")
        .args(command)
        .output()
        .expect("run brasa");
    assert!(
        output.status.success(),
        "brasa failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    brasa_profile::codec::decode(&std::fs::read(&out).unwrap()).unwrap()
}

/// One sample: its user frames leaf first (a location's lines outermost
/// last, so the function an address is in comes after what it inlined),
/// whether its leaf is JIT code, and its count.
struct Sample {
    frames: Vec<String>,
    leaf_is_jit: bool,
    count: i64,
}

/// The samples of `profile`'s user stacks. A frame is JIT code when its
/// mapping is `[jit]` or anonymous, or when it has none.
fn samples(profile: &Profile) -> Vec<Sample> {
    let string = |i: i64| profile.string_table[i as usize].as_str();
    let mapping_name = |id: u64| {
        (id as usize)
            .checked_sub(1)
            .and_then(|i| profile.mapping.get(i))
            .map_or("", |m| string(m.filename))
    };
    profile
        .sample
        .iter()
        .filter_map(|sample| {
            let user: Vec<_> = sample
                .location_id
                .iter()
                .map(|&id| &profile.location[id as usize - 1])
                .filter(|l| mapping_name(l.mapping_id) != "[kernel.kallsyms]")
                .collect();
            let leaf = user.first()?;
            let leaf_mapping = mapping_name(leaf.mapping_id);
            let leaf_is_jit = leaf_mapping == "[jit]"
                || leaf_mapping.is_empty()
                || leaf_mapping.starts_with("[anon:");
            let frames = user
                .iter()
                .flat_map(|l| {
                    if l.line.is_empty() {
                        vec![format!("{:#x}", l.address)]
                    } else {
                        l.line
                            .iter()
                            .map(|line| {
                                let f = &profile.function[line.function_id as usize - 1];
                                string(f.name).to_owned()
                            })
                            .collect()
                    }
                })
                .collect();
            Some(Sample {
                frames,
                leaf_is_jit,
                count: sample.value[0],
            })
        })
        .collect()
}

/// Shares of samples, printed so a run shows its numbers.
struct Shares<'a> {
    samples: &'a [Sample],
    total: i64,
}

impl<'a> Shares<'a> {
    fn new(samples: &'a [Sample]) -> Self {
        let total = samples.iter().map(|s| s.count).sum();
        assert!(total > 0, "no samples with a user stack");
        Self { samples, total }
    }

    fn count(&self, keep: impl Fn(&Sample) -> bool) -> i64 {
        self.samples
            .iter()
            .filter(|s| keep(s))
            .map(|s| s.count)
            .sum()
    }

    fn of_all(&self, keep: impl Fn(&Sample) -> bool) -> f64 {
        self.count(keep) as f64 / self.total as f64
    }
}

fn leaf_contains(sample: &Sample, text: &str) -> bool {
    sample.frames.first().is_some_and(|f| f.contains(text))
}

fn reaches(sample: &Sample, text: &str) -> bool {
    sample.frames.iter().any(|f| f.contains(text))
}

/// What a Node.js recording of `testdata/node/busy.js` must show.
/// Whether a frame is named by a symbol: unknown code is an address (in
/// no mapping) or its mapping's name in brackets (`[jit]`, `[anon:…]`).
fn is_named(frame: &str) -> bool {
    !frame.starts_with("0x") && !frame.starts_with('[')
}

fn check_node(profile: &Profile, interpreted_frames: bool) {
    let samples = samples(profile);
    let shares = Shares::new(&samples);
    let jit = shares.count(|s| s.leaf_is_jit);
    let named_jit =
        shares.count(|s| s.leaf_is_jit && s.frames.first().is_some_and(|f| is_named(f)));
    let js_jit = shares.count(|s| s.leaf_is_jit && leaf_contains(s, "JS:"));
    let hot = shares.of_all(|s| leaf_contains(s, "brasaFixtureHot"));
    let cold = shares.of_all(|s| leaf_contains(s, "brasaFixtureCold"));
    let hot_samples = shares.count(|s| leaf_contains(s, "brasaFixtureHot"));
    // Without interpreted frames on the native stack, `main` (interpreted:
    // it loops too few times to be compiled) runs inside V8's interpreter
    // builtin, and the stack reaches the process's entry through it.
    let root = if interpreted_frames {
        "JS:~main"
    } else {
        "__libc_start_call_main"
    };
    let rooted = shares.count(|s| leaf_contains(s, "brasaFixtureHot") && reaches(s, root));
    eprintln!(
        "node (interpreted frames: {interpreted_frames}): {} samples, {jit} with a JIT leaf, \
         {:.1}% of them named, {:.1}% JS functions; hot {:.1}%, cold {:.1}% of all; \
         {:.1}% of hot samples reach {root}",
        shares.total,
        100.0 * named_jit as f64 / jit.max(1) as f64,
        100.0 * js_jit as f64 / jit.max(1) as f64,
        100.0 * hot,
        100.0 * cold,
        100.0 * rooted as f64 / hot_samples.max(1) as f64,
    );
    assert!(
        jit as f64 >= 0.5 * shares.total as f64,
        "the workload runs JIT code most of the time: {jit} of {}",
        shares.total
    );
    assert!(
        js_jit as f64 >= 0.95 * jit as f64,
        "{js_jit} of {jit} samples with a JIT leaf are named JS functions"
    );
    assert!(hot >= 0.5, "the hot function dominates: {hot}");
    assert!(hot > 3.0 * cold, "hot {hot} vs cold {cold}");
    assert!(
        rooted as f64 >= 0.9 * hot_samples as f64,
        "{rooted} of {hot_samples} hot samples reach {root}"
    );
    let jit_mapping = profile
        .mapping
        .iter()
        .any(|m| profile.string_table[m.filename as usize] == "[jit]");
    assert!(jit_mapping, "JIT frames sit in the [jit] mapping");
}

fn node_workload() -> std::path::PathBuf {
    testdata("node/busy.js")
}

#[test]
fn node_jit_frames_are_named_from_its_perf_map() {
    let script = node_workload();
    let profile = record(
        &[],
        &[
            "node".as_ref(),
            "--perf-basic-prof".as_ref(),
            script.as_os_str(),
            "3".as_ref(),
        ],
    );
    remove_perf_maps(&profile);
    check_node(&profile, false);
}

#[test]
fn node_interpreted_frames_are_named_and_stacks_reach_main() {
    let script = node_workload();
    let profile = record(
        &[],
        &[
            "node".as_ref(),
            "--perf-basic-prof".as_ref(),
            "--interpreted-frames-native-stack".as_ref(),
            script.as_os_str(),
            "3".as_ref(),
        ],
    );
    remove_perf_maps(&profile);
    check_node(&profile, true);
}

/// Compiles `testdata/java/Busy.java` into `dir`.
fn compile_java(dir: &Path) {
    let status = Command::new("javac")
        .arg("-d")
        .arg(dir)
        .arg(testdata("java/Busy.java"))
        .status()
        .expect("run javac (Debian: openjdk-17-jdk-headless)");
    assert!(status.success(), "javac failed");
}

/// Removes the perf maps the recorded runtimes left in /tmp.
fn remove_perf_maps(profile: &Profile) {
    let string = |i: i64| profile.string_table[i as usize].as_str();
    let mut pids: Vec<i64> = profile
        .sample
        .iter()
        .flat_map(|s| &s.label)
        .filter(|l| string(l.key) == "pid")
        .map(|l| l.num)
        .collect();
    pids.sort_unstable();
    pids.dedup();
    for pid in pids {
        let _ = std::fs::remove_file(format!("/tmp/perf-{pid}.map"));
    }
}

#[test]
fn jvm_jit_frames_are_named_from_the_perf_map_it_is_asked_for() {
    let classes = tempfile::tempdir().unwrap();
    compile_java(classes.path());
    // Six seconds: the first drain (after 2 s) asks for the map, the next
    // ones read it while the JVM still runs.
    let profile = record(
        &["--jvm-perfmap"],
        &[
            "java".as_ref(),
            "-XX:+PreserveFramePointer".as_ref(),
            "-cp".as_ref(),
            classes.path().as_os_str(),
            "Busy".as_ref(),
            "6".as_ref(),
        ],
    );
    remove_perf_maps(&profile);
    let samples = samples(&profile);
    let shares = Shares::new(&samples);
    let jit = shares.count(|s| s.leaf_is_jit);
    let named_jit =
        shares.count(|s| s.leaf_is_jit && s.frames.first().is_some_and(|f| is_named(f)));
    let methods = shares.count(|s| s.leaf_is_jit && leaf_contains(s, "Busy."));
    let hot = shares.of_all(|s| leaf_contains(s, "Busy.brasaFixtureHot"));
    let cold = shares.of_all(|s| leaf_contains(s, "Busy.brasaFixtureCold"));
    let hot_samples = shares.count(|s| leaf_contains(s, "Busy.brasaFixtureHot"));
    let rooted = shares.count(|s| {
        leaf_contains(s, "Busy.brasaFixtureHot")
            && (reaches(s, "start_thread") || reaches(s, "thread_native_entry"))
            && reaches(s, "JavaCalls::call_helper")
    });
    eprintln!(
        "jvm: {} samples, {jit} with a JIT leaf, {:.1}% of them named, {:.1}% Busy methods; \
         hot {:.1}%, cold {:.1}% of all; {:.1}% of hot samples reach the thread's start",
        shares.total,
        100.0 * named_jit as f64 / jit.max(1) as f64,
        100.0 * methods as f64 / jit.max(1) as f64,
        100.0 * hot,
        100.0 * cold,
        100.0 * rooted as f64 / hot_samples.max(1) as f64,
    );
    assert!(
        jit as f64 >= 0.5 * shares.total as f64,
        "the workload runs JIT code most of the time: {jit} of {}",
        shares.total
    );
    assert!(
        named_jit as f64 >= 0.95 * jit as f64,
        "{named_jit} of {jit} samples with a JIT leaf are named"
    );
    assert!(hot >= 0.5, "the hot method dominates: {hot}");
    assert!(hot > 3.0 * cold, "hot {hot} vs cold {cold}");
    assert!(
        rooted as f64 >= 0.9 * hot_samples as f64,
        "{rooted} of {hot_samples} hot samples reach start_thread through JavaCalls"
    );
}
