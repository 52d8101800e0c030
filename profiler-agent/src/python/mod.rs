//! CPython frames read from a live process's memory.
//!
//! A Python process's interpreter state hangs off the `_PyRuntime` symbol
//! that the python binary or its shared libpython exports. From there
//! [`runtime::PyProcess`] finds each thread's `PyThreadState` by its
//! native thread id and walks its `_PyInterpreterFrame` chain;
//! [`code::CodeCache`] names each frame's code object (qualified name,
//! file, line). Every read may fail (the process runs on, or exits): a
//! failed read ends a walk with a [`runtime::WalkStop`], never an error.
//!
//! The struct offsets live in [`offsets`], one table per CPython version.

pub mod code;
pub mod interleave;
pub mod linetable;
pub mod memory;
pub mod offsets;
pub mod runtime;
