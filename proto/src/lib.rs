//! Protobuf message types that Brasa reads and writes.
//!
//! This crate owns the wire formats and nothing else: the pprof
//! `profile.proto` messages (module [`pprof`]) and the Pyroscope push API
//! (module [`pyroscope`]). The Rust types are generated
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

/// Pyroscope's push API (`push.v1`, `types.v1`): what Pyroscope clients
/// send to `/push.v1.PusherService/Push`.
pub mod pyroscope {
    /// `types.v1`: shared label types.
    pub mod types {
        /// Version 1.
        pub mod v1 {
            include!(concat!(env!("OUT_DIR"), "/types.v1.rs"));
        }
    }
    /// `push.v1`: the push request and response.
    pub mod push {
        /// Version 1.
        pub mod v1 {
            include!(concat!(env!("OUT_DIR"), "/push.v1.rs"));
        }
    }
}

pub use prost;
