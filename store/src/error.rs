//! The one error type of this crate.
//!
//! Messages say what went wrong and what to do about it. A variant that
//! wraps another error does not repeat it: callers print the chain of
//! [`std::error::Error::source`]s after the message.

use std::path::PathBuf;

/// Everything that can go wrong while storing or reading profiles.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The database files could not be read or written.
    #[error("profile store I/O failed; check the data directory's permissions and free space")]
    Io(#[from] std::io::Error),
    /// The embedded database refused an operation.
    #[error("profile store database error; check the data directory's permissions and free space")]
    Sled(#[from] sled::Error),
    /// Another process (or another store in this process) has the data
    /// directory open: sled allows one at a time.
    #[error(
        "{} is in use by another Brasa process{}; stop it or choose another --data directory",
        .path.display(),
        pid_note(.pid)
    )]
    Locked {
        /// The data directory.
        path: PathBuf,
        /// The process that holds it, when the system says.
        pid: Option<u32>,
    },
    /// The data directory was written in a store format that this build
    /// does not read.
    #[error(
        "the data directory {} was written by store format {found}; this Brasa reads format \
         {expected}: use a new --data directory or the matching Brasa version",
        .path.display()
    )]
    FormatMismatch {
        /// The data directory.
        path: PathBuf,
        /// The format its version file names.
        found: u32,
        /// The format this build reads and writes.
        expected: u32,
    },
    /// The data directory's format version file holds something other than
    /// a version number.
    #[error(
        "{} does not hold a store format version; restore the data directory from a backup, \
         or use a new --data directory",
        .path.display()
    )]
    FormatUnreadable {
        /// The version file.
        path: PathBuf,
    },
    /// The data directory's format version file could not be read or
    /// written.
    #[error(
        "cannot read or write the store format file {}; check the data directory's permissions \
         and free space",
        .path.display()
    )]
    FormatFile {
        /// The version file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A directory given as a data directory holds no store.
    #[error(
        "{} holds no Brasa store (neither a FORMAT nor a db file); check the --data directory",
        .path.display()
    )]
    NotAStore {
        /// The directory.
        path: PathBuf,
    },
    /// A label set breaks a rule (syntax, length, count).
    #[error("invalid labels: {0}")]
    Labels(String),
    /// A regular expression in a matcher does not compile.
    #[error("invalid regular expression {pattern:?}: {reason}; correct the pattern (Rust regex syntax, matched against the whole value)")]
    Regex {
        /// The pattern as given.
        pattern: String,
        /// Why it was refused.
        reason: String,
    },
    /// A sample label takes more values than are listed.
    #[error(
        "the sample label {name} has more than {limit} values, too many to list; \
         select with a matcher on it (e.g. {{{name}=\"...\"}}) or group by a label with fewer values"
    )]
    TooManyValues {
        /// The label.
        name: String,
        /// The most values listed.
        limit: usize,
    },
    /// The data directory's filesystem has less free space than the store
    /// keeps in reserve; nothing was written.
    #[error(
        "the data directory's filesystem has {available} bytes free, under the {min_free} bytes \
         kept in reserve; free up space or move the data directory (writes resume by themselves)"
    )]
    DiskFull {
        /// Bytes available.
        available: u64,
        /// The reserve.
        min_free: u64,
    },
    /// A query reads or builds more than this server allows.
    #[error(
        "the query selects more than {limit} {what}, this server's limit; \
         narrow the selector or the time range"
    )]
    QueryLimit {
        /// What is counted: `series`, `profiles` or `stacks`.
        what: &'static str,
        /// The limit.
        limit: u64,
    },
    /// A query's merge needs more than all of the memory this server
    /// gives queries.
    #[error(
        "the query needs more than {limit} bytes of memory, this server's share for queries \
         (a part of --memory-budget-mib); narrow the selector or the time range"
    )]
    QueryMemory {
        /// The query share of the memory budget.
        limit: u64,
    },
    /// Running queries hold all of the memory this server gives queries.
    #[error(
        "other queries hold the {limit} bytes of memory this server gives queries; \
         retry in a moment, or narrow the selector or the time range"
    )]
    QueryMemoryBusy {
        /// The query share of the memory budget.
        limit: u64,
    },
    /// A query runs longer than this server allows.
    #[error(
        "the query took longer than {limit:?}, this server's limit; \
         narrow the selector or the time range"
    )]
    QueryTimeLimit {
        /// The limit.
        limit: std::time::Duration,
    },
    /// A query was cancelled ([`crate::query_limits::Cancel`]): the
    /// client that asked went away.
    #[error("the query was cancelled: its client went away before the answer")]
    QueryCancelled,
    /// A stored record cannot be decoded: the data directory is damaged.
    #[error(
        "corrupt store record ({0}); run `brasa store check` on the data directory to see what \
         is damaged, and restore it from a backup"
    )]
    Corrupt(String),
    /// A file of the data directory is damaged: found when the store is
    /// opened, before anything is served from it.
    #[error(
        "{} is damaged: {what}; run `brasa store check {}` to see what is damaged, and \
         restore the data directory from a backup",
        .path.display(),
        .path.parent().unwrap_or(.path).display()
    )]
    Damaged {
        /// The damaged file.
        path: PathBuf,
        /// What is wrong with it.
        what: String,
    },
    /// A stored profile or an input profile is not valid pprof, or profiles
    /// cannot be merged.
    #[error(transparent)]
    Profile(#[from] brasa_profile::Error),
}

fn pid_note(pid: &Option<u32>) -> String {
    pid.map(|pid| format!(" (pid {pid})")).unwrap_or_default()
}

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
