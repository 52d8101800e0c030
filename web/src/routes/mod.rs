//! HTTP handlers, one module per group of endpoints.

pub(crate) mod diff;
pub(crate) mod ingest;
pub(crate) mod labels;
pub(crate) mod ops;
pub(crate) mod profile_json;
pub(crate) mod pyroscope;
pub(crate) mod query;

use axum::extract::{rejection::QueryRejection, Query};

use crate::{Error, Result};

/// Query parameters in order, or a 400 that says what is wrong with them.
pub(crate) fn params(
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<Vec<(String, String)>> {
    query
        .map(|Query(pairs)| pairs)
        .map_err(|e| Error::BadRequest(format!("malformed query string: {}", e.body_text())))
}

/// The last value of parameter `name`.
pub(crate) fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .rev()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}
