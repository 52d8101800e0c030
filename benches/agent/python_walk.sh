#!/usr/bin/env bash
# BPF cost per sample of walking a thread's Python frames, against walking
# native frames of the same depth with unwind tables: `brasa record` runs a
# CPU-bound Python 3.11 program that recurses DEPTH Python calls deep, then
# a C program (built without frame pointers) that recurses DEPTH native
# calls deep, and prints what the sampler's counters say each walk took
# (STAT_PYTHON_NANOS and STAT_UNWIND_NANOS, per walk and per frame).
#
# Needs root (or CAP_BPF + CAP_PERFMON), python3.11 and clang.
# Usage: benches/agent/python_walk.sh [DEPTH [SECONDS]]   (default 40 5)
set -euo pipefail
cd "$(dirname "$0")/../.."
depth=${1:-40}
seconds=${2:-5}
target=${CARGO_TARGET_DIR:-target}
cargo build --release -q -p brasa
brasa="$target/release/brasa"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cat > "$work/deep.py" <<PY
import sys, time
def down(n, end):
    if n > 1:
        return down(n - 1, end)
    total = 0
    while time.monotonic() < end:
        for i in range(1000):
            total += i
    return total
down($depth, time.monotonic() + $seconds)
PY

cat > "$work/deep.c" <<C
#include <time.h>
static double now(void) {
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}
__attribute__((noinline)) long down(int n, double end) {
	if (n > 1)
		return down(n - 1, end) + 1;
	volatile long total = 0;
	while (now() < end)
		for (int i = 0; i < 100000; i++)
			total += i;
	return total;
}
int main(void) { return (int)down($depth, now() + $seconds) & 1; }
C
clang -O1 -fomit-frame-pointer -fno-optimize-sibling-calls -o "$work/deep" "$work/deep.c"

echo "Python frames, $depth deep:"
"$brasa" record --frequency 997 -o "$work/python.pb.gz" -- python3.11 "$work/deep.py" 2>&1 \
  | grep -E "Python stacks walked|walks took" | sed 's/^/  /'
echo "Native frames, $depth deep (the C program):"
"$brasa" record --frequency 997 -o "$work/native.pb.gz" -- "$work/deep" 2>&1 \
  | grep -E "walks took" | sed 's/^/  /'
