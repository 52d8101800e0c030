"""Threads parked in known Python stacks, for looking up their thread states.

The main thread blocks reading stdin inside Parker.wait_here, called from a
function with a non-ASCII name; a second thread blocks on an event. Once
both are parked the program prints "ready"; it exits when stdin closes.
"""

import sys
import threading

parked = threading.Event()
release = threading.Event()


def worker_loop():
    parked.set()
    release.wait()


class Parker:
    def wait_here(self):
        print("ready", flush=True)
        sys.stdin.readline()


def überall_名前():
    Parker().wait_here()


worker = threading.Thread(target=worker_loop, name="parked-worker")
worker.start()
parked.wait()
überall_名前()
release.set()
worker.join()
