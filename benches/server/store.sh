#!/usr/bin/env bash
# Bytes on disk per sample after an hour of agent-like data (100 series x
# 360 profiles), the 36,000-profile merge into a flame graph, and the same
# merge by `go tool pprof -proto` (benches/benches/store.rs).
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo bench -p brasa-benches --bench store
