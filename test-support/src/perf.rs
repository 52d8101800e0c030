//! The reference for the DWARF unwinding tests: records a command with
//! `perf record --call-graph dwarf` (perf unwinds the copied user stack
//! with the .eh_frame tables) and reads the stacks back from `perf script`.

use std::{collections::HashMap, ffi::OsStr, path::Path, process::Command};

/// User stack bytes perf copies at each sample, the `<stack_bytes>` of
/// `--call-graph dwarf`: twice perf's default of 8 KiB, well beyond the
/// few KiB the workloads of `testdata/workloads/nofp` use, so that perf's
/// rates are limited by its unwinding and not by a truncated copy.
pub const STACK_BYTES: u32 = 16384;

/// Stacks as perf recorded them: user frames as function names, root first, with counts.
#[derive(Debug, Clone)]
pub struct PerfStack {
    /// User frames, root first.
    pub frames: Vec<String>,
    /// Samples with this stack.
    pub count: u64,
}

/// Runs `perf record -F <freq> --call-graph dwarf,<stack_bytes> -o <tmp> -- <argv>` and parses `perf script`.
///
/// Only the samples of the command's own process are kept (its first
/// sampled pid under its name), with only their user frames. Samples that
/// were taken in the kernel keep their user part; a sample without any
/// user frame has no frames but still counts, so rates computed from these
/// stacks are over all of the process's samples.
pub fn perf_dwarf_record(argv: &[&OsStr], frequency: u64) -> Vec<PerfStack> {
    let program = argv.first().expect("perf_dwarf_record needs a command");
    let dir = tempfile::tempdir_in(crate::scratch_dir())
        .expect("create a temporary directory for perf.data");
    let data = dir.path().join("perf.data");
    perf(
        Command::new("perf")
            .args(["record", "-q", "-e", "cpu-clock", "-F"])
            .arg(frequency.to_string())
            .arg(format!("--call-graph=dwarf,{STACK_BYTES}"))
            .arg("-o")
            .arg(&data)
            .arg("--")
            .args(argv),
    );
    // --no-inline: one name per return address, the frames an unwinder
    // recovers; perf's inline expansion also renames real frames (libc's
    // recursive msort_with_tmp shows up as "(inlined)").
    let script = perf(
        Command::new("perf")
            .args([
                "script",
                "--no-inline",
                "-F",
                "comm,pid,tid,ip,sym,dso",
                "-i",
            ])
            .arg(&data),
    );
    parse_script(&script, &command_name(Path::new(program)))
}

/// Runs perf and returns its standard output, panicking with its error
/// output when it is missing or fails.
fn perf(command: &mut Command) -> String {
    let output = command.output().unwrap_or_else(|e| {
        panic!("cannot run {command:?}: {e} (perf is /usr/bin/perf, Debian package linux-perf)")
    });
    assert!(
        output.status.success(),
        "{command:?} failed ({}): {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("perf script prints UTF-8")
}

/// The comm the kernel gives the command's process: the file name of the
/// program, cut to TASK_COMM_LEN - 1 bytes.
fn command_name(program: &Path) -> String {
    let name = program
        .file_name()
        .unwrap_or(program.as_os_str())
        .to_string_lossy();
    name.bytes().take(15).map(char::from).collect::<String>()
}

/// Parses `perf script -F comm,pid,tid,ip,sym,dso`: per sample, a header
/// line `comm pid/tid` and then one indented line `ip sym (dso)` per frame,
/// leaf first, and an empty line.
fn parse_script(script: &str, comm: &str) -> Vec<PerfStack> {
    let mut counts: HashMap<Vec<String>, u64> = HashMap::new();
    let mut workload_pid = None;
    // The frames of the current sample, leaf first; None while skipping a
    // sample of another process.
    let mut current: Option<Vec<String>> = None;
    let mut finish = |frames: Option<Vec<String>>| {
        if let Some(mut frames) = frames {
            frames.reverse();
            *counts.entry(frames).or_default() += 1;
        }
    };
    for line in script.lines() {
        if line.trim().is_empty() {
            continue;
        }
        if !line.starts_with(char::is_whitespace) {
            finish(current.take());
            let (sample_comm, pid) = parse_header(line);
            if sample_comm == comm && *workload_pid.get_or_insert(pid) == pid {
                current = Some(Vec::new());
            }
        } else if let Some(frames) = current.as_mut() {
            if let Some(name) = parse_user_frame(line) {
                frames.push(name);
            }
        }
    }
    finish(current);
    assert!(
        workload_pid.is_some(),
        "perf recorded no samples of {comm:?}:\n{}",
        script.lines().take(20).collect::<Vec<_>>().join("\n")
    );
    let mut stacks: Vec<PerfStack> = counts
        .into_iter()
        .map(|(frames, count)| PerfStack { frames, count })
        .collect();
    stacks.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.frames.cmp(&b.frames)));
    stacks
}

/// `comm pid/tid`: the comm may hold spaces, the pid/tid is the last word
/// with a slash.
fn parse_header(line: &str) -> (&str, u32) {
    let line = line.trim_end();
    let (comm, ids) = line
        .rsplit_once(char::is_whitespace)
        .unwrap_or_else(|| panic!("perf script sample header without pid/tid: {line:?}"));
    let pid = ids
        .split_once('/')
        .and_then(|(pid, _)| pid.parse().ok())
        .unwrap_or_else(|| panic!("perf script sample header without pid/tid: {line:?}"));
    (comm.trim_end(), pid)
}

/// The function name of a frame line `ip sym (dso)`, None for a kernel
/// frame. Symbol versions (`__libc_start_main@@GLIBC_2.34`) are dropped:
/// they are not part of the function's name.
fn parse_user_frame(line: &str) -> Option<String> {
    let line = line.trim();
    let (ip, rest) = line
        .split_once(' ')
        .unwrap_or_else(|| panic!("perf script frame without symbol: {line:?}"));
    let (sym, dso) = rest
        .strip_suffix(')')
        .and_then(|r| r.rsplit_once(" ("))
        .unwrap_or_else(|| panic!("perf script frame without dso: {line:?}"));
    // Kernel frames are named by their dso ([kernel.kallsyms], or a module
    // in brackets); kernel addresses are in the upper half.
    let kernel_ip = u64::from_str_radix(ip, 16).is_ok_and(|ip| ip >= 0xffff_8000_0000_0000);
    if dso.starts_with("[kernel") || kernel_ip {
        return None;
    }
    let sym = sym.trim();
    let name = sym.split_once('@').map_or(sym, |(name, _)| name);
    Some(if name.is_empty() {
        "[unknown]".to_string()
    } else {
        name.to_string()
    })
}
