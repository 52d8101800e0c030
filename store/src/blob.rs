//! One stored profile: a small header (per-sample-type totals) and the
//! profile reduced to symbol ids ([`Reduced`]), zstd-compressed when that
//! is smaller.
//!
//! ```text
//! blob   = kind (u8: 3 plain, 4 zstd) · totals count · total (zigzag)... · payload
//! payload = body, or zstd(body) with the frame's content size set
//! body   = meta id · time · duration (zigzag) · types · samples ·
//!          (stack id delta · value (zigzag) × types)...
//! ```
//!
//! Integers are varints ([`crate::codec`]). Stack ids ascend, so each is
//! stored as the difference from the previous one. The totals sit before
//! the body so that charts of totals over time read only headers.

use crate::{
    codec::{put_int, put_uint, Reader},
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
const MAX_BODY_BYTES: u64 = 64 << 20;
/// Most sample types a stored profile may have.
const MAX_SAMPLE_TYPES: u64 = 64;

/// A profile reduced to ids in its series' symbol table: what a blob
/// stores.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Reduced {
    /// Id of the profile-level record (sample types, period).
    pub(crate) meta: u32,
    /// Collection start, unix ns.
    pub(crate) time_nanos: i64,
    /// Collection length.
    pub(crate) duration_nanos: i64,
    /// The samples, stack ids ascending and unique.
    pub(crate) samples: Vec<ReducedSample>,
}

/// One sample of a [`Reduced`] profile.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct ReducedSample {
    /// Id of the stack record (locations and labels).
    pub(crate) stack: u32,
    /// One value per sample type.
    pub(crate) values: Vec<i64>,
}

/// A blob's header, read without touching its body.
pub(crate) struct Header<'a> {
    /// One total per sample type.
    pub(crate) totals: Vec<i64>,
    /// The body, compressed or not.
    payload: &'a [u8],
    /// Whether `payload` is a zstd frame.
    compressed: bool,
}

/// Encodes a reduced profile with its totals.
pub(crate) fn encode(reduced: &Reduced, totals: &[i64]) -> Vec<u8> {
    let body = encode_body(reduced);
    let compressed = compress(&body);
    let (kind, payload) = match &compressed {
        Some(c) if c.len() < body.len() => (KIND_ZSTD, c.as_slice()),
        _ => (KIND_PLAIN, body.as_slice()),
    };
    let mut out = Vec::with_capacity(payload.len() + 16);
    out.push(kind);
    put_uint(&mut out, totals.len() as u64);
    for &t in totals {
        put_int(&mut out, t);
    }
    out.extend_from_slice(payload);
    out
}

/// Reads the header that [`encode`] wrote.
pub(crate) fn read_header(blob: &[u8]) -> Result<Header<'_>> {
    let mut r = Reader::new(blob, "profile blob");
    let kind = r.byte().map_err(|_| r.corrupt("empty"))?;
    if kind != KIND_PLAIN && kind != KIND_ZSTD {
        return Err(r.corrupt("unknown kind"));
    }
    let count = r.uint()?;
    if count > r.remaining() as u64 {
        return Err(r.corrupt("totals count"));
    }
    let totals = (0..count).map(|_| r.int()).collect::<Result<_>>()?;
    Ok(Header {
        totals,
        payload: r.rest(),
        compressed: kind == KIND_ZSTD,
    })
}

/// Decodes a blob that [`encode`] wrote back into a reduced profile.
pub(crate) fn decode(blob: &[u8]) -> Result<Reduced> {
    let header = read_header(blob)?;
    if !header.compressed {
        return decode_body(header.payload);
    }
    let size = match zstd::zstd_safe::get_frame_content_size(header.payload) {
        Ok(Some(size)) if size <= MAX_BODY_BYTES => size as usize,
        _ => return Err(corrupt("zstd frame without a valid size")),
    };
    decode_body(&decompress(header.payload, size)?)
}

/// The body alone, uncompressed: what a pack (`crate::pack`) stores, since
/// it compresses the whole pack at once.
pub(crate) fn encode_body(reduced: &Reduced) -> Vec<u8> {
    let types = reduced.samples.first().map_or(0, |s| s.values.len());
    let mut body = Vec::with_capacity(16 + reduced.samples.len() * (2 + 2 * types));
    put_uint(&mut body, u64::from(reduced.meta));
    put_int(&mut body, reduced.time_nanos);
    put_int(&mut body, reduced.duration_nanos);
    put_uint(&mut body, types as u64);
    put_uint(&mut body, reduced.samples.len() as u64);
    let mut previous = 0u32;
    for sample in &reduced.samples {
        put_uint(&mut body, u64::from(sample.stack - previous));
        previous = sample.stack;
        for &v in &sample.values {
            put_int(&mut body, v);
        }
    }
    body
}

/// Reads what [`encode_body`] wrote.
pub(crate) fn decode_body(body: &[u8]) -> Result<Reduced> {
    let mut r = Reader::new(body, "profile blob");
    let meta = r.uint_u32("meta id")?;
    let time_nanos = r.int()?;
    let duration_nanos = r.int()?;
    let types = r.uint()?;
    let count = r.uint()?;
    if types > MAX_SAMPLE_TYPES || count > MAX_BODY_BYTES {
        return Err(r.corrupt("counts"));
    }
    let mut samples = Vec::with_capacity((count as usize).min(1 << 16));
    let mut stack = 0u32;
    for _ in 0..count {
        let delta = r.uint_u32("stack id")?;
        stack = stack
            .checked_add(delta)
            .ok_or_else(|| r.corrupt("stack id"))?;
        let values = (0..types).map(|_| r.int()).collect::<Result<_>>()?;
        samples.push(ReducedSample { stack, values });
    }
    Ok(Reduced {
        meta,
        time_nanos,
        duration_nanos,
        samples,
    })
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

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(stack: u32, values: Vec<i64>) -> ReducedSample {
        ReducedSample { stack, values }
    }

    #[test]
    fn blobs_round_trip() {
        let reduced = Reduced {
            meta: 3,
            time_nanos: 1_700_000_000_000_000_000,
            duration_nanos: 10_000_000_000,
            samples: (1..500)
                .map(|i| sample(i * 2, vec![i as i64, -(i as i64) * 52_631_578]))
                .collect(),
        };
        let blob = encode(&reduced, &[7, -1]);
        assert_eq!(blob[0], KIND_ZSTD);
        assert_eq!(decode(&blob).unwrap(), reduced);
        assert_eq!(read_header(&blob).unwrap().totals, [7, -1]);
        let empty = Reduced::default();
        let blob = encode(&empty, &[]);
        assert_eq!(blob[0], KIND_PLAIN);
        assert_eq!(decode(&blob).unwrap(), empty);
    }

    #[test]
    fn corrupt_blobs_are_errors() {
        let blob = encode(
            &Reduced {
                samples: vec![sample(1, vec![5])],
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
