//! The skeleton libbpf-cargo generates for `bpf/sampler.bpf.c`.

#![allow(
    clippy::all,
    missing_docs,
    dead_code,
    unused_imports,
    non_camel_case_types
)]
#![allow(unsafe_op_in_unsafe_fn)]

include!(concat!(env!("OUT_DIR"), "/sampler.skel.rs"));
