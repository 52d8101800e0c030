//! Offsets of the CPython structs the agent reads, one table per version.
//!
//! Source: the CPython 3.11 headers, x86-64 (8-byte pointers):
//! `Include/internal/pycore_runtime.h` (`_PyRuntimeState.interpreters.head`),
//! `Include/internal/pycore_interp.h` (`PyInterpreterState.next`,
//! `.threads.head`), `Include/cpython/pystate.h` (`PyThreadState.next`,
//! `.cframe`, `.native_thread_id`; `_PyCFrame.current_frame`),
//! `Include/internal/pycore_frame.h` (`_PyInterpreterFrame`),
//! `Include/cpython/code.h` (`PyCodeObject`), `Include/cpython/unicodeobject.h`
//! and `Include/cpython/bytesobject.h`. They were checked against Debian's
//! 3.11.2 and a 3.11.7 build with a shared libpython by reading the structs
//! back through `ctypes` (see the `offsets_match_the_running_interpreter`
//! test, which runs both).

/// Offsets of one CPython version's structs, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PyOffsets {
    /// `(major, minor)`.
    pub version: (u8, u8),
    /// `_PyRuntimeState.interpreters.head`.
    pub runtime_interpreters_head: u64,
    /// `PyInterpreterState.next`.
    pub interp_next: u64,
    /// `PyInterpreterState.threads.head`.
    pub interp_threads_head: u64,
    /// `PyThreadState.next`.
    pub tstate_next: u64,
    /// `PyThreadState.cframe`.
    pub tstate_cframe: u64,
    /// `PyThreadState.native_thread_id`.
    pub tstate_native_thread_id: u64,
    /// `_PyCFrame.current_frame`.
    pub cframe_current_frame: u64,
    /// `_PyInterpreterFrame.f_code`.
    pub frame_code: u64,
    /// `_PyInterpreterFrame.previous`.
    pub frame_previous: u64,
    /// `_PyInterpreterFrame.prev_instr`.
    pub frame_prev_instr: u64,
    /// `_PyInterpreterFrame.is_entry` (one byte).
    pub frame_is_entry: u64,
    /// `_PyInterpreterFrame.owner` (one byte).
    pub frame_owner: u64,
    /// `PyCodeObject.co_firstlineno` (int).
    pub code_firstlineno: u64,
    /// `PyCodeObject.co_filename`.
    pub code_filename: u64,
    /// `PyCodeObject.co_qualname`.
    pub code_qualname: u64,
    /// `PyCodeObject.co_linetable`.
    pub code_linetable: u64,
    /// `PyCodeObject._co_firsttraceable` (int, in code units).
    pub code_firsttraceable: u64,
    /// `PyCodeObject.co_code_adaptive`: the first instruction.
    pub code_instructions: u64,
    /// `PyASCIIObject.length`.
    pub unicode_length: u64,
    /// `PyASCIIObject.state` (the bit field word).
    pub unicode_state: u64,
    /// `sizeof(PyASCIIObject)`: where a compact ASCII string's bytes start.
    pub unicode_ascii_data: u64,
    /// `sizeof(PyCompactUnicodeObject)`: where other compact strings' start.
    pub unicode_compact_data: u64,
    /// `PyVarObject.ob_size` of a bytes object.
    pub bytes_size: u64,
    /// `PyBytesObject.ob_sval`.
    pub bytes_data: u64,
}

/// `_PyInterpreterFrame.owner` of a frame that a generator or coroutine
/// owns (`FRAME_OWNED_BY_GENERATOR`): such frames are never incomplete.
pub const FRAME_OWNED_BY_GENERATOR: u8 = 1;

/// CPython 3.11 on x86-64.
pub const PY311: PyOffsets = PyOffsets {
    version: (3, 11),
    runtime_interpreters_head: 40,
    interp_next: 0,
    interp_threads_head: 16,
    tstate_next: 8,
    tstate_cframe: 56,
    tstate_native_thread_id: 160,
    cframe_current_frame: 8,
    frame_code: 32,
    frame_previous: 48,
    frame_prev_instr: 56,
    frame_is_entry: 68,
    frame_owner: 69,
    code_firstlineno: 72,
    code_filename: 112,
    code_qualname: 128,
    code_linetable: 136,
    code_firsttraceable: 168,
    code_instructions: 184,
    unicode_length: 16,
    unicode_state: 32,
    unicode_ascii_data: 48,
    unicode_compact_data: 72,
    bytes_size: 16,
    bytes_data: 32,
};

impl PyOffsets {
    /// Bytes of an `_PyInterpreterFrame` the sampler reads at once: up to
    /// the end of the last field it needs.
    pub fn frame_window(&self) -> u64 {
        [
            self.frame_code + 8,
            self.frame_previous + 8,
            self.frame_prev_instr + 8,
            self.frame_is_entry + 1,
            self.frame_owner + 1,
        ]
        .into_iter()
        .max()
        .unwrap_or(0)
    }
}

/// The offsets for a version, `None` for one not supported.
pub fn for_version(major: u8, minor: u8) -> Option<&'static PyOffsets> {
    [&PY311].into_iter().find(|o| o.version == (major, minor))
}
