//! CPython 3.11 frames, walked by the real BPF sampler in live processes:
//! Debian's python3.11 (non-PIE, `_PyRuntime` in the executable) and a
//! pyenv build whose `_PyRuntime` is in a shared libpython. Both must be
//! installed (scripts/setup.sh, and the machine's pyenv): a missing one
//! fails the test. py-spy (PyPI, scripts/pip-requirements.txt) samples the
//! same process in the same run as the reference of the split.
//!
//! Needs root (or CAP_BPF + CAP_PERFMON); CI runs as root.

mod common;

use std::{
    collections::HashMap,
    path::Path,
    process::{Command, Stdio},
    time::Duration,
};

use brasa_agent::{
    python::runtime::PyProcess,
    record::{record, RecordOptions, Target},
};
use brasa_profile::Profile;
use brasa_test_support::{scratch_dir, testdata, Lines};
use common::{recording::alone, stacks, Stack};

/// Debian's python3.11 (package python3.11).
const DEBIAN_PYTHON: &str = "/usr/bin/python3.11";
/// A pyenv CPython 3.11 built with `--enable-shared`.
const PYENV_PYTHON: &str = "/root/.pyenv/versions/3.11.7/bin/python3.11";
/// Samples per second: thousands of samples in a run, for a split
/// within a point of the true one.
const FREQUENCY: u64 = 997;
/// How long the workload runs, in seconds.
const RUN_SECONDS: &str = "8";
/// py-spy's rate, in samples per second.
const PY_SPY_RATE: &str = "400";
/// The bounds: whole Python stacks, and the split against py-spy.
const MIN_WHOLE_STACKS: f64 = 0.95;
const SPLIT_TOLERANCE: f64 = 0.03;
/// The eval loop's native function, which Python frames replace.
const EVAL_FUNCTION: &str = "_PyEval_EvalFrameDefault";

/// The line of `python/NAME` marked `# mark: MARK`.
fn marked_line(name: &str, mark: &str) -> i64 {
    let source = std::fs::read_to_string(testdata(&format!("python/{name}"))).unwrap();
    let index = source
        .lines()
        .position(|line| line.ends_with(&format!("# mark: {mark}")))
        .unwrap_or_else(|| panic!("no line marked {mark} in {name}"));
    index as i64 + 1
}

fn require(python: &str) {
    assert!(
        Path::new(python).exists(),
        "{python} is not installed (scripts/setup.sh)"
    );
}

/// `branches.py` recorded by Brasa (attached to the running process, as
/// the agent is) and py-spy at once: the profile and py-spy's raw stacks.
fn record_branches(python: &str) -> (Profile, i64, String) {
    require(python);
    let _alone = alone();
    let mut child = Command::new(python)
        .arg(testdata("python/branches.py"))
        .arg(RUN_SECONDS)
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id();
    let py_spy_out = scratch_dir().join(format!("py-spy-{pid}.txt"));
    let py_spy = Command::new("py-spy")
        .args(["record", "--rate", PY_SPY_RATE, "--format", "raw", "--pid"])
        .arg(pid.to_string())
        .arg("-o")
        .arg(&py_spy_out)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("py-spy is installed (scripts/pip-requirements.txt)");
    // Reaped as soon as it exits, so the recording sees it gone.
    let waiter = std::thread::spawn(move || child.wait().unwrap());
    let mut options = RecordOptions::default();
    options.target = Target::Pid(pid);
    options.sampling.frequency = FREQUENCY;
    options.drain_interval = Duration::from_millis(500);
    let never = std::sync::atomic::AtomicBool::new(false);
    let mut recording = record(&options, &never, &mut |_| {}).expect("recording works as root");
    assert!(waiter.join().unwrap().success(), "{python} failed");
    let py_spy = py_spy.wait_with_output().unwrap();
    assert!(py_spy.status.success(), "py-spy: {py_spy:?}");
    let profile = recording.to_profile();
    let raw = std::fs::read_to_string(&py_spy_out).unwrap();
    (profile, i64::from(pid), raw)
}

/// Whether a user frame name is a Python one: the profile's functions in
/// the `[python]` mapping.
fn python_functions(profile: &Profile) -> Vec<String> {
    let string = |i: i64| profile.string_table[i as usize].clone();
    let mapping = profile
        .mapping
        .iter()
        .find(|m| string(m.filename) == "[python]")
        .expect("the profile has Python frames")
        .id;
    let mut names: Vec<String> = profile
        .location
        .iter()
        .filter(|l| l.mapping_id == mapping)
        .flat_map(|l| &l.line)
        .map(|line| string(profile.function[line.function_id as usize - 1].name))
        .collect();
    names.sort();
    names.dedup();
    names
}

/// The lines of the Python function `name` that carry samples, and its files.
fn lines_of(profile: &Profile, name: &str) -> (Vec<i64>, Vec<String>) {
    let string = |i: i64| profile.string_table[i as usize].clone();
    let mut lines = Vec::new();
    let mut files = Vec::new();
    for location in &profile.location {
        for line in &location.line {
            let function = &profile.function[line.function_id as usize - 1];
            if string(function.name) == name {
                lines.push(line.line);
                files.push(string(function.filename));
            }
        }
    }
    lines.sort();
    lines.dedup();
    files.sort();
    files.dedup();
    (lines, files)
}

/// The Python part of a stack: frames named by `python`, root first.
fn python_part<'s>(stack: &'s Stack, python: &[String]) -> Vec<&'s str> {
    stack
        .user
        .iter()
        .filter(|name| python.binary_search(name).is_ok())
        .map(String::as_str)
        .collect()
}

/// heavy / (heavy + light) among the stacks through `Worker.run`.
fn heavy_share<'a>(stacks: impl Iterator<Item = (Vec<&'a str>, i64)>) -> (f64, i64) {
    let (mut heavy, mut light) = (0, 0);
    for (frames, count) in stacks {
        if !frames.contains(&"Worker.run") {
            continue;
        }
        if frames.contains(&"heavy_branch") {
            heavy += count;
        } else if frames.contains(&"light_branch") {
            light += count;
        }
    }
    (heavy as f64 / (heavy + light).max(1) as f64, heavy + light)
}

/// py-spy's raw output: `func (file:line);…;func (file:line) COUNT`, root first.
fn py_spy_stacks(raw: &str) -> Vec<(Vec<&str>, i64)> {
    raw.lines()
        .filter_map(|line| {
            let (stack, count) = line.rsplit_once(' ')?;
            let frames = stack
                .split(';')
                .map(|frame| frame.split(" (").next().unwrap_or(frame))
                .collect();
            Some((frames, count.parse().ok()?))
        })
        .collect()
}

fn check_branches(python: &str) {
    let (profile, pid, py_spy) = record_branches(python);
    let python_names = python_functions(&profile);
    for name in [
        "<module>",
        "main",
        "Worker.run",
        "heavy_branch",
        "light_branch",
        "spin",
        "überall_名前",
        "compress_it",
    ] {
        assert!(
            python_names.iter().any(|n| n == name),
            "{name} not among {python_names:?}"
        );
    }
    let workload: Vec<Stack> = stacks(&profile)
        .into_iter()
        .filter(|s| s.pid == pid)
        .collect();

    // Samples in Python code: those with Python frames, and those whose
    // eval loop was left without (a walk that failed).
    let in_python: Vec<&Stack> = workload
        .iter()
        .filter(|s| {
            !python_part(s, &python_names).is_empty() || s.user.iter().any(|f| f == EVAL_FUNCTION)
        })
        .collect();
    let total: i64 = in_python.iter().map(|s| s.count).sum();
    let whole: i64 = in_python
        .iter()
        .filter(|s| python_part(s, &python_names).first() == Some(&"<module>"))
        .map(|s| s.count)
        .sum();
    assert!(total > 2000, "too few samples in Python code: {total}");
    let fraction = whole as f64 / total as f64;
    assert!(
        fraction >= MIN_WHOLE_STACKS,
        "{python}: {fraction:.3} of {total} samples in Python code reach <module>"
    );

    // The split between the branches, against py-spy's.
    let (ours, ours_total) = heavy_share(
        workload
            .iter()
            .map(|s| (python_part(s, &python_names), s.count)),
    );
    let (theirs, theirs_total) = heavy_share(py_spy_stacks(&py_spy).into_iter());
    assert!(
        ours_total > 2000 && theirs_total > 1000,
        "{ours_total} {theirs_total}"
    );
    eprintln!(
        "{python}: {fraction:.3} of {total} samples in Python code reach <module>; \
         heavy share {ours:.3} ({ours_total} samples) vs py-spy {theirs:.3} ({theirs_total})"
    );
    assert!(
        (ours - theirs).abs() <= SPLIT_TOLERANCE,
        "{python}: heavy share {ours:.3} (brasa, {ours_total}) vs {theirs:.3} (py-spy, {theirs_total})"
    );

    // File and line: each caller at its call (or at its `def` when it
    // has just started), the loop inside spin.
    let (lines, files) = lines_of(&profile, "heavy_branch");
    let heavy = [
        marked_line("branches.py", "heavy-def"),
        marked_line("branches.py", "heavy-call"),
    ];
    assert!(
        lines.contains(&heavy[1]) && lines.iter().all(|l| heavy.contains(l)),
        "{lines:?}"
    );
    assert!(
        files.len() == 1 && files[0].ends_with("/testdata/python/branches.py"),
        "{files:?}"
    );
    let (lines, _) = lines_of(&profile, "<module>");
    assert!(
        lines.contains(&marked_line("branches.py", "module-call")),
        "{lines:?}"
    );
    let (lines, _) = lines_of(&profile, "compress_it");
    let compress = [
        marked_line("branches.py", "compress-def"),
        marked_line("branches.py", "compress-call"),
    ];
    assert!(
        lines.contains(&compress[1]) && lines.iter().all(|l| compress.contains(l)),
        "{lines:?}"
    );
    let (lines, _) = lines_of(&profile, "spin");
    let spin_loop = marked_line("branches.py", "spin-loop");
    assert!(
        lines
            .iter()
            .all(|l| (spin_loop - 3..=spin_loop + 1).contains(l)),
        "{lines:?}"
    );

    // The C extension runs under its Python caller: libz's deflate
    // calls (deflateInit2_, deflate, deflateEnd: setting up and freeing
    // the window is a fifth of zlib.compress on some machines) below
    // compress_it, native callers above <module>.
    let compressing: Vec<&Stack> = workload
        .iter()
        .filter(|s| s.user.iter().any(|f| f == "compress_it"))
        .collect();
    let with_deflate: i64 = compressing
        .iter()
        .filter(|s| {
            let at = s.user.iter().position(|f| f == "compress_it").unwrap();
            s.user[at + 1..].iter().any(|f| f.starts_with("deflate"))
        })
        .map(|s| s.count)
        .sum();
    let compressing_total: i64 = compressing.iter().map(|s| s.count).sum();
    assert!(
        compressing_total > 20 && with_deflate as f64 >= 0.8 * compressing_total as f64,
        "{with_deflate} of {compressing_total} samples in compress_it show libz's deflate calls below it"
    );
    let native_root = in_python
        .iter()
        .filter(|s| s.user.first().is_some_and(|f| f == "_start"))
        .map(|s| s.count)
        .sum::<i64>();
    assert!(
        native_root as f64 >= MIN_WHOLE_STACKS * total as f64,
        "{native_root} of {total} samples in Python code start at _start"
    );
}

#[test]
fn debian_python_frames_are_walked_named_and_split_as_py_spy_splits_them() {
    check_branches(DEBIAN_PYTHON);
}

#[test]
fn shared_libpython_frames_are_walked_named_and_split_as_py_spy_splits_them() {
    check_branches(PYENV_PYTHON);
}

/// A process parked in known stacks, for reading its thread states.
struct Parked {
    child: std::process::Child,
}

impl Drop for Parked {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}

fn park(python: &str) -> Parked {
    require(python);
    let mut child = Command::new(python)
        .arg(testdata("python/parked.py"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = Lines::read(child.stdout.take().unwrap());
    lines.wait_for(Duration::from_secs(30), |line| line.starts_with("ready"));
    Parked { child }
}

/// Thread states are found by native thread id through `_PyRuntime`, in
/// the executable and in a shared libpython.
#[test]
fn thread_states_are_found_for_every_thread() {
    for python in [DEBIAN_PYTHON, PYENV_PYTHON] {
        let parked = park(python);
        let pid = parked.child.id();
        let process = PyProcess::attach(pid).expect("a CPython 3.11 runtime is found");
        let states: HashMap<u32, u64> = process.thread_states();
        let mut tids: Vec<u32> = std::fs::read_dir(format!("/proc/{pid}/task"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_str().unwrap().parse().unwrap())
            .collect();
        tids.sort_unstable();
        let mut found: Vec<u32> = states.keys().copied().collect();
        found.sort_unstable();
        assert_eq!(found, tids, "{python}");
        assert!(states.values().all(|&s| s != 0));
    }
}

/// The offsets table against what ctypes finds in each interpreter.
#[test]
fn offsets_match_the_running_interpreter() {
    let table = brasa_agent::python::offsets::PY311;
    for python in [DEBIAN_PYTHON, PYENV_PYTHON] {
        require(python);
        let output = Command::new(python)
            .arg(testdata("python/offsets.py"))
            .output()
            .unwrap();
        assert!(output.status.success(), "{python}: {output:?}");
        let text = String::from_utf8(output.stdout).unwrap();
        let found: Vec<(&str, &str)> = text.lines().filter_map(|l| l.split_once('=')).collect();
        assert_eq!(found.len(), 7, "{python}: {text}");
        let expected = |field: &str| match field {
            "runtime_interpreters_head" => table.runtime_interpreters_head,
            "interp_threads_head" => table.interp_threads_head,
            "tstate_native_thread_id" => table.tstate_native_thread_id,
            "code_filename" => table.code_filename,
            "code_qualname" => table.code_qualname,
            "code_linetable" => table.code_linetable,
            "code_firstlineno" => table.code_firstlineno,
            other => panic!("unknown field {other}"),
        };
        for (field, offset) in found {
            assert_eq!(offset, expected(field).to_string(), "{python}: {field}");
        }
    }
}
