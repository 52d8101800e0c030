//! Reading request bodies under the size limit.

use axum::body::{Body, Bytes};
use http_body_util::LengthLimitError;

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
