//! The one error type of this crate.

use std::sync::Arc;

/// Everything a server on a shared bucket can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// `--storage` does not parse.
    #[error("--storage {url:?}: {reason}; write it as s3://BUCKET/PREFIX?endpoint=http://HOST:PORT&region=REGION")]
    BadUrl {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// No credentials in the environment and no file.
    #[error("no credentials for the bucket: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or pass --storage-credentials FILE")]
    NoCredentials,
    /// The credentials file cannot be read.
    #[error("cannot read the storage credentials file {path}; check the path given with --storage-credentials and its permissions")]
    CredentialsUnreadable {
        /// The file.
        path: String,
        /// Why reading it failed.
        #[source]
        source: std::io::Error,
    },
    /// The credentials file's content is refused.
    #[error("storage credentials file {path}: {reason}")]
    Credentials {
        /// The file.
        path: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A request to the bucket failed.
    #[error("the bucket failed a request on {key}; check that the object store is up and that the endpoint, bucket and credentials are right")]
    Bucket {
        /// The object (or prefix) the request was about.
        key: String,
        /// The object store's error.
        #[source]
        source: object_store::Error,
    },
    /// An object of the bucket does not decode.
    #[error(
        "object {key} in the bucket is damaged; it is skipped, and `brasa` keeps serving the rest"
    )]
    Damaged {
        /// The object.
        key: String,
        /// Why it does not decode.
        #[source]
        source: brasa_store::Error,
    },
    /// A catalog or heartbeat object does not parse.
    #[error("object {key} in the bucket is not a Brasa catalog, lease or heartbeat; remove it or give the servers a prefix of their own")]
    BadJson {
        /// The object.
        key: String,
        /// Why it does not parse.
        #[source]
        source: serde_json::Error,
    },
    /// The segment that would have held a push could not be written: the
    /// push is not stored, and the client should send it again.
    #[error(
        "the profiles could not be written to the bucket; they are not stored, send them again"
    )]
    NotDurable(#[source] Arc<Error>),
    /// A compaction ran longer than unlisted blocks are kept: its result is
    /// dropped, and the next run starts again.
    #[error("compaction took {took_ms} ms, longer than blocks that no catalog lists are kept; its blocks are left for garbage collection, and the next run starts again")]
    CompactionTooSlow {
        /// How long it ran.
        took_ms: u64,
    },
    /// The local store failed.
    #[error(transparent)]
    Store(#[from] brasa_store::Error),
    /// A background task failed or the server is stopping.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    /// Whether the client may succeed by sending the same request later.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::NotDurable(_) | Self::Bucket { .. })
    }
}

/// Result with this crate's error.
pub type Result<T, E = Error> = std::result::Result<T, E>;
