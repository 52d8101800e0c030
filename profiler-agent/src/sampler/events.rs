//! What user space and the program tell each other about processes: the
//! target set, and the process events of the ring buffer.

use crate::{pod::decode, skel::types};

/// How a process in the target set is treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetKind {
    /// Sampled, and its new children too.
    Sample,
    /// Not sampled, but its new children are (a launcher).
    ParentOnly,
}

impl TargetKind {
    /// The value of the `target_tgids` map.
    pub(crate) fn to_kernel(self) -> types::target_kind {
        match self {
            TargetKind::Sample => types::target_kind::TARGET_SAMPLE,
            TargetKind::ParentOnly => types::target_kind::TARGET_PARENT_ONLY,
        }
    }
}

/// Why user space should read a process's memory maps now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProcessEvent {
    /// First sample of a process.
    Sampled(u32),
    /// The process called exec.
    Execed(u32),
    /// A process forked `child` from `parent`; the child has its parent's maps.
    Forked {
        /// The new process.
        child: u32,
        /// Its parent.
        parent: u32,
    },
    /// The process ran code outside its known mappings: a library was
    /// loaded since its maps were read.
    MappingsChanged(u32),
    /// A thread of a Python process ran whose thread state has not been
    /// looked up (a thread started since the last look).
    PythonThreadUnknown {
        /// The process.
        pid: u32,
        /// The thread.
        tid: u32,
    },
}

impl ProcessEvent {
    /// A ring buffer record; `None` for a record of another size or kind.
    pub(crate) fn from_record(record: &[u8]) -> Option<Self> {
        let event = decode::<types::process_event>(record)?;
        use types::process_event_kind as K;
        match event.kind {
            K::PROCESS_SAMPLED => Some(Self::Sampled(event.tgid)),
            K::PROCESS_EXECED => Some(Self::Execed(event.tgid)),
            K::PROCESS_FORKED => Some(Self::Forked {
                child: event.tgid,
                parent: event.parent_tgid,
            }),
            K::PROCESS_UNWIND_MISS => Some(Self::MappingsChanged(event.tgid)),
            K::PROCESS_PYTHON_MISS => Some(Self::PythonThreadUnknown {
                pid: event.tgid,
                tid: event.tid,
            }),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pod::bytes_of;

    #[test]
    fn records_become_events() {
        let record = |kind| types::process_event {
            tgid: 9,
            parent_tgid: 4,
            kind,
            tid: 11,
        };
        use types::process_event_kind as K;
        let event = |kind| ProcessEvent::from_record(bytes_of(&record(kind)));
        assert_eq!(event(K::PROCESS_SAMPLED), Some(ProcessEvent::Sampled(9)));
        assert_eq!(event(K::PROCESS_EXECED), Some(ProcessEvent::Execed(9)));
        assert_eq!(
            event(K::PROCESS_FORKED),
            Some(ProcessEvent::Forked {
                child: 9,
                parent: 4
            })
        );
        assert_eq!(
            event(K::PROCESS_UNWIND_MISS),
            Some(ProcessEvent::MappingsChanged(9))
        );
        assert_eq!(
            event(K::PROCESS_PYTHON_MISS),
            Some(ProcessEvent::PythonThreadUnknown { pid: 9, tid: 11 })
        );
        assert_eq!(event(K(99)), None);
        assert_eq!(ProcessEvent::from_record(&[1, 2]), None);
    }
}
