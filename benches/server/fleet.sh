#!/usr/bin/env bash
# A fleet of agents against `brasa server` on loopback, with queries under
# that load (benches/benches/fleet.rs). Bounded: SECONDS per fleet size.
# Usage: benches/server/fleet.sh [SECONDS] [SIZES...]   (default 20 100 300 600 1000)
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build --release -q -p brasa
BRASA_BIN=${CARGO_TARGET_DIR:-$PWD/target}/release/brasa \
  cargo bench -q -p brasa-benches --bench fleet -- "$@"
