"""HEALTH_ADDR: a plaintext port that serves `grpc.health.v1.Health` and nothing else.

For probes that speak plaintext gRPC only (the kubelet's native `grpc` probes) when the main port speaks
TLS. It serves the main port's own servicer (server/health.py), so every service's status is the same
on both, NOT_SERVING included during the shutdown drain; every other method is UNIMPLEMENTED (no other
servicer, no reflection). It runs no interceptor chain: health calls carry no credentials and no rate
limit applies to them on the main port either. With `--workers`, every worker binds it with
SO_REUSEPORT, as it binds the main port (server/workers.py reserves the port first).
"""

from __future__ import annotations

import grpc
from grpc_health.v1 import health_pb2_grpc

from .health import HealthServicer

# A health request is a service name; a probe needs a stream or two, not a caller's budget.
_OPTIONS = [
    ("grpc.max_receive_message_length", 4096),
    ("grpc.max_concurrent_streams", 16),
    ("grpc.max_connection_idle_ms", 60_000),
]


class HealthPortError(OSError):
    """HEALTH_ADDR cannot be bound (in use or not available)."""


async def start_health_port(
    servicer: HealthServicer, addr: str, *, reuse_port: bool = False
) -> tuple[grpc.aio.Server, int]:
    """A started server on `addr` with only `servicer`, and the port it bound. `reuse_port`: bind with
    SO_REUSEPORT (`--workers`: one port, many processes); off, an occupied port is refused.

    Raises:
        HealthPortError: the address is in use or not available.
    """
    server = grpc.aio.server(options=[*_OPTIONS, ("grpc.so_reuseport", 1 if reuse_port else 0)])
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    try:
        port = server.add_insecure_port(addr)
    except RuntimeError:
        port = 0
    if port == 0:
        raise HealthPortError(f"cannot serve health on {addr} (address in use or not available)")
    await server.start()
    return server, port
