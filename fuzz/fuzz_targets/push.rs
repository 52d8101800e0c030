//! A Pyroscope Connect push body (`push.v1.PushRequest`, gzip or raw),
//! decoded by the server's `decode_push` and each profile by the ingest
//! decoder: nothing panics, the push limits hold, and stored series carry
//! only valid, non-protocol label names and a profile name.

#![no_main]

use brasa_store::labels::{check_name, NAME_LABEL};
use brasa_web::{decode_push, limits::Limits};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = Limits::default();
    let Ok(items) = decode_push(data, &limits) else {
        return;
    };
    assert!(items.len() <= limits.max_profiles_per_push);
    for item in items {
        for (name, _) in item.labels.iter() {
            check_name(name).expect("label names are valid");
            let protocol = name.starts_with("__") && name.ends_with("__");
            assert!(
                name == NAME_LABEL || !protocol,
                "protocol label {name:?} kept"
            );
        }
        if let Ok((labels, profile, _)) = item.decode(limits.max_decompressed_bytes) {
            assert!(labels.get(NAME_LABEL).is_some());
            assert!(!profile.sample_type.is_empty());
        }
    }
});
