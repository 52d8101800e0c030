//! pprof bytes ⇄ [`Profile`]: gzip detection, bounded decompression,
//! protobuf decoding plus validation, and gzip encoding.

use std::io::{Read, Write};

use brasa_proto::pprof::Profile;
use flate2::{read::MultiGzDecoder, write::GzEncoder, Compression};
use prost::Message;

use crate::{validate::validate, Error, Result};

/// Default ceiling on decompressed input: far above any real profile (a busy
/// host's 10 s agent profile is a few hundred KiB), far below what would hurt
/// a server that decodes many inputs at once.
pub const DEFAULT_MAX_DECOMPRESSED_BYTES: usize = 256 << 20;

/// The two bytes every gzip stream starts with (RFC 1952).
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// How to decode untrusted profile bytes.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct DecodeOptions {
    /// Largest accepted size after decompression, in bytes. Default:
    /// [`DEFAULT_MAX_DECOMPRESSED_BYTES`]. Input that grows beyond it is
    /// refused with [`Error::TooLarge`] as soon as the limit is crossed.
    pub max_decompressed_bytes: usize,
}

impl Default for DecodeOptions {
    fn default() -> Self {
        Self {
            max_decompressed_bytes: DEFAULT_MAX_DECOMPRESSED_BYTES,
        }
    }
}

impl DecodeOptions {
    /// Options with the given decompression limit.
    pub fn with_max_decompressed_bytes(max_decompressed_bytes: usize) -> Self {
        Self {
            max_decompressed_bytes,
        }
    }
}

/// True when `bytes` start like a gzip stream.
pub fn is_gzip(bytes: &[u8]) -> bool {
    bytes.starts_with(&GZIP_MAGIC)
}

/// Decompresses `bytes` if they are gzip, refusing output larger than
/// `limit`; returns other input unchanged (but still bounded by `limit`).
pub fn maybe_gunzip(bytes: &[u8], limit: usize) -> Result<std::borrow::Cow<'_, [u8]>> {
    if !is_gzip(bytes) {
        if bytes.len() > limit {
            return Err(Error::TooLarge { limit });
        }
        return Ok(std::borrow::Cow::Borrowed(bytes));
    }
    let mut out = Vec::with_capacity(bytes.len().saturating_mul(4).min(limit));
    // Read one byte past the limit so "exactly at the limit" is accepted and
    // anything larger is detected without inflating the rest of the stream.
    MultiGzDecoder::new(bytes)
        .take(limit as u64 + 1)
        .read_to_end(&mut out)
        .map_err(Error::Gzip)?;
    if out.len() > limit {
        return Err(Error::TooLarge { limit });
    }
    Ok(std::borrow::Cow::Owned(out))
}

/// Decodes a pprof profile (gzip or raw) with the default limits.
pub fn decode(bytes: &[u8]) -> Result<Profile> {
    decode_with(bytes, &DecodeOptions::default())
}

/// Decodes a pprof profile (gzip or raw) and checks that every reference in
/// it resolves, so later code can index without bounds surprises.
pub fn decode_with(bytes: &[u8], options: &DecodeOptions) -> Result<Profile> {
    let raw = maybe_gunzip(bytes, options.max_decompressed_bytes)?;
    decode_raw(&raw)
}

/// Decodes uncompressed pprof protobuf bytes and validates them.
pub fn decode_raw(raw: &[u8]) -> Result<Profile> {
    let profile = Profile::decode(raw)?;
    validate(&profile)?;
    Ok(profile)
}

/// Encodes a profile as gzip-compressed protobuf, the form pprof tools expect.
pub fn encode(profile: &Profile) -> Vec<u8> {
    gzip(&profile.encode_to_vec())
}

/// Gzip-compresses bytes at the fastest level: profiles are compressed on
/// hot paths (every agent push, every download), and level 1 costs a
/// fraction of the default's CPU for output a few percent larger.
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::with_capacity(bytes.len() / 4), Compression::fast());
    encoder
        .write_all(bytes)
        .expect("writing to a Vec cannot fail");
    encoder.finish().expect("writing to a Vec cannot fail")
}
