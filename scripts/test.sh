#!/usr/bin/env bash
# The whole test suite: formatting, lints, and every test of every crate.
# Tests that load BPF programs need root (or CAP_BPF + CAP_PERFMON); CI runs as root.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
echo "== cargo fmt --check"
cargo fmt --all --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== cargo test"
cargo test --workspace --locked
