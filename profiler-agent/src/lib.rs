//! Brasa's agent: eBPF CPU sampling turned into pprof profiles.
//!
//! This is the only crate that links libbpf-rs. It owns:
//!
//! - [`sampler`]: loading the `bpf/sampler.bpf.c` program, attaching it to
//!   one `PERF_COUNT_SW_CPU_CLOCK` event per online CPU, and draining its
//!   maps (two generations, so no sample is lost or counted twice); the
//!   sampling options, the table of the program's counters, and the drain
//!   loop that `record` and the agent share.
//! - [`unwind`]: unwind tables compiled from `.eh_frame` loaded into the
//!   sampler's maps, once per binary, for every sampled process, so stacks
//!   of code built without frame pointers are complete.
//! - [`raw`]: raw samples as drained (pid, tid, comm, user and kernel
//!   addresses, count) with the memory maps of their processes, and a text
//!   form of them so recorded input can be replayed as a fixture.
//! - [`convert`]: the pure function from raw samples to a pprof profile.
//! - [`processes`], [`live_resolver`]: process memory maps read when a
//!   process is first seen, and the symbols they lead to.
//! - [`jit`]: JIT code named from the perf maps runtimes write, read
//!   while their processes live; JVMs asked to write one.
//! - [`record`]: a recording session of one process tree or of the host.
//! - [`fleet`]: what the always-on agent adds: process labels from cgroups
//!   and environments, and delivery to the server through a disk spool.
//!
//! Every layout shared with the kernel is `bpf/sampler.h`'s, through the
//! types the libbpf-rs skeleton generates from the program's BTF; nothing
//! here re-declares a C struct, and tests check the constants the
//! symbolizer writes into unwind rows against the program's enums.
//!
//! ```
//! use brasa_agent::{convert::{convert, ConvertOptions, NoSymbols}, raw::RawProfile};
//!
//! let raw = RawProfile::parse(
//!     "brasa-raw-samples 1\nfrequency 100\n\
//!      map 7 400000 401000 0 - /bin/app\n\
//!      sample 7 7 3 user=400010,400500 kernel= app\n",
//! )
//! .unwrap();
//! let converted = convert(&raw, &mut NoSymbols, &ConvertOptions::default());
//! assert_eq!(converted.profile.sample[0].value, vec![3, 30_000_000]);
//! assert_eq!(converted.profile.location.len(), 2);
//! assert_eq!(converted.unsymbolized.total(), 2);
//! ```

#![warn(missing_docs)]

pub mod clock;
pub mod convert;
mod error;
pub mod fleet;
pub mod interrupt;
pub mod jit;
pub mod live_resolver;
mod perf_event;
mod pod;
pub mod processes;
pub mod python;
pub mod raw;
pub mod record;
pub mod sampler;
mod skel;
pub mod unwind;

pub use error::{Error, Result};
