# Shared by the sampler benchmarks: paths, tool checks, the workload build.
# Sourced, not run.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
OUT=${BRASA_BENCH_DIR:-$ROOT/target/bench-sampler}
BRASA=${BRASA:-$ROOT/target/release/brasa}
mkdir -p "$OUT"

need() {
  for tool in "$@"; do
    command -v "$tool" >/dev/null || { echo "missing tool: $tool" >&2; exit 2; }
  done
}

need_root() {
  [ "$(id -u)" -eq 0 ] || { echo "run as root: the benchmarks load BPF programs" >&2; exit 2; }
}

build_brasa() {
  if [ -z "${BRASA_SKIP_BUILD:-}" ]; then
    (cd "$ROOT" && cargo build --release -q -p brasa)
  fi
  [ -x "$BRASA" ] || { echo "no brasa binary at $BRASA" >&2; exit 2; }
}

# The C workload of testdata/workloads, frame pointers on.
build_workload() {
  clang -O1 -g -fno-omit-frame-pointer -mno-omit-leaf-frame-pointer -fno-optimize-sibling-calls \
    -o "$OUT/workload" "$ROOT/testdata/workloads/c/workload.c"
  WORKLOAD=$OUT/workload
}

# Ids of the loaded perf_event programs named $1 (bpftrace names its
# profile:hz:N program "N").
prog_ids() {
  bpftool prog show --json | python3 -c '
import json, sys
print(" ".join(str(p["id"]) for p in json.load(sys.stdin)
               if p.get("type") == "perf_event" and p.get("name") == sys.argv[1]))
' "$1"
}

# "run_time_ns run_cnt" summed over the perf_event programs named $1 that
# are not among the ids in $2 (those loaded before the measured tool started).
prog_stats() {
  bpftool prog show --json | python3 -c '
import json, sys
name, before = sys.argv[1], set(sys.argv[2].split())
progs = [p for p in json.load(sys.stdin) if p.get("type") == "perf_event"
         and p.get("name") == name and str(p["id"]) not in before]
print(sum(p.get("run_time_ns", 0) for p in progs), sum(p.get("run_cnt", 0) for p in progs))
' "$1" "$2"
}
