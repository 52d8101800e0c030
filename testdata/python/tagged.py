"""A CPU-bound program that tags its work with pyroscope-io's tag_wrapper.

Usage: python3 tagged.py SERVER_URL SERVICE_NAME SECONDS

It alternates between brasa_fixture_fast (tagged request=fast, 0.25 s at
a time) and brasa_fixture_slow (tagged request=slow, 0.75 s at a time), so
a test can select and group samples by the dynamic tag `request`. The
phases are long because the client attaches tags to samples a little
after the fact: short phases would blur which tag a sample gets.
"""

import sys
import time

import pyroscope


def brasa_fixture_fast(n):
    return n if n < 2 else brasa_fixture_fast(n - 1) + brasa_fixture_fast(n - 2)


def brasa_fixture_slow(n):
    return n if n < 2 else brasa_fixture_slow(n - 1) + brasa_fixture_slow(n - 2)


def run_for(seconds, work):
    end = time.time() + seconds
    while time.time() < end:
        work(15)


def main():
    server, service, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
    pyroscope.configure(
        application_name=service,
        server_address=server,
        sample_rate=100,
        upload_interval=1,
        tags={"fixture": "tagged"},
    )
    deadline = time.time() + seconds
    while time.time() < deadline:
        with pyroscope.tag_wrapper({"request": "fast"}):
            run_for(0.25, brasa_fixture_fast)
        with pyroscope.tag_wrapper({"request": "slow"}):
            run_for(0.75, brasa_fixture_slow)
    pyroscope.shutdown()


if __name__ == "__main__":
    main()
