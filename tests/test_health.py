"""grpc.health.v1.Health on a real port: Check per service, Watch through shutdown, Redis down still SERVING
(Weaviate down: tests/knowledge/test_weaviate_service.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from server.app import SERVICE_NAMES, RunningServer
from tests.support.redis import RedisServer
from tests.support.servers import Servers

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


@pytest.mark.parametrize("service", ["", *SERVICE_NAMES])
async def test_unary_check_serving(channel: grpc.aio.Channel, service: str) -> None:
    reply = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=service))
    assert reply.status == SERVING


async def test_unary_check_unknown_service_not_found(channel: grpc.aio.Channel) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service="no.such.Service"))
    assert err.value.code() == grpc.StatusCode.NOT_FOUND


async def test_stream_watch_sees_not_serving_on_shutdown(server: RunningServer, channel: grpc.aio.Channel) -> None:
    call = health_pb2_grpc.HealthStub(channel).Watch(health_pb2.HealthCheckRequest(service=SERVICE_NAMES[0]))
    first = await call.read()
    assert first.status == SERVING
    stopping = asyncio.create_task(server.stop(1.0))
    second = await asyncio.wait_for(call.read(), timeout=5)
    assert second.status == NOT_SERVING
    await stopping


async def _status(stub: health_pb2_grpc.HealthStub, service: str) -> int:
    return int((await stub.Check(health_pb2.HealthCheckRequest(service=service))).status)


async def _until(predicate: Callable[[], Awaitable[bool]], within: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not await predicate():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.05)


async def test_unary_redis_down_stays_serving_but_shows_in_metrics(servers: Servers, redis_server: RedisServer) -> None:
    """Rate limits fall back to memory, so Redis down is SERVING; `wuffchat_dependency_up{redis}` says 0."""
    async with servers.serving(REDIS_URL=redis_server.url, METRICS_ADDR="127.0.0.1:0") as (running, channel):
        assert running.metrics is not None
        up = running.metrics.dependency_up.labels("redis")
        assert up._value.get() == 1
        redis_server.stop()
        await _until(lambda: asyncio.sleep(0, up._value.get() == 0))
        stub = health_pb2_grpc.HealthStub(channel)
        assert [await _status(stub, s) for s in ("", *SERVICE_NAMES)] == [SERVING] * 4
        redis_server.start()
        await _until(lambda: asyncio.sleep(0, up._value.get() == 1))
