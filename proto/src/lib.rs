//! Protobuf message types that Brasa reads and writes.
//!
//! This crate owns the wire formats and nothing else: the pprof
//! `profile.proto` messages (module [`pprof`]). The Rust types are generated
//! at build time by prost from the `.proto` files under `proto/`, compiled
//! with protox so that building Brasa never needs a system `protoc`.
//!
//! Logic over these types (validation, merging, rendering) lives in
//! `brasa-profile`.
//!
//! ```
//! use brasa_proto::pprof::Profile;
//! use prost::Message;
//!
//! let profile = Profile { string_table: vec![String::new()], ..Default::default() };
//! let bytes = profile.encode_to_vec();
//! assert_eq!(Profile::decode(bytes.as_slice()).unwrap(), profile);
//! ```

#![allow(missing_docs)] // generated code

/// pprof's `perftools.profiles` package: the format `go tool pprof` reads.
pub mod pprof {
    include!(concat!(env!("OUT_DIR"), "/perftools.profiles.rs"));
}

pub use prost;
