//! Brasa's profile store, on sled.
//!
//! It owns persistence and nothing else (no HTTP, no rendering):
//!
//! - a series index (`index`): labels → series id, label name → values;
//! - the names and values of sample labels (`sample_labels`), which
//!   selectors match per sample ([`Store::select_samples`]);
//! - per-series symbol tables (`symbols`): strings, functions,
//!   mappings, locations and stacks stored once per series;
//! - one small blob per (series, timestamp) (`blob`): the profile as
//!   (stack id, values) pairs, zstd-compressed;
//! - time-range scans and parallel merges ([`query`]);
//! - retention ([`retention`]);
//! - packs ([`pack`]): many profiles in one immutable object, the
//!   form servers that share a bucket write and merge;
//! - durability: [`Store::commit`] returns once the data is on disk, with
//!   group commit so one flush serves many concurrent writers.
//!
//! The key layout lives in `keys` and nowhere else; every record is a
//! struct with its encoding beside it (`records`, `blob`, `keys`), none of
//! them public. A data directory records the format it was written in
//! ([`FORMAT_VERSION`]); [`Store::open`] refuses another format
//! ([`Error::FormatMismatch`]) and a directory that another process holds
//! ([`Error::Locked`]) with a message that says what to do, and a damaged
//! directory ([`Error::Damaged`], naming the file) rather than serve what
//! the database could recover; [`check`] reads a directory without
//! changing it and reports each damaged item (`brasa store check`).
//!
//! Why symbol tables rather than one compressed pprof per profile: on an
//! hour of agent-like data (`benches/benches/store.rs`) a whole pprof costs
//! about 15 KiB per profile under gzip or zstd, even with a per-series
//! dictionary, while the (stack id, values) form costs about 220 bytes; and
//! merging becomes integer addition instead of decoding 36,000 string
//! tables. Why sled 0.34 rather than the 1.0 alphas: its handles are
//! `Send + Sync` (the alpha's trees are not `Sync`), its on-disk format is
//! stable, and `flush` gives the durability that group commit builds on.
//!
//! ```
//! use brasa_profile::folded::Folded;
//! use brasa_store::{labels::Labels, matcher::Matcher, Store, StoreOptions};
//!
//! let dir = tempfile::tempdir().unwrap();
//! let store = Store::open(dir.path(), StoreOptions::default()).unwrap();
//! let profile = Folded::parse("main;work 3\n").unwrap().to_profile();
//! let labels = Labels::new([("__name__", "process_cpu"), ("service", "api")]).unwrap();
//! store.ingest(&labels, &profile, 1_000).unwrap();
//!
//! let merged = store.merge(&[Matcher::equal("service", "api")], 0, 2_000).unwrap();
//! assert_eq!(merged.profiles, 1);
//! let folded = Folded::from_profile(&merged.profile.unwrap(), 0);
//! assert_eq!(folded.to_text(), "main;work 3\n");
//! ```

#![warn(missing_docs)]

mod blob;
pub mod check;
mod codec;
mod commit;
mod commits;
mod dir_lock;
pub mod disk_space;
mod error;
mod format_version;
mod index;
mod keys;
pub mod labels;
pub mod matcher;
pub mod memory;
pub mod pack;
pub mod query;
pub mod query_limits;
mod records;
pub mod retention;
mod sample_labels;
mod sled_open;
mod store;
mod symbols;
mod tables;

pub use error::{Error, Result};
pub use format_version::FORMAT_VERSION;
pub use index::Series;
pub use query::{choose, Merged, PresentType};
pub use query_limits::{Cancel, QueryLimits};
pub use sample_labels::MAX_SAMPLE_LABEL_VALUES;
pub use store::{Store, StoreOptions, Written};

/// The sled database type used throughout.
pub(crate) type Db = sled::Db;
/// The sled tree type used throughout.
pub(crate) type Tree = sled::Tree;
