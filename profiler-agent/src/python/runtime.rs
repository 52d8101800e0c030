//! A Python process's interpreter state: where it is, and its threads.

use std::{collections::HashMap, path::Path};

use brasa_symbolizer::{
    exported::exported_symbol,
    process::{parse_maps, MapsLine},
};

use super::{
    memory::ProcessMemory,
    offsets::{self, PyOffsets},
};

/// The symbol whose address is the interpreter's runtime state.
const RUNTIME_SYMBOL: &str = "_PyRuntime";
/// Interpreters and threads followed per process at most, so a corrupt
/// list (or a cycle) cannot keep the agent walking.
const MAX_LIST_LENGTH: usize = 4096;

/// A process running a supported CPython, with its runtime state found.
#[derive(Debug)]
pub struct PyProcess {
    memory: ProcessMemory,
    offsets: &'static PyOffsets,
    runtime: u64,
}

impl PyProcess {
    /// Finds the CPython runtime of `pid`; `None` when the process runs no
    /// supported CPython (or cannot be read).
    pub fn attach(pid: u32) -> Option<Self> {
        let maps_path = format!("/proc/{pid}/maps");
        let text = std::fs::read_to_string(&maps_path).ok()?;
        let maps = parse_maps(&text, Path::new(&maps_path)).ok()?;
        maps.iter().find_map(|line| {
            let (major, minor) = python_version(&line.path)?;
            let offsets = offsets::for_version(major, minor)?;
            let runtime = runtime_address(pid, line)?;
            Some(Self {
                memory: ProcessMemory::open(pid).ok()?,
                offsets,
                runtime,
            })
        })
    }

    /// The offsets of this process's CPython version.
    pub fn offsets(&self) -> &'static PyOffsets {
        self.offsets
    }

    /// The process's memory.
    pub fn memory(&self) -> &ProcessMemory {
        &self.memory
    }

    /// Address of every thread state, by native thread id.
    pub fn thread_states(&self) -> HashMap<u32, u64> {
        let o = self.offsets;
        let mut states = HashMap::new();
        let mut interp = self
            .memory
            .u64(self.runtime + o.runtime_interpreters_head)
            .unwrap_or(0);
        for _ in 0..MAX_LIST_LENGTH {
            if interp == 0 {
                break;
            }
            let mut tstate = self.memory.u64(interp + o.interp_threads_head).unwrap_or(0);
            for _ in 0..MAX_LIST_LENGTH {
                if tstate == 0 || states.len() >= MAX_LIST_LENGTH {
                    break;
                }
                if let Some(tid) = self.memory.u64(tstate + o.tstate_native_thread_id) {
                    states.insert(tid as u32, tstate);
                }
                tstate = self.memory.u64(tstate + o.tstate_next).unwrap_or(0);
            }
            interp = self.memory.u64(interp + o.interp_next).unwrap_or(0);
        }
        states
    }
}

/// `(major, minor)` of a python executable or libpython path.
fn python_version(path: &str) -> Option<(u8, u8)> {
    let name = path.rsplit('/').next()?;
    let rest = name
        .strip_prefix("libpython")
        .or_else(|| name.strip_prefix("python"))?;
    let rest = rest.split(".so").next()?;
    let (major, minor) = rest.split_once('.')?;
    let minor = minor.trim_end_matches(|c: char| !c.is_ascii_digit());
    Some((major.parse().ok()?, minor.parse().ok()?))
}

/// Run-time address of `_PyRuntime` when the file mapped by `line` (at
/// file offset 0) exports it.
fn runtime_address(pid: u32, line: &MapsLine) -> Option<u64> {
    if line.range.offset.0 != 0 {
        return None;
    }
    // Read through the process's root, so containers' files are found.
    let file = format!("/proc/{pid}/root{}", line.path);
    let symbol = exported_symbol(Path::new(&file), RUNTIME_SYMBOL).ok()??;
    let bias = line.range.start.0.checked_sub(symbol.base)?;
    Some(symbol.address + bias)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_come_from_executable_and_library_names() {
        assert_eq!(python_version("/usr/bin/python3.11"), Some((3, 11)));
        assert_eq!(
            python_version("/root/.pyenv/versions/3.11.7/lib/libpython3.11.so.1.0"),
            Some((3, 11))
        );
        assert_eq!(python_version("/usr/lib/libpython3.12d.so"), Some((3, 12)));
        assert_eq!(python_version("/usr/bin/python3"), None);
        assert_eq!(python_version("/usr/lib/libc.so.6"), None);
    }
}
