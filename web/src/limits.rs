//! Limits on what one request may send; over a limit is a 4xx, never a
//! crash or an unbounded allocation.

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
/// Most values of the `group_by` label one chart answer holds: sample
/// labels such as `pid` can take any number, and each line costs memory.
pub const MAX_GROUPS: usize = 500;

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
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            max_decompressed_bytes: DEFAULT_MAX_DECOMPRESSED_BYTES,
            max_series_per_push: DEFAULT_MAX_SERIES_PER_PUSH,
            max_profiles_per_push: DEFAULT_MAX_PROFILES_PER_PUSH,
        }
    }
}
