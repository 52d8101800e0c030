//! Limits on what one request may send; over a limit is a 4xx, never a
//! crash or an unbounded allocation. And how many requests of each kind
//! the server takes at once ([`crate::admission`]).

use std::time::Duration;

/// Default largest request body: an agent's 10 s profile of a busy host is
/// a few hundred KiB gzip, so 16 MiB leaves room for batched pushes.
pub const DEFAULT_MAX_BODY_BYTES: usize = 16 << 20;
/// Default largest decompressed profile (or push request): the one limit
/// of every Brasa reader of profiles. gzip of pprof compresses about
/// 5-10x, so it admits any honest body under the body limit while stopping
/// gzip bombs early.
pub use brasa_profile::codec::DEFAULT_MAX_DECOMPRESSED_BYTES;
/// Default most series in one Pyroscope push.
pub const DEFAULT_MAX_SERIES_PER_PUSH: usize = 256;
/// Default most profiles in one Pyroscope push.
pub const DEFAULT_MAX_PROFILES_PER_PUSH: usize = 1024;
/// Most points one `/api/v1/series` answer may hold per series (as in
/// Prometheus): beyond it the caller should widen `step`.
pub const MAX_POINTS_PER_SERIES: u64 = 11_000;
/// Most distinct values of the `group_by` label a query ranks: sample
/// labels such as `pid` can take any number, and each value holds a
/// running total while the query reads the range. Past it the query is a
/// 400 that says to narrow the selector.
pub const MAX_GROUPS: usize = 10_000;
/// Groups a `group_by` answer keeps apart when `limit` is not given (the
/// rest are one "other" group): about as many lines as a chart shows
/// legibly.
pub const DEFAULT_GROUP_LIMIT: usize = 12;
/// Largest `limit` of a `group_by` answer: each group is a chart line of
/// up to [`MAX_POINTS_PER_SERIES`] points.
pub const MAX_GROUP_LIMIT: usize = 100;

/// Default ingest requests at work at once: enough for group commit to
/// gather many pushes into one flush, few enough that an accepted push is
/// answered within about a second at saturation.
pub const DEFAULT_INGEST_IN_FLIGHT: usize = 16;
/// Default ingest requests waiting for a turn: a short queue, that
/// drains well within [`DEFAULT_INGEST_MAX_WAIT`] at saturation, so past
/// it pushes are refused at once rather than after a wait.
pub const DEFAULT_INGEST_QUEUED: usize = 32;
/// Default longest wait of an ingest request for its turn: past it the
/// agent is better off retrying later from its spool.
pub const DEFAULT_INGEST_MAX_WAIT: Duration = Duration::from_secs(2);
/// Default queries at work at once.
pub const DEFAULT_QUERY_IN_FLIGHT: usize = 8;
/// Default queries waiting for a turn.
pub const DEFAULT_QUERY_QUEUED: usize = 64;
/// Default longest wait of a query for its turn.
pub const DEFAULT_QUERY_MAX_WAIT: Duration = Duration::from_secs(10);

/// Seconds a refused client is told to wait (`Retry-After`).
pub const RETRY_AFTER_SECS: u64 = 1;

/// Limits of one class of requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lane {
    /// Requests at work at once.
    pub in_flight: usize,
    /// Requests waiting for a turn; one more is refused.
    pub queued: usize,
    /// Longest wait for a turn before the request is refused.
    pub max_wait: Duration,
}

/// See the module docs. Labels are limited by the store
/// (`brasa_store::labels`).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Limits {
    /// Largest request body in bytes. Default: [`DEFAULT_MAX_BODY_BYTES`].
    pub max_body_bytes: usize,
    /// Largest decompressed profile in bytes. Default:
    /// [`DEFAULT_MAX_DECOMPRESSED_BYTES`].
    pub max_decompressed_bytes: usize,
    /// Most series in one push. Default: [`DEFAULT_MAX_SERIES_PER_PUSH`].
    pub max_series_per_push: usize,
    /// Most profiles in one push. Default: [`DEFAULT_MAX_PROFILES_PER_PUSH`].
    pub max_profiles_per_push: usize,
    /// Admission of ingest requests. Default: [`DEFAULT_INGEST_IN_FLIGHT`],
    /// [`DEFAULT_INGEST_QUEUED`], [`DEFAULT_INGEST_MAX_WAIT`].
    pub ingest: Lane,
    /// Admission of queries. Default: [`DEFAULT_QUERY_IN_FLIGHT`],
    /// [`DEFAULT_QUERY_QUEUED`], [`DEFAULT_QUERY_MAX_WAIT`].
    pub query: Lane,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            max_decompressed_bytes: DEFAULT_MAX_DECOMPRESSED_BYTES,
            max_series_per_push: DEFAULT_MAX_SERIES_PER_PUSH,
            max_profiles_per_push: DEFAULT_MAX_PROFILES_PER_PUSH,
            ingest: Lane {
                in_flight: DEFAULT_INGEST_IN_FLIGHT,
                queued: DEFAULT_INGEST_QUEUED,
                max_wait: DEFAULT_INGEST_MAX_WAIT,
            },
            query: Lane {
                in_flight: DEFAULT_QUERY_IN_FLIGHT,
                queued: DEFAULT_QUERY_QUEUED,
                max_wait: DEFAULT_QUERY_MAX_WAIT,
            },
        }
    }
}
