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

best() { # best wall and CPU (user+sys) seconds of 5 runs of "$@"
  python3 - "$@" <<'PY'
import resource, subprocess, sys, time
walls, cpus = [], []
for _ in range(5):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    walls.append(time.perf_counter() - start)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpus.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
print(f"{min(walls):.4f} {min(cpus):.4f}")
PY
}

read -r ours ours_cpu < <(best "$brasa" merge "$work"/in-*.pb.gz -o "$work/brasa.pb.gz")
# The pprof binary itself, not through the `go tool` launcher: its start-up
# cost is not pprof's.
pprof="$(go env GOTOOLDIR)/pprof"
read -r theirs theirs_cpu < <(best "$pprof" -proto -symbolize=none -output "$work/go.pb.gz" "$work"/in-*.pb.gz)

# Same result: compare the folded stacks of both merges.
"$brasa" merge "$work/brasa.pb.gz" -o "$work/brasa.folded"
"$brasa" merge "$work/go.pb.gz" -o "$work/go.folded"
cmp -s "$work/brasa.folded" "$work/go.folded" || { echo "merged profiles differ" >&2; exit 1; }

printf 'profiles merged:          %d\n' "$count"
printf 'brasa merge:              %.3f s wall, %.3f s CPU\n' "$ours" "$ours_cpu"
printf 'pprof -proto:             %.3f s wall, %.3f s CPU\n' "$theirs" "$theirs_cpu"
python3 -c "print(f'ratio (pprof / brasa):    {$theirs / $ours:.1f}x wall, {$theirs_cpu / $ours_cpu:.1f}x CPU')"
