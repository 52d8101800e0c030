//! The one error type of this crate.

use std::path::PathBuf;

/// Everything that can go wrong while reading, combining or rendering profiles.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The input decompresses to more than the configured limit.
    #[error(
        "input decompresses to more than {limit} bytes; refusing it (a gzip bomb, or raise the decompression limit)"
    )]
    TooLarge {
        /// The limit in bytes that was exceeded.
        limit: usize,
    },
    /// The gzip stream is corrupt or truncated.
    #[error("input is not valid gzip: {0}")]
    Gzip(#[source] std::io::Error),
    /// The bytes are not a pprof protobuf message.
    #[error("input is not a pprof profile: {0}")]
    Protobuf(#[from] prost::DecodeError),
    /// The message decodes but breaks a rule of the pprof format.
    #[error("invalid pprof profile: {0}")]
    Invalid(String),
    /// A line of folded stacks input cannot be parsed.
    #[error("folded stacks, line {line}: {reason} (expected `frame;frame;... COUNT`)")]
    Folded {
        /// 1-based line number.
        line: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// Input that is neither pprof nor folded stacks.
    #[error("input is neither a pprof profile (gzip or raw) nor folded stacks: {0}")]
    UnknownFormat(String),
    /// Profiles with different sample types cannot be combined.
    #[error("sample types differ: expected [{expected}], found [{found}]; merge only profiles of the same kind")]
    SampleTypeMismatch {
        /// Sample types of the first profile.
        expected: String,
        /// Sample types of the offending profile.
        found: String,
    },
    /// The requested sample type is not in the profile.
    #[error("no sample type {wanted:?} in this profile; available: {available}")]
    NoSuchSampleType {
        /// What was asked for.
        wanted: String,
        /// What the profile has.
        available: String,
    },
    /// An output file name whose extension says nothing about the format.
    #[error("cannot tell the output format of {0:?}: use .pb.gz (pprof), .folded or .svg")]
    UnknownOutputFormat(PathBuf),
    /// Rendering the flame graph failed.
    #[error("flame graph rendering failed: {0}")]
    Render(String),
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
