//! Why a scrape failed. The message goes to the target's `last_error`
//! and the server's log, so each one says what to check.

use std::time::Duration;

/// Everything one scrape can fail with.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ScrapeError {
    /// The request did not get an HTTP answer.
    #[error(
        "the request failed; check that the target runs, listens at this address and speaks HTTP"
    )]
    Request(#[source] hyper_util::client::legacy::Error),
    /// No complete answer in time.
    #[error("no answer within {}; the target hangs or is slow: check it, or raise scrape_timeout", humantime::format_duration(*.0))]
    Timeout(Duration),
    /// An answer that is not a success.
    #[error("the target answered HTTP {status}: {excerpt}; check the path in pprof_config")]
    Status {
        /// The HTTP status.
        status: u16,
        /// The start of its body.
        excerpt: String,
    },
    /// An answer over the server's body limit.
    #[error("the answer is larger than {limit} bytes, the server's body limit")]
    TooLarge {
        /// The limit.
        limit: usize,
    },
    /// The answer's body broke off.
    #[error("reading the answer failed")]
    Body(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The answer is not a profile.
    #[error(
        "the answer cannot be read as a profile; check that the path serves Go's net/http/pprof"
    )]
    NotPprof(#[source] brasa_profile::Error),
    /// The answer decodes but holds no sample type.
    #[error("the answer is not a profile (it has no sample types); check that the path serves Go's net/http/pprof")]
    NoSampleTypes,
    /// The profile was fetched but not stored.
    #[error("the profile could not be stored")]
    Store(#[source] crate::Error),
    /// A bug or a failed background task.
    #[error("internal error: {0}")]
    Internal(String),
}
