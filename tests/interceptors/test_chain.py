"""The full chain on the real server: order, limits per SPEC through the real policy (memory and
Redis), scrubbed errors with rate-limit headers, health Watch untouched, audit chain and verify."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from opentelemetry import trace
from sqlalchemy import text
from wuffchat.auth.v1 import auth_service_pb2, auth_service_pb2_grpc

from interceptors.chain import ChainDependencies, build_chain
from server.app import RunningServer
from server.audit import verify
from tests.conftest import SettingsFactory
from tests.support import echo
from tests.support.auth import SERVICE_KEY, api_key, rate_limits
from tests.support.process import run_server
from tests.support.redis import RedisServer
from tests.support.servers import Servers, address


@pytest.fixture
async def full(servers: Servers) -> RunningServer:
    return await servers.start(RATE_LIMITS=rate_limits("20/minute", Login="5/minute"), extra_handlers=[echo.handler()])


@pytest.fixture
async def channel(full: RunningServer) -> AsyncIterator[grpc.aio.Channel]:
    async with grpc.aio.insecure_channel(address(full)) as chan:
        yield chan


async def test_chain_order_is_the_documented_one(servers: Servers) -> None:
    used: list[list[Any]] = []

    def recording(deps: ChainDependencies) -> list[Any]:
        used.append(build_chain(deps))
        return used[-1]

    async with servers.running(chain_factory=recording):
        pass
    assert [type(i).__name__ for i in used[0]] == [
        "ContextInterceptor",
        "AuditInterceptor",
        "ErrorScrubbingInterceptor",
        "AuthInterceptor",
        "RateLimitInterceptor",
        "AuthorizationInterceptor",
        "ValidationInterceptor",
    ]


async def test_chain_order_with_tracing_and_metrics_on(servers: Servers) -> None:
    """METRICS_ADDR and a tracer add their steps where chain.py says: tracing outermost, metrics inside context."""
    used: list[list[Any]] = []

    def recording(deps: ChainDependencies) -> list[Any]:
        used.append(build_chain(deps))
        return used[-1]

    tracer = trace.NoOpTracerProvider().get_tracer("test")
    async with servers.running(METRICS_ADDR="127.0.0.1:0", chain_factory=recording, tracer=tracer):
        pass
    assert [type(i).__name__ for i in used[0]][:4] == [
        "TracingInterceptor",
        "ContextInterceptor",
        "MetricsInterceptor",
        "AuditInterceptor",
    ]


async def _logins(channel: grpc.aio.Channel, n: int) -> Counter[str]:
    stub = auth_service_pb2_grpc.AuthServiceStub(channel)

    async def one() -> str:
        try:
            await stub.Login(auth_service_pb2.LoginRequest())
        except grpc.aio.AioRpcError as err:
            return err.code().name
        return "OK"

    return Counter(await asyncio.gather(*(one() for _ in range(n))))


async def test_unary_login_limit_is_exact_through_the_full_chain(channel: grpc.aio.Channel) -> None:
    # admitted calls reach validation, which refuses the empty request: rate limiting runs first
    assert await _logins(channel, 50) == Counter({"INVALID_ARGUMENT": 5, "RESOURCE_EXHAUSTED": 45})


@pytest.mark.redis
async def test_unary_login_limit_is_exact_with_redis(servers: Servers, redis_server: RedisServer) -> None:
    limits = rate_limits("60/minute", Login="5/minute")
    async with servers.serving(REDIS_URL=redis_server.url, RATE_LIMITS=limits) as (running, chan):
        outcome = await _logins(chan, 50)
        assert running.limiter.backend == "redis"
    assert outcome == Counter({"INVALID_ARGUMENT": 5, "RESOURCE_EXHAUSTED": 45})


async def test_unary_secret_error_leaks_nothing_and_keeps_ratelimit_headers(channel: grpc.aio.Channel) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await channel.unary_unary("/test.Echo/Unary")(b"boom", metadata=api_key(SERVICE_KEY))
    assert err.value.code() == grpc.StatusCode.INTERNAL
    trailers = err.value.trailing_metadata()
    assert "secret" not in (err.value.details() + repr(trailers) + (err.value.debug_error_string() or ""))
    assert trailers["x-ratelimit-limit"] == "20"
    assert trailers["x-ratelimit-remaining"] == "19"


async def test_stream_three_messages_then_internal(channel: grpc.aio.Channel) -> None:
    received = []
    with pytest.raises(grpc.aio.AioRpcError) as err:
        async for response in channel.unary_stream("/test.Echo/ServerStream")(b"3!", metadata=api_key(SERVICE_KEY)):
            received.append(response)
    assert received == [b"0", b"1", b"2"]
    assert err.value.code() == grpc.StatusCode.INTERNAL


async def test_stream_health_watch_works_and_health_is_never_limited(channel: grpc.aio.Channel) -> None:
    stub = health_pb2_grpc.HealthStub(channel)
    watch = stub.Watch(health_pb2.HealthCheckRequest())
    first = await asyncio.wait_for(watch.read(), 5)
    assert first.status == health_pb2.HealthCheckResponse.SERVING
    watch.cancel()
    for _ in range(30):  # above the default limit of 20/minute
        check = stub.Check(health_pb2.HealthCheckRequest())
        assert (await check).status == health_pb2.HealthCheckResponse.SERVING
    assert "x-ratelimit-limit" not in await check.trailing_metadata()


async def test_audit_rows_are_chained_and_verify_finds_a_tampered_row(
    full: RunningServer, channel: grpc.aio.Channel, settings_factory: SettingsFactory
) -> None:
    await _logins(channel, 6)  # one excess_rate_limit_exceeded for Login
    unary = channel.unary_unary("/test.Echo/Unary")
    for _ in range(21):  # and one for the echo method
        with contextlib.suppress(grpc.aio.AioRpcError):
            await unary(b"x", metadata=api_key(SERVICE_KEY))
    report = await verify(full.engine)
    assert report.intact and report.rows == 3  # with config_weakened, which a start with test settings records
    database_url = settings_factory().database.url
    assert run_server({"DATABASE_URL": database_url}, "audit", "verify").returncode == 0

    async with full.engine.begin() as conn:
        first_id = (await conn.execute(text("SELECT min(id) FROM audit_events"))).scalar_one()
        await conn.execute(text("UPDATE audit_events SET client_ip = '10.0.0.1' WHERE id = :id"), {"id": first_id})
    report = await verify(full.engine)
    assert report.first_broken_id == first_id
    result = run_server({"DATABASE_URL": database_url}, "audit", "verify")
    assert result.returncode == 1
    assert f"row id {first_id}" in result.stdout
