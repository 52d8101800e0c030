//! The memory maps and the name of every sampled process, read when the
//! process is first seen (or forks, or execs) and kept after it exits.

use std::{collections::HashMap, path::Path, sync::Arc};

use brasa_symbolizer::{
    addr::AbsAddr,
    process::{FileCache, MappedFile, ProcessMaps},
    Unknown,
};

use crate::{
    jit::{is_jvm, may_hold_jit_code},
    raw::{RawMapping, RawSample},
    sampler::ProcessEvent,
};

/// Whether a process with this pid (in this pid namespace) still exists.
pub fn process_exists(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

/// What a process is called, as its series labels name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessName {
    /// The process's name: its main thread's (`/proc/PID/comm` of the
    /// tgid), whatever its other threads are called.
    pub comm: String,
    /// The file name of its executable (`/proc/PID/exe`), `None` when that
    /// link is not readable (kernel threads, a process gone).
    pub exe: Option<String>,
}

impl ProcessName {
    /// Reads the name of `pid` from `/proc`; `None` when the process is
    /// gone.
    pub fn read(pid: u32) -> Option<Self> {
        let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
        let exe = std::fs::read_link(format!("/proc/{pid}/exe"))
            .ok()
            .and_then(|exe| exe.file_name().map(|n| n.to_string_lossy().into_owned()))
            // A replaced binary reads "name (deleted)": the series is the same.
            .map(|name| name.trim_end_matches(" (deleted)").to_owned());
        Some(Self {
            comm: comm.trim_end().to_owned(),
            exe,
        })
    }
}

/// Snapshots of process memory maps, with the mapped binaries held open,
/// and the names of the processes.
#[derive(Debug, Default)]
pub struct ProcessTable {
    files: FileCache,
    maps: HashMap<u32, ProcessMaps>,
    /// Read with each snapshot of a process.
    names: HashMap<u32, ProcessName>,
}

impl ProcessTable {
    /// Acts on a sampler's process event.
    pub fn handle(&mut self, event: ProcessEvent) {
        match event {
            ProcessEvent::Execed(pid) => {
                self.names.remove(&pid);
                self.refresh(pid);
            }
            ProcessEvent::Sampled(pid) | ProcessEvent::MappingsChanged(pid) => self.refresh(pid),
            ProcessEvent::Forked { child, parent } => {
                // The child runs its parent's image until it execs (which
                // announces it again), and may exit before its own maps
                // could be read: the parent's maps and name are the child's.
                if let Some(maps) = self.maps.get(&parent).cloned() {
                    self.maps.insert(child, ProcessMaps { pid: child, ..maps });
                }
                if let Some(name) = self.names.get(&parent).cloned() {
                    self.names.insert(child, name);
                }
            }
            ProcessEvent::PythonThreadUnknown { .. } => {}
        }
    }

    /// Reads the process's maps again, keeping mappings that disappeared
    /// since (undrained samples may still point into them), and its name.
    /// A process that is gone keeps its last snapshot and name.
    pub fn refresh(&mut self, pid: u32) {
        // Each image of a process is announced once (a process that execs
        // is announced again, whole-host sampling sends no exec event):
        // its name then is the image's. A process gone keeps the last one.
        if let Some(name) = ProcessName::read(pid) {
            self.names.insert(pid, name);
        }
        let Ok(newer) = ProcessMaps::snapshot_with(pid, &mut self.files) else {
            return;
        };
        match self.maps.get_mut(&pid) {
            Some(known) => known.merge_newer(newer),
            None => {
                self.maps.insert(pid, newer);
            }
        }
    }

    /// Refreshes the processes of `samples` that have user addresses outside
    /// every known mapping (a library loaded since the last snapshot), if
    /// they still run.
    pub fn cover(&mut self, samples: &[RawSample]) {
        let mut stale: Vec<u32> = samples
            .iter()
            .filter(|s| {
                let known = self.maps.get(&s.pid);
                s.user
                    .iter()
                    .any(|&a| known.and_then(|m| m.find(AbsAddr(a))).is_none())
            })
            .map(|s| s.pid)
            .collect();
        stale.sort_unstable();
        stale.dedup();
        for pid in stale {
            if process_exists(pid) {
                self.refresh(pid);
            }
        }
    }

    /// Whether `addr` of `pid` may be JIT code: it lies in anonymous
    /// executable memory, or in no mapping known (see
    /// [`crate::jit::may_hold_jit_code`]).
    pub fn may_be_jit(&self, pid: u32, addr: AbsAddr) -> bool {
        match self.maps.get(&pid).and_then(|maps| maps.find(addr)) {
            Some(mapping) => may_hold_jit_code(&mapping.path),
            None => true,
        }
    }

    /// Whether `pid` is a HotSpot JVM, by the libraries it maps.
    pub fn is_jvm(&self, pid: u32) -> bool {
        self.maps
            .get(&pid)
            .is_some_and(|maps| is_jvm(maps.mappings.iter().map(|m| m.path.as_str())))
    }

    /// Forgets processes that have exited, closing binaries no other
    /// process maps. Call it once their samples have been converted: a
    /// long-running agent would otherwise keep every process it ever saw.
    pub fn forget_exited(&mut self) {
        self.maps.retain(|&pid, _| process_exists(pid));
        self.names.retain(|&pid, _| process_exists(pid));
    }

    /// The name of `pid` as read with its snapshot.
    pub fn name(&self, pid: u32) -> Option<&ProcessName> {
        self.names.get(&pid)
    }

    /// Number of processes with a snapshot.
    pub fn len(&self) -> usize {
        self.maps.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.maps.is_empty()
    }

    /// The executable mappings of `pid` in the raw-sample form.
    pub fn raw_mappings(&self, pid: u32) -> Vec<RawMapping> {
        let Some(maps) = self.maps.get(&pid) else {
            return Vec::new();
        };
        maps.mappings
            .iter()
            .map(|m| RawMapping {
                range: m.range,
                build_id: m.build_id().unwrap_or_default().to_owned(),
                path: m.path.clone(),
            })
            .collect()
    }

    /// The open binary mapped at `start` in `pid`, or why there is none.
    pub fn file_at(&self, pid: u32, start: AbsAddr) -> Result<&Arc<MappedFile>, Unknown> {
        let mapping = self
            .maps
            .get(&pid)
            .and_then(|maps| maps.find(start))
            .filter(|mapping| mapping.range.start == start)
            .ok_or(Unknown::NoMapping)?;
        mapping.mapped_file()
    }

    /// Takes a snapshot made elsewhere, as if read from `/proc`.
    #[cfg(test)]
    pub(crate) fn insert(&mut self, maps: ProcessMaps) {
        self.maps.insert(maps.pid, maps);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exited_processes_are_forgotten_and_live_ones_kept() {
        let mut table = ProcessTable::default();
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let gone = child.id();
        child.wait().unwrap();
        table.handle(ProcessEvent::Sampled(std::process::id()));
        // What a fork event leaves for a child that exited at once.
        table.handle(ProcessEvent::Forked {
            child: gone,
            parent: std::process::id(),
        });
        assert_eq!(table.len(), 2);
        let mine = table
            .name(std::process::id())
            .expect("read with the snapshot");
        assert_eq!(Some(mine), ProcessName::read(std::process::id()).as_ref());
        assert!(mine.exe.is_some(), "{mine:?}");
        assert_eq!(
            table.name(gone),
            Some(mine),
            "the child has its parent's name"
        );
        assert!(
            !table.raw_mappings(gone).is_empty(),
            "the child has its parent's maps"
        );
        table.forget_exited();
        assert_eq!(table.len(), 1);
        assert!(table.raw_mappings(gone).is_empty());
        assert!(table.name(gone).is_none());
        assert!(!table.raw_mappings(std::process::id()).is_empty());
    }
}
