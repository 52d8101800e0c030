#!/usr/bin/env bash
# Builds every fuzz target of fuzz/ and runs each, one after another, for
# SECONDS_PER_TARGET seconds (default 15), starting from the committed
# seeds in fuzz/seeds/<target>/ (new inputs go to fuzz/corpus/<target>/).
# Prints the executions of each target and the total; exits non-zero on
# the first crash, naming the input that caused it.
#
# Runs on the stable toolchain: cargo-fuzz asks rustc for the sanitizer and
# coverage flags that only nightly accepts, and RUSTC_BOOTSTRAP=1 lets a
# stable rustc take them.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
seconds=${1:-15}
# One input taking longer than this is a failure (a request that slow is a
# denial of service), and keeps a stuck target from outliving its time.
UNIT_TIMEOUT=10
export RUSTC_BOOTSTRAP=1
target_dir=${CARGO_TARGET_DIR:-$PWD/target}
fuzz=(cargo fuzz)
command -v rustup >/dev/null && fuzz=(cargo +stable fuzz)
# Fuzz code is formatted like the rest (the main workspace does not see it).
cargo fmt --check
"${fuzz[@]}" build --target-dir "$target_dir"
total=0
for target in $("${fuzz[@]}" list); do
  mkdir -p "corpus/$target"
  log=$(mktemp)
  if ! "${fuzz[@]}" run --target-dir "$target_dir" "$target" "corpus/$target" "seeds/$target" -- \
    -max_total_time="$seconds" -timeout="$UNIT_TIMEOUT" -print_final_stats=1 >"$log" 2>&1; then
    tail -n 40 "$log"
    artifact=$(grep -o 'artifacts/[^ ]*' "$log" | tail -n 1 || true)
    echo "fuzz: $target crashed or took over ${UNIT_TIMEOUT} s${artifact:+ on fuzz/$artifact}" >&2
    echo "fuzz: reproduce with: cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run $target ${artifact:-}" >&2
    exit 1
  fi
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  rm -f "$log"
  echo "fuzz: $target: ${runs:-0} executions in ${seconds} s"
  total=$((total + ${runs:-0}))
done
echo "fuzz: total: $total executions"
