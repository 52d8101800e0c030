//! Python frames read from live CPython 3.11 processes' memory: Debian's
//! python3.11 (non-PIE, `_PyRuntime` in the executable) and a pyenv build
//! whose `_PyRuntime` is in a shared libpython. Both must be installed:
//! a missing one fails the test.

use std::{
    process::{Child, Command, Stdio},
    time::Duration,
};

use brasa_agent::python::{
    code::CodeCache,
    runtime::{PyProcess, WalkStop},
};
use brasa_test_support::{testdata, Lines};

/// Debian's python3.11 (package python3.11).
const DEBIAN_PYTHON: &str = "/usr/bin/python3.11";
/// A pyenv CPython 3.11 built with `--enable-shared`.
const PYENV_PYTHON: &str = "/root/.pyenv/versions/3.11.7/bin/python3.11";

/// A frame as the test compares it: name, file name, line.
type Named = (String, String, i32);

/// The line of `parked.py` marked `# mark: NAME`.
fn marked_line(name: &str) -> i32 {
    let source = std::fs::read_to_string(testdata("python/parked.py")).unwrap();
    let index = source
        .lines()
        .position(|line| line.ends_with(&format!("# mark: {name}")))
        .unwrap_or_else(|| panic!("no line marked {name}"));
    index as i32 + 1
}

struct Parked {
    child: Child,
}

impl Drop for Parked {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}

fn park(python: &str) -> Parked {
    assert!(
        std::path::Path::new(python).exists(),
        "{python} is not installed (scripts/setup.sh)"
    );
    let mut child = Command::new(python)
        .arg(testdata("python/parked.py"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = Lines::read(child.stdout.take().unwrap());
    lines.wait_for(Duration::from_secs(30), |line| line == "ready");
    Parked { child }
}

/// Every thread's frames, innermost first, by native thread id.
fn named_stacks(pid: u32) -> Vec<(u32, Vec<Named>)> {
    let process = PyProcess::attach(pid).expect("a CPython 3.11 runtime is found");
    let mut codes = CodeCache::default();
    let mut stacks: Vec<_> = process
        .thread_states()
        .into_iter()
        .map(|(tid, tstate)| {
            let (frames, stop) = process.frames(tstate);
            assert_eq!(stop, WalkStop::End, "thread {tid}");
            let named = frames
                .iter()
                .map(|frame| {
                    let code = codes
                        .get(process.memory(), process.offsets(), frame.code)
                        .unwrap();
                    let file = code.filename.rsplit('/').next().unwrap().to_owned();
                    (code.qualname.clone(), file, code.line(frame.unit))
                })
                .collect();
            (tid, named)
        })
        .collect();
    stacks.sort();
    stacks
}

fn frame(name: &str, file: &str, line: i32) -> Named {
    (name.to_owned(), file.to_owned(), line)
}

fn check_parked_stacks(python: &str) {
    let parked = park(python);
    let pid = parked.child.id();
    let stacks = named_stacks(pid);
    assert_eq!(stacks.len(), 2, "{stacks:?}");
    let main = &stacks
        .iter()
        .find(|(tid, _)| *tid == pid)
        .expect("the main thread")
        .1;
    assert_eq!(
        main,
        &[
            frame("Parker.wait_here", "parked.py", marked_line("main-wait")),
            frame("überall_名前", "parked.py", marked_line("unicode-call")),
            frame("<module>", "parked.py", marked_line("module-call")),
        ]
    );
    let worker = &stacks
        .iter()
        .find(|(tid, _)| *tid != pid)
        .expect("the worker thread")
        .1;
    let names: Vec<&str> = worker.iter().map(|(name, _, _)| name.as_str()).collect();
    assert_eq!(&names[..2], ["Condition.wait", "Event.wait"], "{worker:?}");
    assert_eq!(
        worker[2],
        frame("worker_loop", "parked.py", marked_line("worker-wait"))
    );
    assert_eq!(names.last(), Some(&"Thread._bootstrap"), "{worker:?}");
    assert!(
        worker
            .iter()
            .skip(3)
            .all(|(_, file, _)| file == "threading.py"),
        "{worker:?}"
    );
}

#[test]
fn debian_python_threads_and_frames_are_read_from_memory() {
    check_parked_stacks(DEBIAN_PYTHON);
}

#[test]
fn shared_libpython_threads_and_frames_are_read_from_memory() {
    check_parked_stacks(PYENV_PYTHON);
}

/// The offsets table against what ctypes finds in each interpreter.
#[test]
fn offsets_match_the_running_interpreter() {
    let table = brasa_agent::python::offsets::PY311;
    for python in [DEBIAN_PYTHON, PYENV_PYTHON] {
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
