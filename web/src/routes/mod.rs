//! HTTP handlers, one module per group of endpoints.

pub(crate) mod diff;
pub(crate) mod groups;
pub(crate) mod ingest;
pub(crate) mod labels;
pub(crate) mod name_table;
pub(crate) mod ops;
pub(crate) mod profile_json;
pub(crate) mod pyroscope;
pub(crate) mod query;
pub(crate) mod session;
pub(crate) mod targets;
