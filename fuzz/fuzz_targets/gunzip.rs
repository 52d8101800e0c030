//! Body decompression under its size cap (`codec::maybe_gunzip`, which
//! every ingest endpoint applies). The first two bytes pick the cap. Output
//! never exceeds the cap, non-gzip input passes through unchanged, a stream
//! is accepted exactly up to its size and refused one byte below it, and
//! what the server gzips reads back.

#![no_main]

use brasa_profile::{codec, Error};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((cap, body)) = data.split_first_chunk::<2>() else {
        return;
    };
    let limit = usize::from(u16::from_le_bytes(*cap));
    let out = match codec::maybe_gunzip(body, limit) {
        Ok(out) => out,
        Err(Error::TooLarge { limit: l }) => {
            assert_eq!(l, limit);
            assert!(codec::is_gzip(body) || body.len() > limit);
            return;
        }
        Err(_) => {
            assert!(codec::is_gzip(body), "plain input refused");
            return;
        }
    };
    assert!(
        out.len() <= limit,
        "{} bytes out under a cap of {limit}",
        out.len()
    );
    if !codec::is_gzip(body) {
        assert_eq!(&*out, body);
        return;
    }
    let exact = codec::maybe_gunzip(body, out.len()).expect("accepted at exactly its size");
    assert_eq!(exact, out);
    if let Some(below) = out.len().checked_sub(1) {
        assert!(matches!(
            codec::maybe_gunzip(body, below),
            Err(Error::TooLarge { .. })
        ));
    }
    let gzipped = codec::gzip(&out);
    let again = codec::maybe_gunzip(&gzipped, limit).expect("own gzip reads back");
    assert_eq!(again, out);
});
