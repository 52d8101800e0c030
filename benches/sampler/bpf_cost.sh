#!/usr/bin/env bash
# The BPF sampler's kernel cost per sample, Brasa vs bpftrace, on the same
# workload and frequency: kernel.bpf_stats_enabled=1, then run_time_ns /
# run_cnt of each tool's perf_event program, read while it samples.
#
# Both CPUs run the C workload (cpu mode) so that every tick finds the same
# kind of work, and both tools run at once over it: bpftrace
#   profile:hz:N { @[kstack, ustack, pid] = count(); }
# and Brasa `brasa record -- sh -c 'workload & workload; wait'`. bpftrace's
# counters are taken over the same window as Brasa's.
#
# Usage: benches/sampler/bpf_cost.sh [FREQUENCY_HZ] [SECONDS]   (root)
set -euo pipefail
source "$(dirname "$0")/common.sh"
need_root
need clang bpftool bpftrace python3
FREQ=${1:-99}
SECONDS_RUN=${2:-10}
build_brasa
build_workload

previous=$(sysctl -n kernel.bpf_stats_enabled)
trap 'sysctl -q -w kernel.bpf_stats_enabled=$previous' EXIT
sysctl -q -w kernel.bpf_stats_enabled=1

cpu_ms=$(( SECONDS_RUN * 1000 + 1000 ))

# Both tools sample the same ticks of the same workload at the same time,
# so whatever else the machine does weighs on both alike.
brasa_before=$(prog_ids sample_cpu)
bt_before=$(prog_ids "$FREQ")
bpftrace -e "profile:hz:$FREQ { @[kstack, ustack, pid] = count(); }" >"$OUT/bpftrace.out" 2>&1 &
bt_pid=$!
sleep 3 # bpftrace compiles and attaches
# The command (and so the recording) ends by itself about a second after
# the measurement window.
"$BRASA" record --frequency "$FREQ" -o "$OUT/bpf_cost.pb.gz" -- \
  sh -c "$WORKLOAD cpu $cpu_ms & $WORKLOAD cpu $cpu_ms; wait" 2>"$OUT/brasa.log" &
brasa_pid=$!
sleep 1
read -r bt_ns0 bt_cnt0 < <(prog_stats "$FREQ" "$bt_before")
sleep "$((SECONDS_RUN - 1))"
read -r brasa_ns brasa_cnt < <(prog_stats sample_cpu "$brasa_before")
read -r bt_ns1 bt_cnt1 < <(prog_stats "$FREQ" "$bt_before")
bt_ns=$((bt_ns1 - bt_ns0)); bt_cnt=$((bt_cnt1 - bt_cnt0))
wait "$brasa_pid" || { cat "$OUT/brasa.log" >&2; exit 1; }
kill -INT "$bt_pid"; wait "$bt_pid" || true

python3 - "$FREQ" "$brasa_ns" "$brasa_cnt" "$bt_ns" "$bt_cnt" <<'PY'
import sys
freq, b_ns, b_cnt, t_ns, t_cnt = (int(x) for x in sys.argv[1:])
if b_cnt == 0 or t_cnt == 0:
    sys.exit(f"no runs recorded (brasa {b_cnt}, bpftrace {t_cnt}): is kernel.bpf_stats_enabled honoured?")
b, t = b_ns / b_cnt, t_ns / t_cnt
print(f"frequency {freq} Hz, both CPUs busy with the C workload")
print(f"brasa    sample_cpu: {b_cnt:7d} runs, {b:8.0f} ns/sample")
print(f"bpftrace profile:hz: {t_cnt:7d} runs, {t:8.0f} ns/sample")
print(f"brasa / bpftrace = {b / t:.2f}  (target: <= 1)")
PY
