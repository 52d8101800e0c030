//! Names of the Python frames the sampler recorded, read from each
//! process's memory while it runs (at drain) and kept for conversion.

use std::collections::HashMap;

use brasa_symbolizer::{SourceLine, Symbolized, Unknown};

use super::{code::CodeCache, runtime::PyProcess};
use crate::raw::{RawPythonFrame, RawSample};

/// The code objects of every Python process sampled.
#[derive(Debug, Default)]
pub struct PythonNames {
    /// By pid; `None` for a process whose runtime could not be found.
    processes: HashMap<u32, Option<(PyProcess, CodeCache)>>,
}

impl PythonNames {
    /// Reads the code objects of the samples' Python frames that were not
    /// read before.
    pub fn read(&mut self, samples: &[RawSample]) {
        for sample in samples.iter().filter(|s| !s.python.is_empty()) {
            let entry = self.processes.entry(sample.pid).or_insert_with(|| {
                PyProcess::attach(sample.pid).map(|p| (p, CodeCache::default()))
            });
            let Some((process, codes)) = entry else {
                continue;
            };
            for frame in &sample.python {
                // A failed read leaves the frame unnamed; the next sample
                // of the same code tries again.
                let _ = codes.get(process.memory(), process.offsets(), frame.code);
            }
        }
    }

    /// The name of a frame of `pid`: its function, file and line; `None`
    /// for a frame that has not started its function's code (left out of
    /// the stack, as CPython leaves it out of tracebacks).
    pub fn name(&self, pid: u32, frame: &RawPythonFrame) -> Option<Symbolized> {
        let code = self
            .processes
            .get(&pid)
            .and_then(|p| p.as_ref())
            .and_then(|(_, codes)| codes.cached(frame.code));
        let Some(code) = code else {
            return Some(Symbolized::Unknown(Unknown::PythonCodeUnreadable));
        };
        let line = code.frame_line(frame.prev_instr, frame.owner)?;
        Some(Symbolized::Frames(
            [SourceLine {
                function: code.qualname.clone(),
                system_name: String::new(),
                file: code.filename.clone(),
                line: u32::try_from(line).unwrap_or(0),
            }]
            .into(),
        ))
    }

    /// Forgets processes that exited.
    pub fn forget_exited(&mut self) {
        self.processes
            .retain(|pid, _| std::path::Path::new(&format!("/proc/{pid}")).exists());
    }
}
