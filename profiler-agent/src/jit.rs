//! JIT code of live processes: each process's perf map, read at drain time
//! (while the process lives) and cached, and the JVMs asked to write one.
//!
//! [`PerfMaps`] holds one [`PerfMap`] per process that has JIT-looking
//! addresses in its samples (addresses in anonymous executable memory or
//! in no mapping at all, see [`may_hold_jit_code`]). A process without a
//! map yet is tried again at the next drain; one with a map has it
//! reloaded, which reads only what the runtime appended. The open file is
//! kept, so the map of a process that exited is still read to its end.
//!
//! HotSpot writes its perf map only when asked (`jcmd PID
//! Compiler.perfmap`); with [`JvmPerfMaps`] enabled (`--jvm-perfmap`), the
//! agent asks every JVM it samples, at most once per drain interval each,
//! without waiting for `jcmd` to finish.

use std::{
    collections::HashMap,
    process::{Child, Command, Stdio},
    sync::Arc,
    time::{Duration, Instant},
};

use brasa_symbolizer::{addr::AbsAddr, perf_map::PerfMap};

use crate::processes::process_exists;

/// Whether code mapped under this `/proc/PID/maps` path may be JIT code
/// named by a perf map: anonymous memory, unnamed or named by the process
/// (`[anon:NAME]`). Addresses in no mapping at all may be JIT code too.
pub fn may_hold_jit_code(path: &str) -> bool {
    path.is_empty() || path.starts_with("[anon:")
}

/// The perf map of each process that has one.
#[derive(Debug, Default)]
pub struct PerfMaps {
    maps: HashMap<u32, PerfMap>,
    /// Why the last attempt to open a process's map failed, for processes
    /// without one.
    problems: HashMap<u32, String>,
}

impl PerfMaps {
    /// Reads the maps of `pids` that are new, and what was appended to the
    /// known ones. Processes without a map (yet) are tried again next time.
    pub fn refresh(&mut self, pids: impl IntoIterator<Item = u32>) {
        for pid in pids {
            if let Some(map) = self.maps.get_mut(&pid) {
                // A failed reload keeps what was read: the process is gone
                // and its file with it, or /proc is briefly unreadable.
                let _ = map.reload();
                continue;
            }
            if !process_exists(pid) {
                continue;
            }
            match PerfMap::open(pid) {
                Ok(map) => {
                    self.problems.remove(&pid);
                    self.maps.insert(pid, map);
                }
                Err(error) => {
                    self.problems
                        .insert(pid, brasa_profile::error_chain(&error));
                }
            }
        }
    }

    /// The perf map of `pid`, when it has one.
    pub fn get(&self, pid: u32) -> Option<&PerfMap> {
        self.maps.get(&pid)
    }

    /// The name the perf map of `pid` gives to `addr`: `None` when the
    /// process has no perf map, `Some(None)` when no entry covers `addr`.
    pub fn lookup(&self, pid: u32, addr: AbsAddr) -> Option<Option<&Arc<str>>> {
        Some(self.maps.get(&pid)?.lookup(addr))
    }

    /// Why the perf map of `pid` could not be read the last time it was
    /// tried (`None` when it was, or never tried).
    pub fn problem(&self, pid: u32) -> Option<&str> {
        self.problems.get(&pid).map(String::as_str)
    }

    /// Forgets exited processes.
    pub fn forget_exited(&mut self) {
        self.maps.retain(|&pid, _| process_exists(pid));
        self.problems.retain(|&pid, _| process_exists(pid));
    }

    /// Takes a map read elsewhere, as if it were `pid`'s.
    #[cfg(test)]
    pub(crate) fn insert(&mut self, pid: u32, map: PerfMap) {
        self.maps.insert(pid, map);
    }
}

/// How long a `jcmd` may run before it is killed: attaching to a JVM that
/// is paused (or not a JVM after all) must not leave children behind.
const JCMD_TIMEOUT: Duration = Duration::from_secs(60);

/// Asks JVMs to write their perf maps with `jcmd PID Compiler.perfmap`.
#[derive(Debug)]
pub struct JvmPerfMaps {
    /// At most one request per process per this long.
    interval: Duration,
    /// The `jcmd` to run.
    jcmd: String,
    /// The last request per process, and the `jcmd` while it runs.
    requests: HashMap<u32, (Instant, Option<Child>)>,
}

impl JvmPerfMaps {
    /// Requests at most once per `interval` per process, with `jcmd` from
    /// the `PATH`.
    pub fn new(interval: Duration) -> Self {
        Self {
            interval,
            jcmd: "jcmd".to_owned(),
            requests: HashMap::new(),
        }
    }

    /// Starts a `jcmd` for each JVM of `jvms` whose last request is older
    /// than the interval and finished; reaps the ones that ended. Returns
    /// the pids asked.
    pub fn request(&mut self, jvms: impl IntoIterator<Item = u32>) -> Vec<u32> {
        self.reap();
        let now = Instant::now();
        let mut asked = Vec::new();
        for pid in jvms {
            if let Some((at, child)) = self.requests.get(&pid) {
                if child.is_some() || now.duration_since(*at) < self.interval {
                    continue;
                }
            }
            let child = Command::new(&self.jcmd)
                .arg(pid.to_string())
                .arg("Compiler.perfmap")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn();
            match child {
                Ok(child) => {
                    self.requests.insert(pid, (now, Some(child)));
                    asked.push(pid);
                }
                Err(error) => {
                    // No jcmd: the JVM's frames stay addresses; say why once.
                    if self.requests.is_empty() {
                        eprintln!(
                            "brasa: cannot run {} for --jvm-perfmap: {error} (install a JDK, e.g. Debian's openjdk-17-jdk-headless)",
                            self.jcmd
                        );
                    }
                    self.requests.insert(pid, (now, None));
                }
            }
        }
        asked
    }

    /// Reaps the `jcmd`s that ended, kills those that ran too long, and
    /// forgets exited processes.
    fn reap(&mut self) {
        let now = Instant::now();
        for (at, slot) in self.requests.values_mut() {
            let Some(child) = slot else { continue };
            let done = !matches!(child.try_wait(), Ok(None));
            if done || now.duration_since(*at) > JCMD_TIMEOUT {
                let _ = child.kill();
                let _ = child.wait();
                *slot = None;
            }
        }
        self.requests
            .retain(|&pid, (_, child)| child.is_some() || process_exists(pid));
    }

    /// Whether a `jcmd` is still running.
    pub fn pending(&mut self) -> bool {
        self.reap();
        self.requests.values().any(|(_, child)| child.is_some())
    }
}

impl Drop for JvmPerfMaps {
    fn drop(&mut self) {
        for (_, child) in self.requests.values_mut() {
            if let Some(child) = child {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}

/// Whether the process whose mappings have these paths is a HotSpot JVM.
pub fn is_jvm<'a>(paths: impl IntoIterator<Item = &'a str>) -> bool {
    paths.into_iter().any(|path| {
        path.strip_suffix(" (deleted)")
            .unwrap_or(path)
            .ends_with("/libjvm.so")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anonymous_code_may_be_jit_code_and_files_are_not() {
        for path in ["", "[anon:v8 code]", "[anon:jit]"] {
            assert!(may_hold_jit_code(path), "{path:?}");
        }
        for path in ["/usr/bin/node", "[vdso]", "[heap]", "/memfd:x (deleted)"] {
            assert!(!may_hold_jit_code(path), "{path:?}");
        }
    }

    #[test]
    fn a_jvm_is_known_by_its_libjvm() {
        assert!(is_jvm([
            "/usr/bin/java",
            "/usr/lib/jvm/java-17-openjdk-amd64/lib/server/libjvm.so"
        ]));
        assert!(!is_jvm(["/usr/bin/node", "/usr/lib/libnode.so.108"]));
    }

    #[test]
    fn a_process_without_a_perf_map_has_none_and_is_tried_again() {
        let mut maps = PerfMaps::default();
        // This test process has written no perf map.
        maps.refresh([std::process::id()]);
        assert!(maps.get(std::process::id()).is_none());
        assert!(maps.lookup(std::process::id(), AbsAddr(0x1000)).is_none());
        let problem = maps.problem(std::process::id()).expect("a problem");
        assert!(problem.contains("does not exist"), "{problem}");
    }
}
