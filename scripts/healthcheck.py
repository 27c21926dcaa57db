"""The image's HEALTHCHECK: one `grpc.health.v1.Health/Check` of the overall status on the server's own port.

`python scripts/healthcheck.py [SERVICE]` exits 0 when the answer is SERVING, 1 otherwise (not
answering within 3 s, NOT_SERVING, unknown service). The port is GRPC_ADDR's; the call goes to
loopback over plaintext, like a Kubernetes gRPC probe (with GRPC_TLS_CERT_FILE set, use those probes
or `docker run --no-healthcheck`).
"""

from __future__ import annotations

import os
import sys

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

TIMEOUT_SECONDS = 3.0


def main(argv: list[str]) -> int:
    port = (os.environ.get("GRPC_ADDR", "") or "127.0.0.1:50051").rpartition(":")[2]
    service = argv[0] if argv else ""
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        try:
            answer = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=service), timeout=TIMEOUT_SECONDS
            )
        except grpc.RpcError as err:
            print(f"healthcheck: {err.code().name}", file=sys.stderr)
            return 1
    status = health_pb2.HealthCheckResponse.ServingStatus.Name(answer.status)
    print(f"healthcheck: {status}")
    return 0 if answer.status == health_pb2.HealthCheckResponse.SERVING else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
