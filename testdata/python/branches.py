"""CPU-bound Python with a known call tree, for the Python frame tests.

    <module> -> main -> Worker.run -> heavy_branch -> spin  (two thirds)
                                   -> light_branch -> spin  (one third)
                                   -> überall_名前 -> compress_it -> zlib.compress

`spin` does the same work per call; heavy_branch calls it twice as often as
light_branch, so two thirds of the samples in those branches are heavy
ones. compress_it hands a buffer to zlib (a C extension calling libz), so
the native frames of deflate run under a Python caller. The first argument
is how many seconds to run. Lines marked `# mark: NAME` are looked up by
the tests (a frame that has just started is at its `def` line).
"""

import sys
import time
import zlib

DATA = bytes(range(256)) * 512


def spin(n):
    total = 0
    for i in range(n):
        total += i * i  # mark: spin-loop
    return total


def heavy_branch():  # mark: heavy-def
    return spin(4000) + spin(4000)  # mark: heavy-call


def light_branch():
    return spin(4000)  # mark: light-call


def compress_it():  # mark: compress-def
    return len(zlib.compress(DATA, 9))  # mark: compress-call


def überall_名前():
    return compress_it()


class Worker:
    def run(self, seconds):
        end = time.monotonic() + seconds
        rounds = 0
        while time.monotonic() < end:
            heavy_branch()
            light_branch()
            if rounds % 8 == 0:
                überall_名前()
            rounds += 1
        return rounds


def main():
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 3.0
    print(Worker().run(seconds), flush=True)  # mark: main-call


main()  # mark: module-call
