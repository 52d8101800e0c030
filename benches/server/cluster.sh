#!/usr/bin/env bash
# A server on a shared bucket (1-node Garage on loopback) against a sled
# server, fed the same hour of agent-like data (benches/benches/cluster.rs):
# acknowledged profiles per second, ack latency, bytes per sampled event
# after compaction, and the 36,000-profile merge on a server that has just
# read the bucket. Usage: benches/server/cluster.sh [WRITERS]   (default 800)
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build --release -q -p brasa
BRASA_BIN=${CARGO_TARGET_DIR:-$PWD/target}/release/brasa \
  cargo bench -q -p brasa-benches --bench cluster -- "$@"
