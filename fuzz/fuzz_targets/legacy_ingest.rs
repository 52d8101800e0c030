//! A legacy Pyroscope `/ingest` request: the query string (`name=app.cpu
//! {k=v}`, `from`, `until`, `format`, `spyName`, `sampleRate`...) on the
//! first line, the profile bytes after it, decoded by the server's
//! `decode_legacy_ingest` and then by the ingest decoder. Nothing panics,
//! every series names its application, and a profile built from folded
//! stacks is valid and survives encoding.

#![no_main]

use brasa_profile::{codec, validate::validate};
use brasa_web::{decode_legacy_ingest, ingest::Payload, limits::DEFAULT_MAX_DECOMPRESSED_BYTES};
use libfuzzer_sys::fuzz_target;
use prost::Message;

fuzz_target!(|data: &[u8]| {
    let (query, body) = match data.iter().position(|&b| b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    let Ok(query) = std::str::from_utf8(query) else {
        return;
    };
    // The server only ever sees a URI that parsed.
    let Ok(uri) = format!("/ingest?{query}").parse() else {
        return;
    };
    let limit = DEFAULT_MAX_DECOMPRESSED_BYTES;
    let Ok(item) = decode_legacy_ingest(&uri, body.to_vec(), limit) else {
        return;
    };
    assert!(item.labels.get("service_name").is_some());
    if let Payload::Built(profile) = &item.payload {
        validate(profile).expect("profile built from folded stacks is valid");
        let decoded = codec::decode_raw(&profile.encode_to_vec()).expect("built profile decodes");
        assert_eq!(&decoded, &**profile);
    }
    if let Ok((labels, _, _)) = item.decode(limit) {
        assert!(labels.get("__name__").is_some());
    }
});
