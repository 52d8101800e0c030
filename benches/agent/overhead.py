#!/usr/bin/env python3
"""Whole-host profiling overhead at 19 Hz: `brasa agent` side by side with
`perf record -a -g -F 19` and bpftrace, each for the same time while the
same CPU-bound workloads run. Needs root.

For each profiler it prints the CPU its own process used (user + system),
the run time of its BPF programs (kernel.bpf_stats_enabled), their sum as a
share of one core, and the peak RSS.

Usage: benches/agent/overhead.py [SECONDS]   (default 60)
"""

import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SECONDS = float(sys.argv[1]) if len(sys.argv) > 1 else 60.0
FREQUENCY = 19
TICK = os.sysconf("SC_CLK_TCK")


def target_dir():
    return os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))


def build():
    subprocess.run(["cargo", "build", "--release", "-q", "-p", "brasa"], cwd=ROOT, check=True)
    workload = os.path.join(tempfile.mkdtemp(), "overhead-cpu")
    subprocess.run(
        ["clang", "-O1", "-fno-omit-frame-pointer", "-o", workload,
         os.path.join(ROOT, "testdata/workloads/c/workload.c")],
        check=True,
    )
    return os.path.join(target_dir(), "release", "brasa"), workload


def bpf_programs():
    """Id -> run_time_ns of every loaded BPF program."""
    out = subprocess.run(["bpftool", "prog", "show", "--json"], capture_output=True, check=True)
    return {prog["id"]: prog.get("run_time_ns", 0) for prog in json.loads(out.stdout)}


def bpf_run_time_ns(ids):
    """Sum of run_time_ns of the programs `ids` (those a profiler loaded)."""
    programs = bpf_programs()
    return sum(programs.get(i, 0) for i in ids)


def proc_cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    utime, stime = int(fields[11]), int(fields[12])
    return (utime + stime) / TICK


def peak_rss_kib(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def measure(name, argv, env=None):
    """Runs `argv` for SECONDS, then reads its CPU, BPF time and peak RSS."""
    before = set(bpf_programs())
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    time.sleep(2)  # start-up: loading programs, reading symbols
    # The programs that appeared since are this profiler's (none for perf,
    # whose sampling cost is in the kernel's interrupt path, unmeasured here).
    ids = set(bpf_programs()) - before
    cpu0, bpf0, t0 = proc_cpu_seconds(proc.pid), bpf_run_time_ns(ids), time.monotonic()
    time.sleep(SECONDS)
    cpu1, bpf1, t1 = proc_cpu_seconds(proc.pid), bpf_run_time_ns(ids), time.monotonic()
    rss = peak_rss_kib(proc.pid)
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
    wall = t1 - t0
    process = cpu1 - cpu0
    bpf = (bpf1 - bpf0) / 1e9
    share = 100.0 * (process + bpf) / wall
    print(f"{name:<28} process {process:7.3f} s  BPF {bpf:7.4f} s  "
          f"= {share:6.3f}% of one core   peak RSS {rss / 1024:6.1f} MiB")
    return share, rss


def main():
    if os.geteuid() != 0:
        sys.exit("needs root: it loads BPF programs and reads every process")
    brasa, workload = build()
    subprocess.run(["sysctl", "-q", "kernel.bpf_stats_enabled=1"], check=True)
    work = tempfile.mkdtemp()
    server = subprocess.Popen(
        [brasa, "server", "--listen", "127.0.0.1:0", "--data", os.path.join(work, "data")],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    url = next(w for w in server.stdout.readline().split() if w.startswith("http://"))
    # Two CPU-bound workloads: the host is busy, as a profiled host is.
    load_ms = str(int((SECONDS * 3 + 60) * 1000))
    workloads = [subprocess.Popen([workload, "cpu", load_ms]) for _ in range(2)]
    try:
        print(f"{SECONDS:.0f} s each, {FREQUENCY} Hz, whole host, {os.cpu_count()} CPUs, 2 busy workloads")
        measure("brasa agent", [brasa, "agent", "--server", url, "--frequency", str(FREQUENCY),
                                "--spool", os.path.join(work, "spool"),
                                "--metrics-listen", "127.0.0.1:0"])
        measure("perf record -a -g -F 19", ["perf", "record", "-a", "-g", "-F", str(FREQUENCY),
                                            "-o", os.path.join(work, "perf.data")])
        measure("bpftrace profile:hz:19", ["bpftrace", "-e",
                 f"profile:hz:{FREQUENCY} {{ @[kstack, ustack, pid] = count(); }}"],
                env=dict(os.environ, BPFTRACE_MAX_MAP_KEYS="65536"))
    finally:
        for p in workloads + [server]:
            p.kill()
        subprocess.run(["sysctl", "-q", "kernel.bpf_stats_enabled=0"])


if __name__ == "__main__":
    main()
