#!/usr/bin/env python3
"""Whole-host profiling overhead at 19 Hz: `brasa agent` side by side with
`perf record -a -g -F 19` and bpftrace, each for the same time while the
same CPU-bound workloads run: two native programs, a Python 3.11 program
and a Node.js program writing a perf map. Needs root, python3.11 and node.

For each profiler it prints the CPU its own process used (user + system),
the run time of its BPF programs (kernel.bpf_stats_enabled), their sum as a
share of one core, and the peak RSS.

Two figures per profiler: "steady", measured over SECONDS after a warm-up
of WARMUP seconds (past the agent's first push, which loads the kernel's
symbols and every running binary's symbol table once), and "whole run",
from start to end, start-up included.

Usage: benches/agent/overhead.py [SECONDS [WARMUP]]   (default 60 15)
"""

import os
import resource
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SECONDS = float(sys.argv[1]) if len(sys.argv) > 1 else 60.0
WARMUP = float(sys.argv[2]) if len(sys.argv) > 2 else 15.0
FREQUENCY = 19
TICK = os.sysconf("SC_CLK_TCK")
# A CPU-bound Python program: recursion a few frames deep, for SECONDS (argv[1]).
PYTHON_WORKLOAD = """
import sys, time
def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)
end = time.monotonic() + float(sys.argv[1])
while time.monotonic() < end:
    fib(18)
"""


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


def bpf_run_time_ns(pid):
    """Run time of the BPF programs process `pid` holds, from the fdinfo of
    its program fds: read in place, so measuring starts no process that the
    profilers would then sample and symbolize."""
    programs = {}
    fdinfo = f"/proc/{pid}/fdinfo"
    for fd in os.listdir(fdinfo):
        try:
            fields = dict(line.split(":", 1) for line in open(os.path.join(fdinfo, fd)) if ":" in line)
        except OSError:
            continue
        # Program fds carry run_time_ns; link fds name a prog_id without it.
        if "prog_id" in fields and "run_time_ns" in fields:
            programs[fields["prog_id"].strip()] = int(fields["run_time_ns"].strip())
    return sum(programs.values())


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
    """Runs `argv` for WARMUP + SECONDS; reads its CPU, BPF time and peak RSS."""
    started = time.monotonic()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    time.sleep(WARMUP)
    # perf has no BPF program: its sampling cost is in the kernel's
    # interrupt path, which this does not measure.
    cpu0, bpf0, t0 = proc_cpu_seconds(proc.pid), bpf_run_time_ns(proc.pid), time.monotonic()
    time.sleep(SECONDS)
    cpu1, bpf1, t1 = proc_cpu_seconds(proc.pid), bpf_run_time_ns(proc.pid), time.monotonic()
    rss = peak_rss_kib(proc.pid)
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
    steady = 100.0 * ((cpu1 - cpu0) + (bpf1 - bpf0) / 1e9) / (t1 - t0)
    whole = 100.0 * (cpu1 + bpf1 / 1e9) / (t1 - started)
    print(f"{name:<26} steady: process {cpu1 - cpu0:6.3f} s + BPF {(bpf1 - bpf0) / 1e9:6.4f} s"
          f" = {steady:6.3f}% of a core   whole run: {whole:6.3f}%   peak RSS {rss / 1024:6.1f} MiB")


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
    # CPU-bound workloads: the host is busy, as a profiled host is, with
    # native code, a Python interpreter and a JIT runtime writing a perf map.
    load_s = (SECONDS + WARMUP) * 3 + 60
    workloads = [subprocess.Popen([workload, "cpu", str(int(load_s * 1000))]) for _ in range(2)]
    workloads.append(subprocess.Popen(["python3.11", "-c", PYTHON_WORKLOAD, str(load_s)]))
    workloads.append(subprocess.Popen(
        ["node", "--perf-basic-prof", os.path.join(ROOT, "testdata/node/busy.js"), str(load_s)],
        stdout=subprocess.DEVNULL, cwd=work))  # it leaves a V8 log in its working directory
    try:
        print(f"{SECONDS:.0f} s each after {WARMUP:.0f} s of warm-up, {FREQUENCY} Hz, whole host, "
              f"{os.cpu_count()} CPUs, busy workloads: 2 native, python3.11, node --perf-basic-prof")
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
        for p in workloads:
            p.wait()
            # node --perf-basic-prof leaves its perf map behind.
            try:
                os.remove(f"/tmp/perf-{p.pid}.map")
            except FileNotFoundError:
                pass
        subprocess.run(["sysctl", "-q", "kernel.bpf_stats_enabled=0"])


if __name__ == "__main__":
    main()
