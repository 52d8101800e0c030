#!/usr/bin/env bash
# Installs what is missing, builds Brasa in release mode and runs it.
# Extra arguments are passed to `brasa`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo build --release --locked -p brasa
exec target/release/brasa "${@:-up}"
