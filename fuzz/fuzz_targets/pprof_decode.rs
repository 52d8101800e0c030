//! A pprof body as `POST /api/v1/ingest` receives it, decoded the way the
//! server stores it: decoding never panics, and a profile it accepts
//! re-encodes (raw and gzip) to one that decodes to the same value.

#![no_main]

use brasa_profile::codec;
use brasa_store::labels::{Labels, NAME_LABEL};
use brasa_web::ingest::{Item, Payload};
use libfuzzer_sys::fuzz_target;
use prost::Message;

fuzz_target!(|data: &[u8]| {
    let item = Item {
        labels: Labels::default(),
        payload: Payload::Pprof(data.to_vec()),
        time_nanos: None,
    };
    let Ok((labels, profile, _)) = item.decode(codec::DEFAULT_MAX_DECOMPRESSED_BYTES) else {
        return;
    };
    assert!(labels.get(NAME_LABEL).is_some(), "stored without a name");
    let raw = codec::decode_raw(&profile.encode_to_vec()).expect("re-encoded profile decodes");
    assert_eq!(raw, profile);
    let gzip = codec::decode(&codec::encode(&profile)).expect("gzip-encoded profile decodes");
    assert_eq!(gzip, profile);
});
