//! CPython frames: the sampler walks each thread's `_PyInterpreterFrame`
//! chain in the BPF program; this module gives it what it needs and names
//! what it records.
//!
//! A Python process's interpreter state hangs off the `_PyRuntime` symbol
//! that the python binary or its shared libpython exports. From there
//! [`runtime::PyProcess`] finds each thread's `PyThreadState` by its
//! native thread id, and `threads` keeps the program's maps of them. The
//! program records each frame's code object and last instruction;
//! [`names::PythonNames`] reads the code objects from the process's memory
//! while it runs ([`code`]: qualified name, file, line through
//! [`linetable`]), and [`interleave`]
//! puts the frames where the native walk met the eval loop. Every read may
//! fail (the process runs on, or exits): a failed read leaves a frame
//! unnamed, never an error.
//!
//! The struct offsets live in [`offsets`], one table per CPython version.

pub mod code;
pub mod interleave;
pub mod linetable;
pub mod memory;
pub mod names;
pub mod offsets;
pub mod runtime;
pub(crate) mod threads;
