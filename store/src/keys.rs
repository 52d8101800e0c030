//! The on-disk layout: every sled tree and key format of the store is
//! defined here and nowhere else.
//!
//! | tree | key | value |
//! |---|---|---|
//! | `series` | canonical labels ([`Labels::to_bytes`]) | series id, u64 BE |
//! | `series_labels` | series id, u64 BE | canonical labels |
//! | `series_types` | series id, u64 BE | sample type names, `type/unit` joined by `,` |
//! | `postings` | `name 0 value 0` + series id u64 BE | empty |
//! | `profiles` | series id u64 BE + time u64 BE (unix ns) | blob ([`crate::blob`]) |
//! | `symbols` | series id u64 BE + chunk number u32 BE | symbol records first seen by one ingest ([`crate::symbols`]) |
//! | `meta` | `next_series_id` | u64 BE |
//!
//! Big-endian integers make sled's byte order the numeric order, so a
//! series' profiles are one contiguous, time-ordered key range.
//!
//! [`Labels::to_bytes`]: crate::labels::Labels::to_bytes

use crate::{Error, Result};

/// Tree names.
pub mod tree {
    /// Canonical labels → series id.
    pub const SERIES: &str = "series";
    /// Series id → canonical labels.
    pub const SERIES_LABELS: &str = "series_labels";
    /// Series id → sample type names.
    pub const SERIES_TYPES: &str = "series_types";
    /// Label name and value → series ids.
    pub const POSTINGS: &str = "postings";
    /// (series, time) → compressed profile.
    pub const PROFILES: &str = "profiles";
    /// (series, chunk) → symbol records.
    pub const SYMBOLS: &str = "symbols";
    /// Counters.
    pub const META: &str = "meta";
}

/// Key in [`tree::META`] of the next series id to hand out.
pub const NEXT_SERIES_ID: &[u8] = b"next_series_id";

/// A series id as a key or value.
pub fn series_id(id: u64) -> [u8; 8] {
    id.to_be_bytes()
}

/// Parses a series id stored by [`series_id`].
pub fn parse_series_id(bytes: &[u8]) -> Result<u64> {
    let bytes: [u8; 8] = bytes
        .try_into()
        .map_err(|_| Error::Corrupt(format!("series id of {} bytes", bytes.len())))?;
    Ok(u64::from_be_bytes(bytes))
}

/// Key of a chunk of symbol records.
pub fn symbol_chunk(series: u64, chunk: u32) -> [u8; 12] {
    let mut key = [0; 12];
    key[..8].copy_from_slice(&series.to_be_bytes());
    key[8..].copy_from_slice(&chunk.to_be_bytes());
    key
}

/// Splits a [`symbol_chunk`] key into (series, chunk).
pub fn parse_symbol_chunk(key: &[u8]) -> Result<(u64, u32)> {
    let key: &[u8; 12] = key
        .try_into()
        .map_err(|_| Error::Corrupt(format!("symbol key of {} bytes", key.len())))?;
    let mut chunk = [0; 4];
    chunk.copy_from_slice(&key[8..]);
    Ok((parse_series_id(&key[..8])?, u32::from_be_bytes(chunk)))
}

/// Key of a profile: series id then time, both BE.
pub fn pair(series: u64, second: u64) -> [u8; 16] {
    let mut key = [0; 16];
    key[..8].copy_from_slice(&series.to_be_bytes());
    key[8..].copy_from_slice(&second.to_be_bytes());
    key
}

/// Splits a [`pair`] key into (series id, second).
pub fn parse_pair(key: &[u8]) -> Result<(u64, u64)> {
    if key.len() != 16 {
        return Err(Error::Corrupt(format!(
            "profile key of {} bytes",
            key.len()
        )));
    }
    Ok((parse_series_id(&key[..8])?, parse_series_id(&key[8..])?))
}

/// Prefix of every posting of label `name`: `name 0`.
pub fn posting_name_prefix(name: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(name.len() + 1);
    key.extend_from_slice(name.as_bytes());
    key.push(0);
    key
}

/// Posting key: `name 0 value 0 series`.
pub fn posting(name: &str, value: &str, series: u64) -> Vec<u8> {
    let mut key = posting_name_prefix(name);
    key.extend_from_slice(value.as_bytes());
    key.push(0);
    key.extend_from_slice(&series.to_be_bytes());
    key
}

/// Splits a posting key into (name, value, series).
pub fn parse_posting(key: &[u8]) -> Result<(&str, &str, u64)> {
    let corrupt = || Error::Corrupt("posting key".to_owned());
    if key.len() < 10 {
        return Err(corrupt());
    }
    let (text, id) = key.split_at(key.len() - 8);
    let text = std::str::from_utf8(text).map_err(|_| corrupt())?;
    let text = text.strip_suffix('\0').ok_or_else(corrupt)?;
    let (name, value) = text.split_once('\0').ok_or_else(corrupt)?;
    Ok((name, value, parse_series_id(id)?))
}
