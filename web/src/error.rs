//! The one error type of this crate; every variant knows its HTTP status,
//! and the response body is always `{"error": "..."}`.
//!
//! A message never repeats its `#[source]`: the causes are appended once,
//! after it, in answers and logs ([`Error::report`]). Input that does not
//! parse is a 4xx, never a 500.

use axum::{
    http::StatusCode,
    response::{IntoResponse, Response},
    Json,
};

/// Everything a request or the server can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The request is malformed: the message says which part and why.
    #[error("{0}")]
    BadRequest(String),
    /// The body (or what it decompresses to) is over a limit.
    #[error("{0}")]
    TooLarge(String),
    /// No valid credentials.
    #[error("missing or invalid credentials: send `Authorization: Bearer TOKEN` with a token from the server's token file, or sign in on the web page")]
    Unauthorized,
    /// Valid credentials without the scope the endpoint needs.
    #[error("this token lacks the `{0}` scope this endpoint needs; use a token whose line in the server's token file grants it")]
    Forbidden(&'static str),
    /// A token bound to one tenant, used for another.
    #[error("this token is bound to tenant {bound:?} and cannot act for tenant {asked:?}; drop the `X-Scope-OrgID` header or use that tenant's token")]
    WrongTenant {
        /// The token's tenant.
        bound: String,
        /// The tenant the request named.
        asked: String,
    },
    /// Nothing matches the request.
    #[error("{0}")]
    NotFound(String),
    /// A body in a format this endpoint does not speak.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] brasa_store::Error),
    /// The shared bucket failed (servers started with `--storage`).
    #[error(transparent)]
    Cluster(#[from] brasa_cluster::Error),
    /// A profile could not be decoded, merged or rendered.
    #[error(transparent)]
    Profile(#[from] brasa_profile::Error),
    /// The token file's content is refused. An error of the server's
    /// setup, never an answer to a request.
    #[error("token file {path}: {reason}")]
    TokenFile {
        /// The file given with `--token-file`.
        path: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The token file cannot be read. An error of the server's setup,
    /// never an answer to a request.
    #[error("cannot read the token file {path}; check the path given with --token-file and its permissions")]
    TokenFileUnreadable {
        /// The file given with `--token-file`.
        path: String,
        /// Why reading it failed.
        #[source]
        source: std::io::Error,
    },
    /// The server has more of this kind of request than it takes at once:
    /// answered 429 with `Retry-After`.
    #[error("the server is busy with {what} requests ({reason}); retry in {} s, as the Retry-After header says", crate::limits::RETRY_AFTER_SECS)]
    Busy {
        /// The kind of request (`ingest`, `query`).
        what: &'static str,
        /// Why this one was not taken.
        reason: &'static str,
    },
    /// A bug or a failed background task.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    /// The HTTP status this error is answered with: 4xx for anything the
    /// request got wrong (input that does not parse included), 5xx for
    /// failures of the server and its store.
    pub fn status(&self) -> StatusCode {
        use brasa_profile::Error as P;
        use brasa_store::Error as S;
        match self {
            Self::BadRequest(_) | Self::TokenFile { .. } => StatusCode::BAD_REQUEST,
            Self::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) | Self::WrongTenant { .. } => StatusCode::FORBIDDEN,
            Self::Busy { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Cluster(e) if e.is_retryable() => StatusCode::SERVICE_UNAVAILABLE,
            Self::Cluster(brasa_cluster::Error::Store(S::DiskFull { .. })) => {
                StatusCode::INSUFFICIENT_STORAGE
            }
            Self::Cluster(_) => StatusCode::INTERNAL_SERVER_ERROR,
            Self::Store(S::QueryMemoryBusy { .. }) => StatusCode::SERVICE_UNAVAILABLE,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Store(S::Labels(_) | S::Regex { .. } | S::TooManyValues { .. }) => {
                StatusCode::BAD_REQUEST
            }
            Self::Store(
                S::QueryLimit { .. } | S::QueryMemory { .. } | S::QueryTimeLimit { .. },
            ) => StatusCode::UNPROCESSABLE_ENTITY,
            // Nobody reads it: the client is gone (nginx's "client closed
            // request").
            Self::Store(S::QueryCancelled) => {
                StatusCode::from_u16(499).unwrap_or(StatusCode::SERVICE_UNAVAILABLE)
            }
            Self::Store(S::DiskFull { .. }) => StatusCode::INSUFFICIENT_STORAGE,
            Self::Store(S::Profile(p)) | Self::Profile(p) => match p.root() {
                P::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
                P::Render(_) | P::Io { .. } => StatusCode::INTERNAL_SERVER_ERROR,
                _ => StatusCode::BAD_REQUEST,
            },
            Self::Store(_) | Self::TokenFileUnreadable { .. } | Self::Internal(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    }

    /// The message followed by its causes, each once
    /// ([`brasa_profile::error_chain`]).
    pub fn report(&self) -> String {
        brasa_profile::error_chain(self)
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let status = self.status();
        let report = self.report();
        if matches!(self, Self::Store(brasa_store::Error::DiskFull { .. })) {
            // Every push says so while the disk is full: once a minute is enough.
            if disk_full_log_due() {
                tracing::error!("{report}");
            }
        } else if status.is_server_error() {
            tracing::error!("{report}");
        }
        let body = Json(serde_json::json!({ "error": report }));
        let mut response = (status, body).into_response();
        if matches!(
            self,
            Self::Busy { .. } | Self::Store(brasa_store::Error::QueryMemoryBusy { .. })
        ) || matches!(&self, Self::Cluster(e) if e.is_retryable())
        {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(crate::limits::RETRY_AFTER_SECS),
            );
        }
        response
    }
}

/// Whether a minute has passed since the last log of a full disk.
fn disk_full_log_due() -> bool {
    use std::sync::atomic::{AtomicU64, Ordering};
    static LAST: AtomicU64 = AtomicU64::new(0);
    let now = crate::time::nanos(std::time::SystemTime::now()) / 1_000_000_000;
    let last = LAST.load(Ordering::Relaxed);
    now >= last + 60
        && LAST
            .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
}

impl From<tokio::task::JoinError> for Error {
    fn from(e: tokio::task::JoinError) -> Self {
        Self::Internal(format!("worker task failed: {e}"))
    }
}

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use brasa_profile::{codec, folded::Folded};
    use brasa_store::{labels::Labels, matcher::Matcher};

    use super::*;
    use crate::auth::Tokens;

    /// Errors of every parser a request goes through, from the parsers
    /// themselves.
    fn parse_errors() -> Vec<Error> {
        let now = std::time::SystemTime::now();
        let gzip = codec::encode(&Folded::parse("a 1\n").unwrap().to_profile());
        vec![
            crate::selector::parse_selector("{a=").unwrap_err(),
            Error::BadRequest(
                crate::time::parse_time("soon", now)
                    .unwrap_err()
                    .to_string(),
            ),
            codec::maybe_gunzip(&gzip[..gzip.len() / 2], 1 << 20)
                .map(|_| ())
                .unwrap_err()
                .into(),
            codec::decode_raw(b"\xff\xfe not pprof").unwrap_err().into(),
            Folded::parse("a;b\n").unwrap_err().into(),
            Labels::new([("bad-name", "x")]).unwrap_err().into(),
            Matcher::regex("a", "(").unwrap_err().into(),
            brasa_store::Error::from(codec::decode_raw(b"\xff").unwrap_err()).into(),
            Tokens::parse("short\n")
                .map_err(|reason| Error::TokenFile {
                    path: "tokens".to_owned(),
                    reason,
                })
                .unwrap_err(),
        ]
    }

    #[test]
    fn parse_errors_are_never_5xx() {
        for error in parse_errors() {
            assert!(
                error.status().is_client_error(),
                "{error}: {}",
                error.status()
            );
        }
    }

    #[test]
    fn messages_do_not_repeat_their_source() {
        let unreadable = Error::TokenFileUnreadable {
            path: "tokens".to_owned(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"),
        };
        assert!(!unreadable.to_string().contains("no such file"));
        assert!(unreadable
            .report()
            .ends_with("--token-file and its permissions: no such file"));
        // Every cause is reported, once.
        for error in parse_errors() {
            let report = error.report();
            let mut cause = std::error::Error::source(&error);
            while let Some(c) = cause {
                let text = c.to_string();
                assert_eq!(report.matches(&text).count(), 1, "{text:?} in {report:?}");
                cause = c.source();
            }
        }
        let io = Error::Store(brasa_store::Error::Io(std::io::Error::other("disk full")));
        assert_eq!(
            io.report().matches("disk full").count(),
            1,
            "{}",
            io.report()
        );
    }
}
