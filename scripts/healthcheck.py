"""The image's health probe: one `grpc.health.v1.Health/Check` on the server's own port, over loopback.

`python scripts/healthcheck.py [--tls-ca FILE --server-name NAME] [SERVICE]` exits 0 when the answer
is SERVING, 1 otherwise (no answer within 3 s, NOT_SERVING, unknown service). The port is GRPC_ADDR's;
the call is plaintext, like a Kubernetes gRPC probe, unless `--tls-ca` names the CA that signed the
server's certificate (GRPC_TLS_CERT_FILE), which must be valid for NAME. The Dockerfile's HEALTHCHECK
and the prod overlay's probes (deploy/k8s) run it.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

TIMEOUT_SECONDS = 3.0


def _channel(target: str, ca_file: Path | None, server_name: str) -> grpc.Channel:
    if ca_file is None:
        return grpc.insecure_channel(target)
    credentials = grpc.ssl_channel_credentials(root_certificates=ca_file.read_bytes())
    return grpc.secure_channel(target, credentials, options=[("grpc.ssl_target_name_override", server_name)])


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("service", nargs="?", default="", help="health service name (default: the overall status)")
    parser.add_argument("--tls-ca", type=Path, help="CA bundle that signed the server's certificate (TLS)")
    parser.add_argument("--server-name", default="localhost", help="the name the certificate is checked for")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    port = (os.environ.get("GRPC_ADDR", "") or "127.0.0.1:50051").rpartition(":")[2]
    with _channel(f"127.0.0.1:{port}", args.tls_ca, args.server_name) as channel:
        try:
            answer = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=args.service), timeout=TIMEOUT_SECONDS
            )
        except grpc.RpcError as err:
            print(f"healthcheck: {err.code().name}", file=sys.stderr)
            return 1
    status = health_pb2.HealthCheckResponse.ServingStatus.Name(answer.status)
    print(f"healthcheck: {status}")
    return 0 if answer.status == health_pb2.HealthCheckResponse.SERVING else 1


if __name__ == "__main__":
    sys.exit(main())
