#!/usr/bin/env bash
# User-space cost of recording the whole host: CPU time and peak RSS of
# `brasa record --all` and of `perf record -a -g`, same frequency, same
# duration, the same workload on both CPUs.
#
# "total" is the whole run (GNU time), start-up (BPF load) and final
# symbolization included. "steady" is the CPU the process used between
# WARMUP seconds and one second before the end (/proc/PID/stat): what an
# always-on agent pays to sample.
#
# Usage: benches/sampler/process_cost.sh [FREQUENCY_HZ] [SECONDS] [WARMUP]   (root)
set -euo pipefail
source "$(dirname "$0")/common.sh"
need_root
need clang perf python3 /usr/bin/time
FREQ=${1:-19}
SECONDS_RUN=${2:-60}
WARMUP=${3:-5}
build_brasa
build_workload
TICKS=$(getconf CLK_TCK)

# utime + stime of a process, in clock ticks.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# Runs one command under GNU time while the workload runs on both CPUs;
# prints "total_cpu_s steady_cpu_s steady_window_s peak_rss_kib".
cost() {
  local label=$1; shift
  local cpu_ms=$(( SECONDS_RUN * 1000 + 5000 ))
  "$WORKLOAD" cpu "$cpu_ms" & local w1=$!
  "$WORKLOAD" cpu "$cpu_ms" & local w2=$!
  /usr/bin/time -f "%U %S %M" -o "$OUT/time.$label" "$@" >"$OUT/$label.log" 2>&1 &
  local timer=$!
  sleep "$WARMUP"
  local pid; pid=$(pgrep -P "$timer" | head -1)
  local t0; t0=$(cpu_ticks "$pid")
  sleep "$(( SECONDS_RUN - WARMUP - 1 ))"
  local t1; t1=$(cpu_ticks "$pid")
  wait "$timer"
  kill "$w1" "$w2" 2>/dev/null || true; wait "$w1" "$w2" 2>/dev/null || true
  read -r user sys rss < "$OUT/time.$label"
  python3 -c 'import sys; u, s, t0, t1, hz, win, rss = sys.argv[1:]
print(float(u) + float(s), (int(t1) - int(t0)) / int(hz), win, rss)' \
    "$user" "$sys" "$t0" "$t1" "$TICKS" "$(( SECONDS_RUN - WARMUP - 1 ))" "$rss"
}

read -r b_total b_steady b_win b_rss < <(cost brasa \
  "$BRASA" record --all --frequency "$FREQ" --duration "${SECONDS_RUN}s" -o "$OUT/host.pb.gz")
read -r p_total p_steady p_win p_rss < <(cost perf \
  perf record -F "$FREQ" -a -g -o "$OUT/perf.data" -- sleep "$SECONDS_RUN")

python3 - "$FREQ" "$SECONDS_RUN" "$b_total" "$b_steady" "$b_win" "$b_rss" "$p_total" "$p_steady" "$p_win" "$p_rss" <<'PY'
import sys
freq, run = int(sys.argv[1]), float(sys.argv[2])
rows = [("brasa", *map(float, sys.argv[3:7])), ("perf", *map(float, sys.argv[7:11]))]
print(f"whole host, {freq} Hz, {run:.0f} s, both CPUs busy with the C workload")
print(f"{'':6s} {'total CPU':>10s} {'total %core':>12s} {'steady %core':>13s} {'peak RSS':>10s}")
for name, total, steady, window, rss in rows:
    print(f"{name:6s} {total:8.2f} s {100 * total / run:11.3f}% {100 * steady / window:12.3f}% {rss / 1024:7.1f} MiB")
print("steady: CPU between the warm-up and the last second (clock ticks, 10 ms resolution)")
print("targets for brasa at 19 Hz: under 0.25% of one core, peak RSS under 40 MiB")
PY
