#!/usr/bin/env bash
# The BPF sampler's kernel cost per sample with unwind tables vs frame
# pointers, on the same workloads: kernel.bpf_stats_enabled=1, then
# run_time_ns / run_cnt of the sample_cpu programs of two `brasa record
# --all` sessions running at the same time, one with `--unwind fp` and one
# with `--unwind tables`, over two copies of each workload (both CPUs busy,
# so both programs see the same ticks of the same work). Also prints what
# the tables session reports of its walks: average walk time and frames,
# stop reasons, and the kernel memory of the tables it loaded.
#
# Workloads:
#   fp-cpu      testdata/workloads/c/workload.c cpu, frame pointers on: both
#               modes get complete stacks, so the costs compare like for like
#   nofp-cpu    testdata/workloads/nofp/spin.c cpu, no frame pointers
#   nofp-qsort  testdata/workloads/nofp/spin.c qsort: about 11 frames deep,
#               through libc
#
# Then the unwind table memory of a C++ process (benches/unwind/sort.cc:
# libc, libstdc++, libm, libgcc_s), as `brasa record` reports it.
#
# Usage: benches/unwind/bpf_cost.sh [FREQUENCY_HZ] [SECONDS]   (root)
set -euo pipefail
source "$(dirname "$0")/../sampler/common.sh"
need_root
need clang clang++ bpftool python3
FREQ=${1:-99}
SECONDS_RUN=${2:-10}
build_brasa
build_workload
clang -O2 -g -fomit-frame-pointer -momit-leaf-frame-pointer \
  -o "$OUT/spin" "$ROOT/testdata/workloads/nofp/spin.c"
clang++ -O2 -o "$OUT/sort" "$ROOT/benches/unwind/sort.cc"

previous=$(sysctl -n kernel.bpf_stats_enabled)
trap 'sysctl -q -w kernel.bpf_stats_enabled=$previous' EXIT
sysctl -q -w kernel.bpf_stats_enabled=1

cpu_ms=$((SECONDS_RUN * 1000))

# Runs two copies of COMMAND under both sessions; prints
# "FP_NS FP_RUNS TABLES_NS TABLES_RUNS".
measure() { # NAME COMMAND...
  local name=$1
  shift
  local before_fp before_tables fp_pid tables_pid
  sh -c "$* >/dev/null & $* >/dev/null; wait" &
  local workload_pid=$!
  sleep 0.5
  before_fp=$(prog_ids sample_cpu)
  "$BRASA" record --all --unwind fp --frequency "$FREQ" --duration "$((SECONDS_RUN - 2))s" \
    -o "$OUT/unwind-$name-fp.pb.gz" 2>"$OUT/unwind-$name-fp.log" &
  fp_pid=$!
  sleep 0.5
  before_tables=$(prog_ids sample_cpu)
  "$BRASA" record --all --unwind tables --frequency "$FREQ" --duration "$((SECONDS_RUN - 3))s" \
    -o "$OUT/unwind-$name-tables.pb.gz" 2>"$OUT/unwind-$name-tables.log" &
  tables_pid=$!
  sleep 1.5 # both load and the tables session reads the processes
  read -r fp_ns0 fp_cnt0 < <(prog_stats sample_cpu "$before_fp")
  # The fp session's program is among those loaded before this one.
  read -r t_ns0 t_cnt0 < <(prog_stats sample_cpu "$before_tables")
  sleep "$((SECONDS_RUN - 6))"
  read -r fp_ns1 fp_cnt1 < <(prog_stats sample_cpu "$before_fp")
  read -r t_ns1 t_cnt1 < <(prog_stats sample_cpu "$before_tables")
  wait "$fp_pid" || { cat "$OUT/unwind-$name-fp.log" >&2; exit 1; }
  wait "$tables_pid" || { cat "$OUT/unwind-$name-tables.log" >&2; exit 1; }
  wait "$workload_pid"
  # Programs loaded since before_fp are both sessions': take the tables
  # session's away from the fp figures.
  local t_ns=$((t_ns1 - t_ns0)) t_cnt=$((t_cnt1 - t_cnt0))
  echo "$((fp_ns1 - fp_ns0 - t_ns)) $((fp_cnt1 - fp_cnt0 - t_cnt)) $t_ns $t_cnt"
}

printf '%-11s %-7s %8s %14s\n' workload unwind runs "ns/sample"
for spec in "fp-cpu|$WORKLOAD cpu $cpu_ms" "nofp-cpu|$OUT/spin cpu $cpu_ms" "nofp-qsort|$OUT/spin qsort $cpu_ms"; do
  name=${spec%%|*}
  command=${spec#*|}
  read -r fp_ns fp_cnt t_ns t_cnt < <(measure "$name" $command)
  [ -n "${BENCH_DEBUG:-}" ] && echo "raw: $fp_ns $fp_cnt $t_ns $t_cnt" >&2
  python3 - "$name" "$fp_ns" "$fp_cnt" "$t_ns" "$t_cnt" <<'PY'
import sys
name = sys.argv[1]
fp_ns, fp_cnt, t_ns, t_cnt = (int(x) for x in sys.argv[2:])
if fp_cnt <= 0 or t_cnt <= 0:
    sys.exit(f"{name}: no runs recorded: is kernel.bpf_stats_enabled honoured?")
fp, t = fp_ns / fp_cnt, t_ns / t_cnt
print(f"{name:<11} {'fp':<7} {fp_cnt:8d} {fp:14.0f}")
print(f"{name:<11} {'tables':<7} {t_cnt:8d} {t:14.0f}   tables / fp = {t / fp:.2f}  (target: <= 2)")
PY
  sed -n 's/^brasa: /    /p' "$OUT/unwind-$name-tables.log" | grep -v wrote
done

echo "C++ process (libc + libstdc++):"
"$BRASA" record -o "$OUT/unwind-sort.pb.gz" -- "$OUT/sort" 100 2>&1 >/dev/null |
  sed -n 's/^brasa: /    /p' | grep -v wrote
