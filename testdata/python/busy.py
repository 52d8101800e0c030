"""A small CPU-bound program profiled by the pyroscope-io client.

Usage: python3 busy.py SERVER_URL SERVICE_NAME SECONDS [TOKEN [TENANT]]

With TOKEN, the client authenticates with HTTP Basic (the token as
password); with TENANT, it names its tenant (the client sends it as
X-Scope-OrgID).

It burns CPU in two functions with distinctive names, brasa_fixture_fib and
brasa_fixture_sort, so a test can find them in the server's merged profile.
"""

import sys
import time

import pyroscope


def brasa_fixture_fib(n):
    return n if n < 2 else brasa_fixture_fib(n - 1) + brasa_fixture_fib(n - 2)


def brasa_fixture_sort(rounds):
    data = list(range(20000, 0, -1))
    for _ in range(rounds):
        data = sorted(data, key=lambda x: (x * 7919) % 10007)
    return data[0]


def main():
    server, service, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
    pyroscope.configure(
        application_name=service,
        server_address=server,
        sample_rate=100,
        upload_interval=1,
        tags={"fixture": "busy"},
        basic_auth_username="brasa" if len(sys.argv) > 4 and sys.argv[4] else "",
        basic_auth_password=sys.argv[4] if len(sys.argv) > 4 else "",
        tenant_id=sys.argv[5] if len(sys.argv) > 5 else "",
    )
    deadline = time.time() + seconds
    while time.time() < deadline:
        brasa_fixture_fib(18)
        brasa_fixture_sort(2)
    pyroscope.shutdown()


if __name__ == "__main__":
    main()
