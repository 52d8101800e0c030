//! Brasa's profile model and its algebra.
//!
//! A profile is a pprof [`Profile`] message (from `brasa-proto`); this crate
//! owns everything Brasa does with one, free of any OS or network concern so
//! that live capture, stored data and recorded fixtures all go through the
//! same code:
//!
//! - [`codec`]: decode pprof (gzip or raw) with a decompression limit and
//!   structural validation; encode as gzip.
//! - [`builder`]: [`ProfileBuilder`], the one way profiles are assembled.
//! - [`folded`]: folded stacks (`a;b;c 42`) in and out.
//! - [`frame_kind`]: what ran a frame (native, kernel, Python, JIT).
//! - [`merge`]: merging profiles of the same sample types.
//! - [`delta`]: what happened between two cumulative profiles (Go's
//!   allocations, mutex and block profiles).
//! - [`pprof_tools`]: answers shaped for `go tool pprof`.
//! - [`top`]: flat and cumulative totals per function.
//! - [`diff`]: differential flame graph data and the biggest changes.
//! - [`regression`]: the statistical regression gate of `brasa check`.
//! - [`render`]: SVG flame graphs through inferno.
//! - [`io`]: files in any supported format, output format by extension.
//! - [`units`]: quantities in units people read.
//!
//! ```
//! use brasa_profile::{folded::Folded, merge::merge, top::top};
//!
//! let a = Folded::parse("main;parse 3\nmain;eval 1\n").unwrap().to_profile();
//! let b = Folded::parse("main;eval 4\n").unwrap().to_profile();
//! let merged = merge([&a, &b]).unwrap();
//! let folded = Folded::from_profile(&merged, 0);
//! assert_eq!(folded.to_text(), "main;eval 5\nmain;parse 3\n");
//! assert_eq!(top(&merged, 0)[0].name, "eval");
//! ```

#![warn(missing_docs)]

pub mod builder;
pub mod codec;
pub mod delta;
pub mod diff;
mod error;
pub mod folded;
pub mod frame_kind;
pub mod io;
pub mod merge;
pub mod pprof_tools;
pub mod profile_type;
pub mod regression;
pub mod render;
pub mod sample_type;
pub mod strings;
pub mod top;
pub mod units;
pub mod validate;

pub use brasa_proto::pprof::{self, Profile};
pub use builder::ProfileBuilder;
pub use error::{chain as error_chain, Error, Result};
