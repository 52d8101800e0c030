#!/usr/bin/env bash
# The server's RSS before, during and after queries over everything for a
# day (benches/benches/query_memory.rs). Bounded by the store's size.
# Usage: benches/server/query_memory.sh [SERIES] [PROFILES] [CONCURRENT]   (default 1000 5 4)
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build --release -q -p brasa
BRASA_BIN=${CARGO_TARGET_DIR:-$PWD/target}/release/brasa \
  cargo bench -q -p brasa-benches --bench query_memory -- "$@"
