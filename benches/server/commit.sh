#!/usr/bin/env bash
# What durability costs in the store: no flush vs one fsync per profile vs
# group commit with eight writers (benches/benches/store_commit.rs).
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo bench -p brasa-benches --bench store_commit
