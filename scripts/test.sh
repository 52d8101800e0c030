#!/usr/bin/env bash
# The whole test suite: formatting, lints, and every test of every crate.
# Tests that load BPF programs need root (or CAP_BPF + CAP_PERFMON); CI runs as root.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
echo "== cargo fmt --check"
cargo fmt --all --check
echo "== clang-format --dry-run (bpf/)"
clang-format --dry-run -Werror bpf/*.bpf.c bpf/sampler.h
echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== cargo doc"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked
echo "== cargo test"
cargo test --workspace --locked
echo "== fuzz (${FUZZ_SECONDS:-15} s per target)"
scripts/fuzz.sh "${FUZZ_SECONDS:-15}"
