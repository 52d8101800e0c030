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
    #[error("input is not valid gzip")]
    Gzip(#[source] std::io::Error),
    /// The bytes are not a pprof protobuf message.
    #[error("input is not a pprof profile")]
    Protobuf(#[from] prost::DecodeError),
    /// The message decodes but breaks a rule of the pprof format.
    #[error("invalid pprof profile: {0}")]
    Invalid(String),
    /// A request this crate cannot carry out as asked: an option out of
    /// range, nothing to merge or compare. The message says what to change.
    #[error("{0}")]
    Request(String),
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
    #[error("sample types differ: expected [{expected}], found [{found}]; combine profiles of the same kind, or one sample type they share")]
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
    #[error("{path}: cannot tell the output format; end the name in {known}")]
    UnknownOutputFormat {
        /// The output file.
        path: PathBuf,
        /// The endings this output takes, with their formats.
        known: String,
    },
    /// An output file name whose extension names a format this output is not.
    #[error("{path}: {ending} asks for {named}, which this command does not write; end the name in {known}")]
    MismatchedOutputFormat {
        /// The output file.
        path: PathBuf,
        /// The ending found.
        ending: String,
        /// The format that ending names.
        named: &'static str,
        /// The endings this output takes, with their formats.
        known: String,
    },
    /// Rendering the flame graph failed.
    #[error("flame graph rendering failed: {0}")]
    Render(String),
    /// Reading or writing a file failed.
    #[error("{path}")]
    Io {
        /// The file involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A file was read but its content cannot be used.
    #[error("{path}")]
    File {
        /// The file involved.
        path: PathBuf,
        /// What is wrong with its content.
        #[source]
        source: Box<Error>,
    },
}

impl Error {
    /// The error at the root of a [`Error::File`], or this one.
    pub fn root(&self) -> &Self {
        match self {
            Self::File { source, .. } => source.root(),
            other => other,
        }
    }
}

/// `error` and every cause under it, joined by `: `, for the places that
/// show an error as one line of text (an HTTP answer, a log line).
pub fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(next) = cause {
        text.push_str(": ");
        text.push_str(&next.to_string());
        cause = next.source();
    }
    text
}

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
