#!/usr/bin/env bash
# Times `brasa merge` and `go tool pprof -proto` merging the same 200 Go CPU
# profiles, and prints the ratio. Usage: benches/merge_vs_pprof.sh [COUNT [SECONDS]]
#
# The inputs are made by running testdata/go/cpuwork (its many-stacks -tree
# workload) COUNT times for SECONDS each:
# real, distinct runtime/pprof profiles, not copies of one file.
set -euo pipefail
cd "$(dirname "$0")/.."
count=${1:-200}
seconds=${2:-2}  # CPU seconds per input profile: Go samples at 100 Hz
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cargo build --release -q -p brasa
brasa=${CARGO_TARGET_DIR:-target}/release/brasa
(cd testdata/go/cpuwork && GOFLAGS=-mod=mod go build -o "$work/cpuwork" .)

echo "making $count Go CPU profiles..."
for i in $(seq 1 "$count"); do
  "$work/cpuwork" -o "$work/in-$i.pb.gz" -tree -seconds "$seconds" &
  # Two at a time: this machine has two cores.
  if (( i % 2 == 0 )); then wait; fi
done
wait

best() { # best wall time of 3 runs of "$@", in seconds
  python3 - "$@" <<'PY'
import subprocess, sys, time
best = min(
    (lambda t0: (subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, check=True),
                 time.perf_counter() - t0)[1])(time.perf_counter())
    for _ in range(3))
print(f"{best:.4f}")
PY
}

ours=$(best "$brasa" merge "$work"/in-*.pb.gz -o "$work/brasa.pb.gz")
theirs=$(best go tool pprof -proto -symbolize=none -output "$work/go.pb.gz" "$work"/in-*.pb.gz)

# Same result: compare the folded stacks of both merges.
"$brasa" merge "$work/brasa.pb.gz" -o "$work/brasa.folded"
"$brasa" merge "$work/go.pb.gz" -o "$work/go.folded"
cmp -s "$work/brasa.folded" "$work/go.folded" || { echo "merged profiles differ" >&2; exit 1; }

printf 'profiles merged:        %d\n' "$count"
printf 'brasa merge:            %.3f s\n' "$ours"
printf 'go tool pprof -proto:   %.3f s\n' "$theirs"
python3 -c "print(f'ratio (pprof / brasa):  {$theirs / $ours:.1f}x')"
