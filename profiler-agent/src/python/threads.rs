//! The program's view of Python processes: which processes run a supported
//! CPython (with their version's offsets) and where each of their threads
//! keeps its `PyThreadState`, kept in the `python_processes` and
//! `python_threads` maps as process events and drains come.
//!
//! A thread the program meets before user space has looked it up is asked
//! about once (the program marks it as having no state and sends
//! [`ProcessEvent::PythonThreadUnknown`]); the answer is written back. A
//! thread still without a state (one that runs no Python) is asked about
//! again after the next drain, when it may have started running some.

use std::collections::{HashMap, HashSet};

use libbpf_rs::{MapCore, MapFlags, MapMut};

use super::{offsets::PyOffsets, runtime::PyProcess};
use crate::{pod::bytes_of, sampler::ProcessEvent, skel::types};

/// One attached process: its runtime, and the threads it was asked about
/// that had no state.
#[derive(Debug)]
struct Attached {
    process: PyProcess,
    stateless: HashSet<u32>,
}

/// The Python processes the program walks (see the module docs).
#[derive(Debug, Default)]
pub(crate) struct PythonThreads {
    attached: HashMap<u32, Attached>,
}

/// The two maps this keeps.
pub(crate) struct PythonMaps<'a, 'obj> {
    pub processes: &'a MapMut<'obj>,
    pub threads: &'a MapMut<'obj>,
}

impl PythonThreads {
    /// Acts on process events: attaches to processes that run a supported
    /// CPython, and looks up threads the program asked about.
    pub fn handle(&mut self, events: &[ProcessEvent], maps: &PythonMaps<'_, '_>) {
        let mut rescan = HashSet::new();
        for event in events {
            match *event {
                ProcessEvent::Sampled(pid)
                | ProcessEvent::MappingsChanged(pid)
                | ProcessEvent::Forked { child: pid, .. } => {
                    if !self.attached.contains_key(&pid) {
                        self.attach(pid, maps);
                    }
                }
                ProcessEvent::Execed(pid) => {
                    // The program forgot the old image's interpreter.
                    self.attached.remove(&pid);
                    self.attach(pid, maps);
                }
                ProcessEvent::PythonThreadUnknown { pid, tid } => {
                    if let Some(attached) = self.attached.get_mut(&pid) {
                        attached.stateless.insert(tid);
                        rescan.insert(pid);
                    }
                }
            }
        }
        for pid in rescan {
            self.write_threads(pid, maps);
        }
    }

    /// After a drain: forgets exited processes, writes the thread states
    /// of the others again, and lets threads without one be asked about
    /// anew.
    pub fn refresh(&mut self, maps: &PythonMaps<'_, '_>) {
        let pids: Vec<u32> = self.attached.keys().copied().collect();
        for pid in pids {
            if !std::path::Path::new(&format!("/proc/{pid}")).exists() {
                self.attached.remove(&pid);
                let _ = maps.processes.delete(&pid.to_ne_bytes());
                continue;
            }
            let found = self.write_threads(pid, maps);
            if let Some(attached) = self.attached.get_mut(&pid) {
                for tid in attached.stateless.drain() {
                    if !found.contains(&tid) {
                        let _ = maps.threads.delete(&tid.to_ne_bytes());
                    }
                }
            }
        }
    }

    /// Processes attached now.
    pub fn processes(&self) -> usize {
        self.attached.len()
    }

    fn attach(&mut self, pid: u32, maps: &PythonMaps<'_, '_>) {
        let Some(process) = PyProcess::attach(pid) else {
            return;
        };
        let value = types::python_process {
            offsets: kernel_offsets(process.offsets()),
        };
        if maps
            .processes
            .update(&pid.to_ne_bytes(), bytes_of(&value), MapFlags::ANY)
            .is_err()
        {
            return;
        }
        self.attached.insert(
            pid,
            Attached {
                process,
                stateless: HashSet::new(),
            },
        );
        self.write_threads(pid, maps);
    }

    /// Writes every thread state of `pid`; returns the threads found.
    fn write_threads(&mut self, pid: u32, maps: &PythonMaps<'_, '_>) -> HashSet<u32> {
        let Some(attached) = self.attached.get(&pid) else {
            return HashSet::new();
        };
        let states = attached.process.thread_states();
        for (&tid, &tstate) in &states {
            let value = types::python_thread {
                tstate,
                tgid: pid,
                reserved: 0,
            };
            let _ = maps
                .threads
                .update(&tid.to_ne_bytes(), bytes_of(&value), MapFlags::ANY);
        }
        states.into_keys().collect()
    }
}

/// The program's copy of a version's offsets.
fn kernel_offsets(o: &PyOffsets) -> types::python_offsets {
    let narrow = |offset: u64| u32::try_from(offset).expect("struct offsets are small");
    types::python_offsets {
        tstate_cframe: narrow(o.tstate_cframe),
        tstate_native_thread_id: narrow(o.tstate_native_thread_id),
        cframe_current_frame: narrow(o.cframe_current_frame),
        frame_code: narrow(o.frame_code),
        frame_previous: narrow(o.frame_previous),
        frame_prev_instr: narrow(o.frame_prev_instr),
        frame_is_entry: narrow(o.frame_is_entry),
        frame_owner: narrow(o.frame_owner),
        frame_window: narrow(o.frame_window()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::python::offsets::PY311;

    #[test]
    fn every_frame_field_lies_in_the_window_the_program_reads() {
        let window = usize::try_from(PY311.frame_window()).unwrap();
        let room = std::mem::size_of::<types::python_scratch>()
            - std::mem::offset_of!(types::python_scratch, window);
        // The program masks the read size and the field offsets with
        // 0x7f; the window has room for a word past any masked offset.
        assert!(window < 128 && room >= 128 + 8, "{window} {room}");
        let k = kernel_offsets(&PY311);
        for field in [k.frame_code, k.frame_previous, k.frame_prev_instr] {
            assert!(field + 8 <= k.frame_window);
        }
        for field in [k.frame_is_entry, k.frame_owner] {
            assert!(field < k.frame_window);
        }
    }
}
