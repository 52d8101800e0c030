//! The one error type of this crate; every variant knows its HTTP status,
//! and the response body is always `{"error": "..."}`.

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
    #[error("missing or invalid credentials: send `Authorization: Bearer TOKEN` with a token from the server's token file")]
    Unauthorized,
    /// Nothing matches the request.
    #[error("{0}")]
    NotFound(String),
    /// A body in a format this endpoint does not speak.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] brasa_store::Error),
    /// A profile could not be decoded, merged or rendered.
    #[error(transparent)]
    Profile(#[from] brasa_profile::Error),
    /// The token file cannot be used.
    #[error("token file {path}: {reason}")]
    TokenFile {
        /// The file given with `--token-file`.
        path: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A bug or a failed background task.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    /// The HTTP status this error is answered with.
    pub fn status(&self) -> StatusCode {
        use brasa_profile::Error as P;
        use brasa_store::Error as S;
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Store(S::Labels(_) | S::Regex { .. }) => StatusCode::BAD_REQUEST,
            Self::Store(S::Profile(p)) | Self::Profile(p) => match p.root() {
                P::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
                P::Render(_) | P::Io { .. } => StatusCode::INTERNAL_SERVER_ERROR,
                _ => StatusCode::BAD_REQUEST,
            },
            Self::Store(_) | Self::TokenFile { .. } | Self::Internal(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let status = self.status();
        let message = brasa_profile::error_chain(&self);
        if status.is_server_error() {
            tracing::error!("{message}");
        }
        let body = Json(serde_json::json!({ "error": message }));
        (status, body).into_response()
    }
}

impl From<tokio::task::JoinError> for Error {
    fn from(e: tokio::task::JoinError) -> Self {
        Self::Internal(format!("worker task failed: {e}"))
    }
}

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
