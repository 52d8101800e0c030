#!/usr/bin/env bash
# Symbolization: the same 10,000 addresses of one binary with debug info
# through Brasa's symbolizer (blazesym), addr2line (binutils) and
# llvm-symbolizer, cold (page cache dropped, fresh process) and warm (file
# cached; for Brasa, the second pass of the same symbolizer, which is what
# the agent does at every drain). Prints the times and the ratios.
#
# The binary: BINARY (default: the release `brasa`, line tables and inlined
# frames from `debug = 1`).
#
# Usage: benches/sampler/symbolize.sh [BINARY] [COUNT]   (root to drop caches)
set -euo pipefail
source "$(dirname "$0")/common.sh"
need addr2line llvm-symbolizer nm python3
COUNT=${2:-10000}
if [ -n "${1:-}" ]; then BINARY=$1; else build_brasa; BINARY=$BRASA; fi
SYMBOLIZE=$ROOT/target/release/examples/symbolize_file
if [ -z "${BRASA_SKIP_BUILD:-}" ]; then
  (cd "$ROOT" && cargo build --release -q -p brasa-symbolizer --example symbolize_file)
fi

# COUNT addresses inside text symbols, spread over the whole binary, fixed seed.
nm --defined-only -S "$BINARY" | python3 -c '
import random, sys
count = int(sys.argv[1])
funcs = []
for line in sys.stdin:
    parts = line.split()
    if len(parts) == 4 and parts[2] in "tT" and int(parts[1], 16) > 1:
        funcs.append((int(parts[0], 16), int(parts[1], 16)))
rng = random.Random(7)
for start, size in (rng.choice(funcs) for _ in range(count)):
    print(hex(start + rng.randrange(size)))
' "$COUNT" > "$OUT/addresses"

drop_caches() {
  sync
  if [ -w /proc/sys/vm/drop_caches ]; then echo 3 > /proc/sys/vm/drop_caches; fi
}

# Wall seconds of one command reading the addresses on stdin.
timed() {
  python3 - "$OUT/addresses" "$@" <<'PY'
import subprocess, sys, time
with open(sys.argv[1]) as addresses:
    start = time.perf_counter()
    done = subprocess.run(sys.argv[2:], stdin=addresses, stdout=subprocess.PIPE,
                          stderr=subprocess.DEVNULL, check=True)
    elapsed = time.perf_counter() - start
with open(sys.argv[1]) as addresses:
    count = sum(1 for _ in addresses)
if len(done.stdout.splitlines()) < count:
    sys.exit(f"{sys.argv[2]} answered fewer lines than there are addresses")
print(f"{elapsed:.4f}")
PY
}

# Brasa: cold and warm passes come from the same run (see symbolize_file).
brasa_run() {
  "$SYMBOLIZE" "$BINARY" < "$OUT/addresses" 2>&1 >/dev/null | sed -n 's/.*cold \([0-9.]*\) ms, warm \([0-9.]*\) ms.*/\1 \2/p'
}

drop_caches; read -r brasa_cold_ms _ < <(brasa_run)
read -r brasa_file_warm_ms brasa_cache_ms < <(brasa_run)
drop_caches; a2l_cold=$(timed addr2line -f -i -C -e "$BINARY")
a2l_warm=$(timed addr2line -f -i -C -e "$BINARY")
drop_caches; llvm_cold=$(timed llvm-symbolizer --obj="$BINARY" --inlining --demangle)
llvm_warm=$(timed llvm-symbolizer --obj="$BINARY" --inlining --demangle)

python3 - "$BINARY" "$COUNT" "$brasa_cold_ms" "$brasa_file_warm_ms" "$brasa_cache_ms" \
  "$a2l_cold" "$a2l_warm" "$llvm_cold" "$llvm_warm" <<'PY'
import os, sys
binary, count = sys.argv[1], int(sys.argv[2])
b_cold, b_warm, b_cache = (float(x) / 1e3 for x in sys.argv[3:6])
a_cold, a_warm, l_cold, l_warm = (float(x) for x in sys.argv[6:10])
print(f"{count} addresses of {binary} ({os.path.getsize(binary) / 2**20:.0f} MiB)")
print(f"{'':18s} {'cold':>9s} {'warm':>9s}")
print(f"{'brasa (blazesym)':18s} {b_cold:8.3f}s {b_warm:8.3f}s   in-process cache hit: {b_cache * 1e3:.2f} ms")
print(f"{'addr2line':18s} {a_cold:8.3f}s {a_warm:8.3f}s")
print(f"{'llvm-symbolizer':18s} {l_cold:8.3f}s {l_warm:8.3f}s")
print(f"addr2line / brasa:       cold {a_cold / b_cold:6.2f}x   warm {a_warm / b_warm:6.2f}x")
print(f"llvm-symbolizer / brasa: cold {l_cold / b_cold:6.2f}x   warm {l_warm / b_warm:6.2f}x")
print("brasa's times exclude process start-up; the others' include it (a few ms).")
PY
