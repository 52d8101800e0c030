#!/usr/bin/env bash
# Durable ingest throughput of `brasa server` on loopback: builds the
# release binary, then runs the load generator (benches/benches/server_ingest.rs).
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build --release -q -p brasa
BRASA_BIN=${CARGO_TARGET_DIR:-$PWD/target}/release/brasa \
  cargo bench -q -p brasa-benches --bench server_ingest
