//! The catalog: which blocks hold the compacted data, which segments they
//! cover, and which objects wait for deletion. One compactor writes it;
//! every server reads the newest one (the greatest key).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// One generation of the catalog.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct Catalog {
    /// Generation: one more than the catalog it was made from.
    pub(crate) generation: u64,
    /// The live blocks.
    pub(crate) blocks: Vec<Block>,
    /// Per writer, the highest segment number the blocks hold: segments up
    /// to it are never read again.
    pub(crate) covered: BTreeMap<String, u64>,
    /// Objects no catalog refers to any more, deleted once their grace
    /// period is over (running reads finish first).
    pub(crate) garbage: Vec<Garbage>,
}

/// A compacted block.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct Block {
    /// Its key.
    pub(crate) key: String,
    /// 1 when made from segments, one more than its inputs' otherwise.
    pub(crate) level: u32,
    /// Earliest and latest profile time in it (unix ns).
    pub(crate) min_time: u64,
    pub(crate) max_time: u64,
    /// Profiles in it.
    pub(crate) profiles: u64,
    /// Its size in bytes.
    pub(crate) bytes: u64,
    /// The objects it was made from: a server that read all of them need
    /// not read the block.
    pub(crate) sources: Vec<String>,
}

/// An object waiting for deletion.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct Garbage {
    /// Its key.
    pub(crate) key: String,
    /// When it stopped being referred to (unix ms).
    pub(crate) since_ms: u64,
}

/// The lease of the compactor.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct Lease {
    /// The writer id that holds it.
    pub(crate) holder: String,
    /// Until when (unix ms).
    pub(crate) until_ms: u64,
}

/// A running server's heartbeat.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct Heartbeat {
    /// Its writer id.
    pub(crate) writer: String,
    /// When it was written (unix ms).
    pub(crate) at_ms: u64,
    /// The highest segment number it has written, if any.
    pub(crate) last_segment: Option<u64>,
}
