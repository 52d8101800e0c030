//! The on-disk layout: every sled tree and key format of the store is
//! defined here and nowhere else.
//!
//! | tree | key | value |
//! |---|---|---|
//! | `series` | [`SeriesKey`]: canonical labels (`Labels::to_bytes`) · 0xFF · kind | series id, u64 BE |
//! | `series_labels` | series id, u64 BE | canonical labels |
//! | `series_types` | series id, u64 BE | the series' [`Kind`] ([`encode_kind`]) |
//! | `postings` | [`PostingKey`]: `name 0 value 0` + series id u64 BE | empty |
//! | `profiles` | [`ProfileKey`]: series id u64 BE + time u64 BE (unix ns) | blob (`crate::blob`) |
//! | `symbols` | [`ChunkKey`]: series id u64 BE + chunk number u32 BE | symbol records first seen by one ingest (`crate::records`) |
//! | `sample_labels` | sample label `name 0 value 0` | empty |
//! | `meta` | `next_series_id` | u64 BE |
//! | `meta` | `commits`: the last commit's number (`crate::commits`) | u64 BE |
//!
//! Big-endian integers make sled's byte order the numeric order, so a
//! series' profiles are one contiguous, time-ordered key range.

use brasa_profile::profile_type::{Kind, ValueKind};

use crate::{
    codec::{put_uint, Reader},
    labels::Labels,
    Error, Result,
};

/// Tree names.
pub(crate) mod tree {
    /// Canonical labels → series id.
    pub(crate) const SERIES: &str = "series";
    /// Series id → canonical labels.
    pub(crate) const SERIES_LABELS: &str = "series_labels";
    /// Series id → its kind (sample types, period type).
    pub(crate) const SERIES_TYPES: &str = "series_types";
    /// Label name and value → series ids.
    pub(crate) const POSTINGS: &str = "postings";
    /// (series, time) → compressed profile.
    pub(crate) const PROFILES: &str = "profiles";
    /// (series, chunk) → symbol records.
    pub(crate) const SYMBOLS: &str = "symbols";
    /// Sample label names and values (`crate::sample_labels`).
    pub(crate) const SAMPLE_LABELS: &str = "sample_labels";
    /// Counters.
    pub(crate) const META: &str = "meta";
}

/// Key in [`tree::META`] of the next series id to hand out.
pub(crate) const NEXT_SERIES_ID: &[u8] = b"next_series_id";

/// Key in [`tree::META`] of the number of the last commit.
pub(crate) const COMMITS: &[u8] = b"commits";

/// A count (the last commit's number) as a value.
pub(crate) fn count(n: u64) -> [u8; 8] {
    n.to_be_bytes()
}

/// Parses a count stored by [`count`].
pub(crate) fn parse_count(bytes: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(bytes.try_into().ok()?))
}

/// A series id as a key or value.
pub(crate) fn series_id(id: u64) -> [u8; 8] {
    id.to_be_bytes()
}

/// Parses a series id stored by [`series_id`].
pub(crate) fn parse_series_id(bytes: &[u8]) -> Result<u64> {
    let bytes: [u8; 8] = bytes
        .try_into()
        .map_err(|_| Error::Corrupt(format!("series id of {} bytes", bytes.len())))?;
    Ok(u64::from_be_bytes(bytes))
}

/// Key of a stored profile in [`tree::PROFILES`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ProfileKey {
    pub(crate) series: u64,
    /// Unix ns; unique within the series.
    pub(crate) time_nanos: u64,
}

impl ProfileKey {
    pub(crate) fn encode(&self) -> [u8; 16] {
        let mut key = [0; 16];
        key[..8].copy_from_slice(&self.series.to_be_bytes());
        key[8..].copy_from_slice(&self.time_nanos.to_be_bytes());
        key
    }

    pub(crate) fn decode(key: &[u8]) -> Result<Self> {
        if key.len() != 16 {
            return Err(Error::Corrupt(format!(
                "profile key of {} bytes",
                key.len()
            )));
        }
        Ok(Self {
            series: parse_series_id(&key[..8])?,
            time_nanos: parse_series_id(&key[8..])?,
        })
    }
}

/// Key of a chunk of symbol records in [`tree::SYMBOLS`]. A series'
/// chunks share the prefix [`series_id`] and sort in the order written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ChunkKey {
    pub(crate) series: u64,
    /// 0 for the series' first chunk.
    pub(crate) chunk: u32,
}

impl ChunkKey {
    pub(crate) fn encode(&self) -> [u8; 12] {
        let mut key = [0; 12];
        key[..8].copy_from_slice(&self.series.to_be_bytes());
        key[8..].copy_from_slice(&self.chunk.to_be_bytes());
        key
    }

    pub(crate) fn decode(key: &[u8]) -> Result<Self> {
        let key: &[u8; 12] = key
            .try_into()
            .map_err(|_| Error::Corrupt(format!("symbol key of {} bytes", key.len())))?;
        let mut chunk = [0; 4];
        chunk.copy_from_slice(&key[8..]);
        Ok(Self {
            series: parse_series_id(&key[..8])?,
            chunk: u32::from_be_bytes(chunk),
        })
    }
}

/// Key of a posting in [`tree::POSTINGS`]: `name 0 value 0 series`. Names
/// and values never contain NUL (label validation refuses it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PostingKey<'a> {
    pub(crate) name: &'a str,
    pub(crate) value: &'a str,
    pub(crate) series: u64,
}

impl<'a> PostingKey<'a> {
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut key = Self::value_prefix(self.name, self.value);
        key.extend_from_slice(&self.series.to_be_bytes());
        key
    }

    pub(crate) fn decode(key: &'a [u8]) -> Result<Self> {
        let corrupt = || Error::Corrupt("posting key".to_owned());
        if key.len() < 10 {
            return Err(corrupt());
        }
        let (text, id) = key.split_at(key.len() - 8);
        let text = std::str::from_utf8(text).map_err(|_| corrupt())?;
        let text = text.strip_suffix('\0').ok_or_else(corrupt)?;
        let (name, value) = text.split_once('\0').ok_or_else(corrupt)?;
        Ok(Self {
            name,
            value,
            series: parse_series_id(id)?,
        })
    }

    /// The name and value of a `name 0 value 0` key ([`Self::value_prefix`]).
    pub(crate) fn decode_pair(key: &[u8]) -> Result<(&str, &str)> {
        let corrupt = || Error::Corrupt("label pair key".to_owned());
        let text = std::str::from_utf8(key).map_err(|_| corrupt())?;
        text.strip_suffix('\0')
            .and_then(|t| t.split_once('\0'))
            .ok_or_else(corrupt)
    }

    /// Prefix of every posting of label `name`: `name 0`.
    pub(crate) fn name_prefix(name: &str) -> Vec<u8> {
        let mut key = Vec::with_capacity(name.len() + 1);
        key.extend_from_slice(name.as_bytes());
        key.push(0);
        key
    }

    /// Prefix of every posting of `name` = `value`: `name 0 value 0`.
    pub(crate) fn value_prefix(name: &str, value: &str) -> Vec<u8> {
        let mut key = Self::name_prefix(name);
        key.extend_from_slice(value.as_bytes());
        key.push(0);
        key
    }
}

/// The key of a series in [`tree::SERIES`]: its labels and its kind, for
/// a series is one kind of profile under one label set (profiles whose
/// sample types differ never share a series). Canonical labels are UTF-8,
/// which never holds the byte 0xFF that separates them from the kind.
pub(crate) struct SeriesKey<'a> {
    pub(crate) labels: &'a Labels,
    pub(crate) kind: &'a Kind,
}

impl SeriesKey<'_> {
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut key = self.labels.to_bytes();
        key.push(0xFF);
        key.extend_from_slice(&encode_kind(self.kind));
        key
    }
}

/// A [`Kind`] as stored: the sample type count, each type and unit, then
/// the period type (a 0/1 flag, type and unit) and the default sample
/// type; every string a uvarint length and its UTF-8 bytes.
pub(crate) fn encode_kind(kind: &Kind) -> Vec<u8> {
    let mut out = Vec::new();
    let put = |out: &mut Vec<u8>, s: &str| {
        put_uint(out, s.len() as u64);
        out.extend_from_slice(s.as_bytes());
    };
    put_uint(&mut out, kind.sample_types.len() as u64);
    for vt in &kind.sample_types {
        put(&mut out, &vt.r#type);
        put(&mut out, &vt.unit);
    }
    match &kind.period_type {
        Some(pt) => {
            put_uint(&mut out, 1);
            put(&mut out, &pt.r#type);
            put(&mut out, &pt.unit);
        }
        None => put_uint(&mut out, 0),
    }
    put(&mut out, &kind.default_sample_type);
    out
}

/// Parses what [`encode_kind`] wrote.
pub(crate) fn decode_kind(bytes: &[u8]) -> Result<Kind> {
    let mut r = Reader::new(bytes, "series kind");
    let string = |r: &mut Reader<'_>| -> Result<String> {
        let len = r.uint()?;
        let bytes = r.bytes(len)?;
        std::str::from_utf8(bytes)
            .map(str::to_owned)
            .map_err(|_| r.corrupt("string is not UTF-8"))
    };
    let value_kind = |r: &mut Reader<'_>| -> Result<ValueKind> {
        Ok(ValueKind {
            r#type: string(r)?,
            unit: string(r)?,
        })
    };
    let count = r.uint()?;
    if count > r.remaining() as u64 {
        return Err(r.corrupt("sample type count"));
    }
    let sample_types = (0..count)
        .map(|_| value_kind(&mut r))
        .collect::<Result<_>>()?;
    let period_type = match r.uint()? {
        0 => None,
        1 => Some(value_kind(&mut r)?),
        _ => return Err(r.corrupt("period type flag")),
    };
    let default_sample_type = string(&mut r)?;
    r.finish()?;
    Ok(Kind {
        sample_types,
        period_type,
        default_sample_type,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip() {
        let profile = ProfileKey {
            series: 3,
            time_nanos: 1_700_000_000_000_000_000,
        };
        assert_eq!(ProfileKey::decode(&profile.encode()).unwrap(), profile);
        let chunk = ChunkKey {
            series: 3,
            chunk: 9,
        };
        assert_eq!(ChunkKey::decode(&chunk.encode()).unwrap(), chunk);
        assert!(chunk.encode().starts_with(&series_id(3)));
        let posting = PostingKey {
            name: "service",
            value: "api",
            series: 7,
        };
        let bytes = posting.encode();
        assert_eq!(PostingKey::decode(&bytes).unwrap(), posting);
        assert!(bytes.starts_with(&PostingKey::value_prefix("service", "api")));
        assert!(!bytes.starts_with(&PostingKey::value_prefix("service", "ap")));
        let pair = PostingKey::value_prefix("pid", "42");
        assert_eq!(PostingKey::decode_pair(&pair).unwrap(), ("pid", "42"));
        assert!(PostingKey::decode_pair(b"pid\x0042").is_err());
        let kind = Kind {
            sample_types: vec![
                ValueKind::new("samples", "count"),
                ValueKind::new("cpu", "nanoseconds"),
            ],
            period_type: Some(ValueKind::new("cpu", "nanoseconds")),
            default_sample_type: String::new(),
        };
        assert_eq!(decode_kind(&encode_kind(&kind)).unwrap(), kind);
        let bare = Kind::default();
        assert_eq!(decode_kind(&encode_kind(&bare)).unwrap(), bare);
        for cut in 0..encode_kind(&kind).len() {
            assert!(decode_kind(&encode_kind(&kind)[..cut]).is_err(), "{cut}");
        }
    }

    #[test]
    fn malformed_keys_are_corrupt() {
        assert!(ProfileKey::decode(&[0; 15]).is_err());
        assert!(ChunkKey::decode(&[0; 13]).is_err());
        assert!(PostingKey::decode(b"name\0value\0").is_err());
        assert!(PostingKey::decode(b"novalue\0\0\0\0\0\0\0\0\x01").is_err());
        assert!(parse_series_id(&[1]).is_err());
    }
}
