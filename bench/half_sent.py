"""Half-sent calls: the server's memory before, during and after a flood of requests that never complete.

    .venv/bin/python bench/half_sent.py [--connections 40] [--streams 125] [NAME=VALUE ...]

Starts the real server as its own process (`python -m server`, SQLite in a temporary folder); this
process is the load generator: raw HTTP/2 connections (tests/support/half_sent.py, the h2 library)
whose DATA frame promises 60,000 bytes of a gRPC message and sends 16,000. NAME=VALUE entries are
extra environment for the server, e.g. `MEMORY_TRIM_INTERVAL_SECONDS=0` to see the flood without
the trim. Prints a Markdown table of the server's RSS (from /proc) and how the calls ended.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.half_sent import open_half_sent, rss_bytes
from tests.support.process import start_server

MB = 1024 * 1024
PROMISED, SENT = 60_000, 16_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=40)
    parser.add_argument("--streams", type=int, default=125, help="half-sent calls per connection")
    parser.add_argument("env", nargs="*", help="NAME=VALUE for the server")
    args = parser.parse_args()
    folder = tempfile.mkdtemp()
    env = {
        "DATABASE_URL": f"sqlite+aiosqlite:///{folder}/bench.db",
        "REQUEST_RECEIVE_TIMEOUT_SECONDS": "2",
        "MEMORY_TRIM_INTERVAL_SECONDS": "1",
        **dict(entry.split("=", 1) for entry in args.env),
    }
    server = start_server(env)
    assert server.process.stdout is not None
    stdout = server.process.stdout
    threading.Thread(target=lambda: [None for _ in stdout], daemon=True).start()  # keep the pipe drained
    try:
        pid = server.process.pid
        time.sleep(1)
        baseline = rss_bytes(pid)
        clients = open_half_sent(
            server.port, connections=args.connections, streams=args.streams, promised=PROMISED, sent=SENT
        )
        flooded = rss_bytes(pid)
        until = time.monotonic() + 4
        while time.monotonic() < until:
            for client in clients:
                client.pump(0.01)
        held = rss_bytes(pid)
        statuses = sum((client.statuses for client in clients), Counter())
        ended = sum(client.ended for client in clients)
        for client in clients:
            client.close()
        time.sleep(4)
        after = rss_bytes(pid)
    finally:
        server.close()
    calls = args.connections * args.streams
    print(f"server environment: {' '.join(args.env) or 'defaults of this script'}\n")
    print("| baseline | after flood | 4 s later | 4 s after close | calls ended | statuses |")
    print("| ---: | ---: | ---: | ---: | ---: | --- |")
    print(
        f"| {baseline / MB:.0f} MB | {flooded / MB:.0f} | {held / MB:.0f} | {after / MB:.0f} "
        f"| {ended} of {calls} | {dict(statuses)} |"
    )


if __name__ == "__main__":
    main()
