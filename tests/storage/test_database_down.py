"""Health follows the database: a real PostgreSQL behind a TCP proxy that the test cuts and restores."""

from __future__ import annotations

import asyncio

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from sqlalchemy.engine import make_url

from server.app import SERVICE_NAMES, start
from tests.conftest import SettingsFactory
from tests.support.net import TcpProxy

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


async def _status(stub: health_pb2_grpc.HealthStub, service: str) -> int:
    return int((await stub.Check(health_pb2.HealthCheckRequest(service=service))).status)


async def _wait_for(stub: health_pb2_grpc.HealthStub, status: int) -> None:
    async with asyncio.timeout(15):
        while await _status(stub, "") != status:
            await asyncio.sleep(0.05)


async def test_unary_health_flips_when_postgres_goes_and_comes_back(
    postgres_url: str, settings_factory: SettingsFactory
) -> None:
    url = make_url(postgres_url)
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
    await proxy.open()
    proxied = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    running = await start(settings_factory(DATABASE_URL=proxied))
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{running.port}") as channel:
            stub = health_pb2_grpc.HealthStub(channel)
            await _wait_for(stub, SERVING)
            await proxy.cut()
            await _wait_for(stub, NOT_SERVING)
            assert await _status(stub, SERVICE_NAMES[1]) == NOT_SERVING
            await proxy.open()
            await _wait_for(stub, SERVING)
            assert await _status(stub, SERVICE_NAMES[1]) == SERVING
    finally:
        await running.stop(0)
        await proxy.cut()
