//! Generates the prost types from `proto/*.proto` with protox, so no system
//! `protoc` is needed to build Brasa.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    const FILES: &[&str] = &[
        "proto/pprof/profile.proto",
        "proto/pyroscope/types/v1/types.proto",
        "proto/pyroscope/push/v1/push.proto",
    ];
    for file in FILES {
        println!("cargo:rerun-if-changed={file}");
    }
    let descriptors = protox::compile(FILES, ["proto"])?;
    prost_build::Config::new().compile_fds(descriptors)?;
    Ok(())
}
