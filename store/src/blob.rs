//! One stored profile: a small header (per-sample-type totals) and the
//! profile reduced to symbol ids ([`Reduced`]): meta id, time, duration,
//! then (stack id delta, values) per sample, all varints, zstd-compressed
//! when that is smaller.
//!
//! The totals sit before the body so that charts of totals over time read
//! only headers.

use prost::encoding::{decode_varint, encode_varint};

use crate::{
    symbols::{unzigzag, zigzag, Reduced},
    Error, Result,
};

/// Body stored as is.
const KIND_PLAIN: u8 = 3;
/// Body compressed with zstd.
const KIND_ZSTD: u8 = 4;
/// Level for bodies: they are a few hundred bytes, where higher levels
/// gain nothing measurable.
const ZSTD_LEVEL: i32 = 3;
/// Largest decompressed body a blob may claim: ingest limits keep real
/// bodies far below; this bounds damage from a corrupt record.
pub const MAX_BODY_BYTES: u64 = 64 << 20;
/// Most sample types a stored profile may have.
const MAX_SAMPLE_TYPES: u64 = 64;

/// Encodes a reduced profile with its totals.
pub fn encode(reduced: &Reduced, totals: &[i64]) -> Vec<u8> {
    let types = reduced.samples.first().map_or(0, |(_, v)| v.len());
    let mut body = Vec::with_capacity(16 + reduced.samples.len() * (2 + 2 * types));
    encode_varint(reduced.meta as u64, &mut body);
    encode_varint(zigzag(reduced.time_nanos), &mut body);
    encode_varint(zigzag(reduced.duration_nanos), &mut body);
    encode_varint(types as u64, &mut body);
    encode_varint(reduced.samples.len() as u64, &mut body);
    let mut previous = 0u32;
    for (stack, values) in &reduced.samples {
        encode_varint(u64::from(stack - previous), &mut body);
        previous = *stack;
        for &v in values {
            encode_varint(zigzag(v), &mut body);
        }
    }
    let compressed = compress(&body);
    let mut out = Vec::with_capacity(body.len() + 16);
    let (kind, payload) = match &compressed {
        Some(c) if c.len() < body.len() => (KIND_ZSTD, c.as_slice()),
        _ => (KIND_PLAIN, body.as_slice()),
    };
    out.push(kind);
    encode_varint(totals.len() as u64, &mut out);
    for &t in totals {
        encode_varint(zigzag(t), &mut out);
    }
    out.extend_from_slice(payload);
    out
}

thread_local! {
    /// One zstd context per thread: creating one per blob costs more than
    /// compressing a few hundred bytes.
    static COMPRESSOR: std::cell::RefCell<Option<zstd::bulk::Compressor<'static>>> =
        std::cell::RefCell::new(zstd::bulk::Compressor::new(ZSTD_LEVEL).ok());
}

thread_local! {
    /// One zstd decompression context per thread, for the same reason.
    static DECOMPRESSOR: std::cell::RefCell<Option<zstd::bulk::Decompressor<'static>>> =
        std::cell::RefCell::new(zstd::bulk::Decompressor::new().ok());
}

fn decompress(payload: &[u8], size: usize) -> Result<Vec<u8>> {
    DECOMPRESSOR.with(|d| match d.borrow_mut().as_mut() {
        Some(d) => Ok(d.decompress(payload, size)?),
        None => Ok(zstd::bulk::decompress(payload, size)?),
    })
}

/// zstd of `body`, or `None` when no compressor is available.
fn compress(body: &[u8]) -> Option<Vec<u8>> {
    COMPRESSOR.with(|c| c.borrow_mut().as_mut()?.compress(body).ok())
}

fn corrupt(what: &str) -> Error {
    Error::Corrupt(format!("profile blob: {what}"))
}

/// The per-sample-type totals, and the (possibly compressed) body.
pub fn read_header(mut blob: &[u8]) -> Result<(Vec<i64>, &[u8], bool)> {
    let (&kind, rest) = blob.split_first().ok_or_else(|| corrupt("empty"))?;
    if kind != KIND_PLAIN && kind != KIND_ZSTD {
        return Err(corrupt("unknown kind"));
    }
    blob = rest;
    let count = decode_varint(&mut blob).map_err(|_| corrupt("totals"))?;
    if count > blob.len() as u64 {
        return Err(corrupt("totals count"));
    }
    let mut totals = Vec::with_capacity(count as usize);
    for _ in 0..count {
        totals.push(unzigzag(
            decode_varint(&mut blob).map_err(|_| corrupt("totals"))?,
        ));
    }
    Ok((totals, blob, kind == KIND_ZSTD))
}

/// Decodes a blob back into a reduced profile.
pub fn decode(blob: &[u8]) -> Result<Reduced> {
    let (_, payload, compressed) = read_header(blob)?;
    let decompressed;
    let mut body: &[u8] = if compressed {
        let size = match zstd::zstd_safe::get_frame_content_size(payload) {
            Ok(Some(size)) if size <= MAX_BODY_BYTES => size as usize,
            _ => return Err(corrupt("zstd frame without a valid size")),
        };
        decompressed = decompress(payload, size)?;
        &decompressed
    } else {
        payload
    };
    let mut next = || decode_varint(&mut body).map_err(|_| corrupt("truncated body"));
    let meta = u32::try_from(next()?).map_err(|_| corrupt("meta id"))?;
    let time_nanos = unzigzag(next()?);
    let duration_nanos = unzigzag(next()?);
    let types = next()?;
    let count = next()?;
    if types > MAX_SAMPLE_TYPES || count > MAX_BODY_BYTES {
        return Err(corrupt("counts"));
    }
    let mut samples = Vec::with_capacity((count as usize).min(1 << 16));
    let mut stack = 0u32;
    for _ in 0..count {
        let delta = u32::try_from(next()?).map_err(|_| corrupt("stack id"))?;
        stack = stack
            .checked_add(delta)
            .ok_or_else(|| corrupt("stack id"))?;
        let values = (0..types)
            .map(|_| next().map(unzigzag))
            .collect::<Result<Vec<i64>>>()?;
        samples.push((stack, values));
    }
    Ok(Reduced {
        meta,
        time_nanos,
        duration_nanos,
        samples,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blobs_round_trip() {
        let reduced = Reduced {
            meta: 3,
            time_nanos: 1_700_000_000_000_000_000,
            duration_nanos: 10_000_000_000,
            samples: (1..500)
                .map(|i| (i * 2, vec![i as i64, -(i as i64) * 52_631_578]))
                .collect(),
        };
        let blob = encode(&reduced, &[7, -1]);
        assert_eq!(decode(&blob).unwrap(), reduced);
        assert_eq!(read_header(&blob).unwrap().0, [7, -1]);
        let empty = Reduced::default();
        assert_eq!(decode(&encode(&empty, &[])).unwrap(), empty);
    }

    #[test]
    fn corrupt_blobs_are_errors() {
        let blob = encode(
            &Reduced {
                samples: vec![(1, vec![5])],
                ..Reduced::default()
            },
            &[5],
        );
        for bad in [
            &[][..],
            &[9],
            &[3],
            &[3, 200],
            &[4, 0, 1, 2, 3],
            &blob[..blob.len() - 1],
        ] {
            assert!(decode(bad).is_err(), "{bad:?}");
        }
    }
}
