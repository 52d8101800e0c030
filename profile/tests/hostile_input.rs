//! Hostile and broken input: the decoder returns errors, never panics, and
//! refuses decompression bombs early.

use std::{io::Write, time::Instant};

use brasa_profile::{
    codec::{self, DecodeOptions},
    io::load,
    pprof::{Location, Profile, Sample, ValueType},
    Error,
};
use flate2::{write::GzEncoder, Compression};
use proptest::prelude::*;
use prost::Message;

fn gzip(bytes: &[u8]) -> Vec<u8> {
    codec::gzip(bytes)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = codec::decode(&bytes);
        let _ = load(&bytes, &DecodeOptions::default());
        let _ = codec::decode(&gzip(&bytes));
    }

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,200}") {
        let _ = load(text.as_bytes(), &DecodeOptions::default());
    }

    #[test]
    fn truncated_profiles_never_panic(cut in 0usize..4000) {
        let bytes = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../testdata/go/cpu.pb.gz")).unwrap();
        let raw = codec::maybe_gunzip(&bytes, 1 << 20).unwrap().into_owned();
        let cut = cut.min(raw.len());
        let _ = codec::decode(&raw[..cut]);
        let _ = codec::decode(&bytes[..cut.min(bytes.len())]);
    }
}

#[test]
fn gzip_bomb_is_refused_quickly() {
    // 1 GiB of zeros compresses to about 1 MiB.
    let mut encoder = GzEncoder::new(Vec::new(), Compression::best());
    let chunk = vec![0u8; 1 << 20];
    for _ in 0..1024 {
        encoder.write_all(&chunk).unwrap();
    }
    let bomb = encoder.finish().unwrap();
    assert!(bomb.len() < 2 << 20, "bomb is {} bytes", bomb.len());

    let limit = 16 << 20;
    let started = Instant::now();
    let err =
        codec::decode_with(&bomb, &DecodeOptions::with_max_decompressed_bytes(limit)).unwrap_err();
    assert!(
        matches!(err, Error::TooLarge { limit: l } if l == limit),
        "{err}"
    );
    assert!(err.to_string().contains("gzip bomb"), "{err}");
    eprintln!("bomb refused after {:?}", started.elapsed());
}

#[test]
fn input_exactly_at_the_limit_is_accepted() {
    let profile = Profile {
        string_table: vec![String::new(), "x".repeat(1000)],
        ..Profile::default()
    };
    let raw = profile.encode_to_vec();
    let gz = gzip(&raw);
    let exact = DecodeOptions::with_max_decompressed_bytes(raw.len());
    assert_eq!(codec::decode_with(&gz, &exact).unwrap(), profile);
    let under = DecodeOptions::with_max_decompressed_bytes(raw.len() - 1);
    assert!(matches!(
        codec::decode_with(&gz, &under),
        Err(Error::TooLarge { .. })
    ));
    assert!(matches!(
        codec::decode_with(&raw, &under),
        Err(Error::TooLarge { .. })
    ));
}

#[test]
fn truncated_gzip_is_an_error() {
    let bytes = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../testdata/go/cpu.pb.gz"
    ))
    .unwrap();
    let err = codec::decode(&bytes[..bytes.len() / 2]).unwrap_err();
    assert!(matches!(err, Error::Gzip(_)), "{err}");
}

#[test]
fn dangling_references_are_invalid() {
    let base = Profile {
        string_table: vec![String::new(), "cpu".into()],
        sample_type: vec![ValueType { r#type: 1, unit: 1 }],
        ..Profile::default()
    };
    let cases = [
        (
            Profile {
                sample: vec![Sample {
                    location_id: vec![7],
                    value: vec![1],
                    label: vec![],
                }],
                ..base.clone()
            },
            "missing location 7",
        ),
        (
            Profile {
                sample: vec![Sample {
                    location_id: vec![],
                    value: vec![1, 2],
                    label: vec![],
                }],
                ..base.clone()
            },
            "2 values for 1 sample types",
        ),
        (
            Profile {
                location: vec![Location {
                    id: 1,
                    mapping_id: 3,
                    ..Location::default()
                }],
                ..base.clone()
            },
            "missing mapping 3",
        ),
        (
            Profile {
                sample_type: vec![ValueType { r#type: 9, unit: 1 }],
                ..base.clone()
            },
            "refers to string 9",
        ),
        (
            Profile {
                string_table: vec!["x".into()],
                ..Profile::default()
            },
            "string_table[0]",
        ),
    ];
    for (profile, expected) in cases {
        let err = codec::decode(&profile.encode_to_vec())
            .unwrap_err()
            .to_string();
        assert!(err.contains(expected), "{err} should mention {expected}");
    }
}
