"""Health follows the database: a real PostgreSQL behind a TCP proxy that the test cuts and restores."""

from __future__ import annotations

import asyncio

from grpc_health.v1 import health_pb2, health_pb2_grpc
from sqlalchemy.engine import make_url

from server.app import SERVICE_NAMES
from tests.support.net import TcpProxy
from tests.support.servers import Servers

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


async def _status(stub: health_pb2_grpc.HealthStub, service: str) -> int:
    return int((await stub.Check(health_pb2.HealthCheckRequest(service=service))).status)


async def _wait_for(stub: health_pb2_grpc.HealthStub, status: int) -> None:
    async with asyncio.timeout(15):
        while await _status(stub, "") != status:
            await asyncio.sleep(0.05)


async def test_unary_health_flips_when_postgres_goes_and_comes_back(postgres_url: str, servers: Servers) -> None:
    url = make_url(postgres_url)
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
    await proxy.open()
    proxied = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    try:
        async with servers.serving(DATABASE_URL=proxied) as (_, channel):
            stub = health_pb2_grpc.HealthStub(channel)
            await _wait_for(stub, SERVING)
            await proxy.cut()
            await _wait_for(stub, NOT_SERVING)
            assert await _status(stub, SERVICE_NAMES[1]) == NOT_SERVING
            await proxy.open()
            await _wait_for(stub, SERVING)
            assert await _status(stub, SERVICE_NAMES[1]) == SERVING
    finally:
        await proxy.cut()
