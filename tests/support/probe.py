"""Health-check latency seen by an outside client: `python -m tests.support.probe PORT SECONDS`.

Runs in its own process with the synchronous grpc client, so its clock does not depend on the event
loop of the server under test. It issues a Check every 10 ms on a fixed schedule without waiting for
earlier answers, so the samples cover the whole time evenly (a stalled server cannot thin them out).
Prints "ready" after a first check, then, when SECONDS are over, one JSON list of latencies (seconds).
"""

from __future__ import annotations

import json
import sys
import threading
import time

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

INTERVAL = 0.01


def main() -> int:
    port, seconds = int(sys.argv[1]), float(sys.argv[2])
    latencies: list[float] = []
    lock = threading.Lock()
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        stub.Check(health_pb2.HealthCheckRequest(), timeout=10)
        print("ready", flush=True)
        futures = []
        start = time.perf_counter()
        for i in range(int(seconds / INTERVAL)):
            time.sleep(max(0.0, start + i * INTERVAL - time.perf_counter()))
            issued = time.perf_counter()

            def done(_future: grpc.Future, issued: float = issued) -> None:
                with lock:
                    latencies.append(time.perf_counter() - issued)

            future = stub.Check.future(health_pb2.HealthCheckRequest(), timeout=10)
            future.add_done_callback(done)
            futures.append(future)
        for future in futures:
            future.result()
    print(json.dumps(latencies), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
