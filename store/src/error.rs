//! The one error type of this crate.

/// Everything that can go wrong while storing or reading profiles.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The database files could not be read or written.
    #[error(
        "profile store I/O failed: {0}; check the data directory's permissions and free space"
    )]
    Io(#[from] std::io::Error),
    /// The embedded database refused an operation.
    #[error("profile store database error: {0}; check the data directory (disk full, permissions, another process using it)")]
    Sled(#[from] sled::Error),
    /// A label set breaks a rule (syntax, length, count).
    #[error("invalid labels: {0}")]
    Labels(String),
    /// A regular expression in a matcher does not compile.
    #[error("invalid regular expression {pattern:?}: {reason}")]
    Regex {
        /// The pattern as given.
        pattern: String,
        /// Why it was refused.
        reason: String,
    },
    /// A stored record cannot be decoded: the data directory is damaged or
    /// was written by an incompatible version.
    #[error("corrupt store record ({0}); restore the data directory from a backup or delete it")]
    Corrupt(String),
    /// A stored profile or an input profile is not valid pprof, or profiles
    /// cannot be merged.
    #[error(transparent)]
    Profile(#[from] brasa_profile::Error),
}

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
