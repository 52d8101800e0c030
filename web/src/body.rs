//! Reading request bodies under the size limit.

use axum::body::{Body, Bytes};
use http_body_util::{BodyExt, LengthLimitError};

use crate::{Error, Result};

/// The whole body, or [`Error::TooLarge`] as soon as it passes `limit`.
pub(crate) async fn read_body(body: Body, limit: usize) -> Result<Bytes> {
    axum::body::to_bytes(body, limit).await.map_err(|e| {
        let over_limit = std::error::Error::source(&e)
            .is_some_and(|s| s.is::<LengthLimitError>())
            || e.to_string().contains("length limit");
        if over_limit {
            Error::TooLarge(format!(
                "request body is larger than {limit} bytes; send smaller profiles or raise the server's body limit"
            ))
        } else {
            Error::BadRequest(format!("could not read the request body: {e}"))
        }
    })
}

/// Reads and drops the body, up to `limit` bytes, so that a client that
/// sends its whole body before reading the answer (most do) gets to read
/// it instead of a reset connection. Stops quietly past the limit or on an
/// error: the answer is already decided.
pub(crate) async fn discard_body(body: Body, limit: usize) {
    let mut body = body;
    let mut read = 0usize;
    while let Some(Ok(frame)) = body.frame().await {
        read += frame.data_ref().map_or(0, Bytes::len);
        if read > limit {
            break;
        }
    }
}
