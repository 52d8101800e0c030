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
/// show an error as one line of text (a command's last words, an HTTP
/// answer, a log line). OS errors keep their words and lose their number
/// (`No such file or directory`, not `… (os error 2)`).
pub fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![words(error)];
    let mut cause = error.source();
    while let Some(next) = cause {
        parts.push(words(next));
        cause = next.source();
    }
    parts.join(": ")
}

/// What `error` says, without the `(os error N)` of an OS error.
fn words(error: &(dyn std::error::Error + 'static)) -> String {
    let text = error.to_string();
    match error
        .downcast_ref::<std::io::Error>()
        .and_then(std::io::Error::raw_os_error)
    {
        Some(code) => text
            .strip_suffix(&format!(" (os error {code})"))
            .map_or_else(|| text.clone(), str::to_owned),
        None => text,
    }
}

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chain_names_each_cause_once_and_os_errors_in_words() {
        let error = Error::Io {
            path: PathBuf::from("x.pb.gz"),
            source: std::io::Error::from_raw_os_error(2),
        };
        assert_eq!(chain(&error), "x.pb.gz: No such file or directory");
        let error = Error::File {
            path: PathBuf::from("y.folded"),
            source: Box::new(Error::Request("nothing in it".to_owned())),
        };
        assert_eq!(chain(&error), "y.folded: nothing in it");
    }
}
