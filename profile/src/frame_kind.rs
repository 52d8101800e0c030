//! What ran a frame: native code, the kernel, the Python interpreter or
//! JIT-compiled code. The agent tells them apart by the mapping it puts a
//! frame's location in; the page colours frames by it.

/// The kernel's pseudo mapping, as `perf` and pprof tools name it.
pub const KERNEL_MAPPING_NAME: &str = "[kernel.kallsyms]";
/// The pseudo mapping of JIT code named by a runtime's perf map.
pub const JIT_MAPPING_NAME: &str = "[jit]";
/// The pseudo mapping of Python frames.
pub const PYTHON_MAPPING_NAME: &str = "[python]";

/// What ran a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FrameKind {
    /// Machine code from a file (or a frame without a mapping).
    Native,
    /// The kernel.
    Kernel,
    /// Python code run by CPython.
    Python,
    /// Code a runtime compiled at run time (V8, HotSpot).
    Jit,
}

impl FrameKind {
    /// Every kind but [`FrameKind::Native`], the default.
    pub const OTHERS: [FrameKind; 3] = [FrameKind::Kernel, FrameKind::Python, FrameKind::Jit];

    /// The kind of a frame in the mapping named `filename`.
    pub fn of_mapping(filename: &str) -> Self {
        match filename {
            KERNEL_MAPPING_NAME => FrameKind::Kernel,
            PYTHON_MAPPING_NAME => FrameKind::Python,
            JIT_MAPPING_NAME => FrameKind::Jit,
            _ => FrameKind::Native,
        }
    }

    /// The kind's name in JSON answers.
    pub fn label(self) -> &'static str {
        match self {
            FrameKind::Native => "native",
            FrameKind::Kernel => "kernel",
            FrameKind::Python => "python",
            FrameKind::Jit => "jit",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pseudo_mappings_name_their_kind_and_files_are_native() {
        assert_eq!(
            FrameKind::of_mapping("[kernel.kallsyms]"),
            FrameKind::Kernel
        );
        assert_eq!(FrameKind::of_mapping("[python]"), FrameKind::Python);
        assert_eq!(FrameKind::of_mapping("[jit]"), FrameKind::Jit);
        assert_eq!(
            FrameKind::of_mapping("/usr/lib/libc.so.6"),
            FrameKind::Native
        );
        assert_eq!(FrameKind::of_mapping(""), FrameKind::Native);
    }
}
