//! Garbage, truncated, oversized and gzip-bomb bodies get a 4xx JSON error
//! over real HTTP, and the server stays up.

use std::io::Write;

use brasa_test_support::server::*;

/// Over the server's default 16 MiB body limit.
const OVERSIZED_BYTES: usize = 17 << 20;
/// Zeros that compress to a few hundred KiB but inflate past the default
/// decompression limit.
const BOMB_INFLATED_BYTES: usize =
    brasa_profile::codec::DEFAULT_MAX_DECOMPRESSED_BYTES + (64 << 20);

/// gzip members may be concatenated (RFC 1952): one compressed MiB of
/// zeros, repeated, makes a bomb of any size quickly.
fn gzip_zeros(len: usize) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    e.write_all(&vec![0u8; 1 << 20]).unwrap();
    let member = e.finish().unwrap();
    member.repeat(len >> 20)
}

#[test]
fn bad_bodies_get_4xx_and_the_server_stays_up() {
    let tmp = tempfile::tempdir().unwrap();
    let mut server = Server::start(&tmp.path().join("data"), &[]);
    let agent = client();
    let ingest = format!("{}/api/v1/ingest?service=abuse", server.url);
    let good = pprof_gz("main;ok 1\n", 0);
    let bomb = gzip_zeros(BOMB_INFLATED_BYTES);
    assert!(bomb.len() < 1 << 20, "the bomb is small on the wire");
    let cases: Vec<(&str, Vec<u8>, u16)> = vec![
        (
            "garbage",
            b"GET / HTTP/1.1 this is not a profile \x00\xff".to_vec(),
            400,
        ),
        ("truncated", good[..good.len() - 9].to_vec(), 400),
        ("oversized", vec![7u8; OVERSIZED_BYTES], 413),
        ("gzip bomb", bomb, 413),
    ];
    for (what, body, expected) in cases {
        // A server may answer an oversized body before reading all of it and
        // close the connection; the client, still writing, can then see a
        // reset instead of the answer. Try again to read the answer itself.
        let (status, text) = (0..3)
            .find_map(|_| post(&agent, &ingest, &[], &body).ok())
            .unwrap_or_else(|| panic!("{what}: no answer in three attempts"));
        assert_eq!(status, expected, "{what}: {text}");
        let json: serde_json_lite::Error = serde_json_lite::parse(&text);
        assert!(!json.message.is_empty(), "{what}: {text}");
        assert!(server.alive(), "server died on {what}");
    }
    let push = format!("{}/push.v1.PusherService/Push", server.url);
    let (status, _) = post(
        &agent,
        &push,
        &[("content-type", "application/proto")],
        b"\x0a\xff\xff",
    )
    .unwrap();
    assert_eq!(status, 400);

    let (status, _) = get(&agent, &format!("{}/healthz", server.url), &[]);
    assert_eq!(status, 200);
    let (status, text) = post(&agent, &ingest, &[], &good).unwrap();
    assert_eq!(status, 200, "{text}");
    assert_eq!(
        folded_all(&agent, &server.url, r#"{service="abuse"}"#),
        "main;ok 1\n"
    );
}

/// Just enough JSON reading for `{"error": "..."}`, without a dependency.
mod serde_json_lite {
    pub struct Error {
        pub message: String,
    }

    pub fn parse(text: &str) -> Error {
        let rest = text
            .trim()
            .strip_prefix("{\"error\":\"")
            .unwrap_or_else(|| panic!("not an error object: {text}"));
        let message = rest
            .strip_suffix("\"}")
            .unwrap_or_else(|| panic!("not an error object: {text}"));
        Error {
            message: message.to_owned(),
        }
    }
}
