"""Rate limiting on a real port: exact counts under concurrency (memory and Redis), headers, details,
keys (principal, client IP, spoofed x-forwarded-for), audit, and Redis failing mid-run.

grpcio-testing cannot drive grpc.aio server interceptors (its test server is the synchronous API),
so each case runs the interceptor on a real grpc.aio server with tests/support/echo.py.
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from typing import Any

import grpc
import limits
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from interceptors.context import ContextInterceptor
from interceptors.ratelimit import RateLimitInterceptor, RateLimitPolicy
from interceptors.ratelimit_backend import KEY_PREFIX, Limiter
from server.audit import AuditLog
from tests.interceptors.conftest import audit_events
from tests.support.echo import echo_server
from tests.support.principal import PrincipalFromMetadata, principal_header
from tests.support.redis import RedisServer

UNARY = "/test.Echo/Unary"


def _chain(limiter: Limiter, audit: AuditLog, limit: str = "10/minute", trusted: Sequence[Any] = ()) -> list[Any]:
    policy = RateLimitPolicy(limits.parse("1000/minute"), {UNARY: limits.parse(limit)})
    return [
        ContextInterceptor(trusted_proxies=trusted),
        PrincipalFromMetadata(),
        RateLimitInterceptor(limiter, policy, audit),
    ]


async def _burst(channel: grpc.aio.Channel, n: int, metadata: Sequence[tuple[str, str]] = ()) -> Counter[str]:
    unary = channel.unary_unary(UNARY)

    async def one(i: int) -> str:
        try:
            await unary(f"c{i}".encode(), metadata=tuple(metadata))
        except grpc.aio.AioRpcError as err:
            return err.code().name
        return "OK"

    return Counter(await asyncio.gather(*(one(i) for i in range(n))))


@pytest.fixture
async def memory_limiter() -> AsyncIterator[Limiter]:
    limiter = Limiter()
    yield limiter
    await limiter.aclose()


async def test_unary_memory_exact_limit_with_50_concurrent_callers(
    memory_limiter: Limiter, audit_log: AuditLog
) -> None:
    async with echo_server(_chain(memory_limiter, audit_log)) as channel:
        outcome = await _burst(channel, 50)
    assert outcome == Counter({"OK": 10, "RESOURCE_EXHAUSTED": 40})


@pytest.mark.redis
async def test_unary_redis_exact_limit_with_50_concurrent_callers(
    redis_server: RedisServer, audit_log: AuditLog
) -> None:
    # Exact counting is the subject, not the outage timeout: 50 connections opened at once on a loaded CI
    # machine can take longer than the default 0.5 s, and the fallback would count per process.
    limiter = Limiter(redis_server.url, audit=audit_log, redis_timeout=5.0)
    try:
        async with echo_server(_chain(limiter, audit_log)) as channel:
            outcome = await _burst(channel, 50)
        assert limiter.backend == "redis"
    finally:
        await limiter.aclose()
    assert outcome == Counter({"OK": 10, "RESOURCE_EXHAUSTED": 40})


async def test_unary_headers_on_success_and_refusal(memory_limiter: Limiter, audit_log: AuditLog) -> None:
    async with echo_server(_chain(memory_limiter, audit_log, limit="2/minute")) as channel:
        unary = channel.unary_unary(UNARY)
        first = unary(b"a")
        await first
        ok_trailers = await first.trailing_metadata()
        await unary(b"b")
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await unary(b"c")
    assert ok_trailers["x-ratelimit-limit"] == "2"
    assert ok_trailers["x-ratelimit-remaining"] == "1"
    assert 0 < int(ok_trailers["x-ratelimit-reset"]) <= 60
    refused = err.value
    trailers = refused.trailing_metadata()
    assert refused.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert trailers["x-ratelimit-remaining"] == "0"
    assert 1 <= int(trailers["retry-after"]) <= 60
    assert refused.details().startswith("Zu viele Anfragen")
    status = rpc_status.from_call(refused)
    assert status is not None
    kinds = {detail.type_url.rsplit(".", 1)[-1]: detail for detail in status.details}
    assert set(kinds) == {"RetryInfo", "QuotaFailure", "ErrorInfo"}
    info = error_details_pb2.ErrorInfo()
    kinds["ErrorInfo"].Unpack(info)
    assert (info.reason, info.domain) == ("RATE_LIMITED", "wuffchat")
    retry = error_details_pb2.RetryInfo()
    kinds["RetryInfo"].Unpack(retry)
    assert retry.retry_delay.seconds == int(trailers["retry-after"])
    quota = error_details_pb2.QuotaFailure()
    kinds["QuotaFailure"].Unpack(quota)
    assert quota.violations[0].subject == "ip:127.0.0.1"


async def test_unary_message_in_english_with_accept_language(memory_limiter: Limiter, audit_log: AuditLog) -> None:
    async with echo_server(_chain(memory_limiter, audit_log, limit="1/minute")) as channel:
        unary = channel.unary_unary(UNARY)
        await unary(b"a")
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await unary(b"b", metadata=(("accept-language", "en-US"),))
    assert err.value.details().startswith("Too many requests")


async def test_unary_spoofed_xff_from_untrusted_peer_shares_one_key(
    memory_limiter: Limiter, audit_log: AuditLog
) -> None:
    async with echo_server(_chain(memory_limiter, audit_log, limit="3/minute")) as channel:
        unary = channel.unary_unary(UNARY)
        outcomes = []
        for i in range(5):
            try:
                await unary(b"x", metadata=(("x-forwarded-for", f"203.0.113.{i}"),))
                outcomes.append("OK")
            except grpc.aio.AioRpcError as err:
                outcomes.append(err.code().name)
    assert outcomes == ["OK"] * 3 + ["RESOURCE_EXHAUSTED"] * 2


async def test_unary_xff_from_trusted_proxy_keys_per_client(memory_limiter: Limiter, audit_log: AuditLog) -> None:
    trusted = [ipaddress.ip_network("127.0.0.1/32")]
    async with echo_server(_chain(memory_limiter, audit_log, limit="1/minute", trusted=trusted)) as channel:
        unary = channel.unary_unary(UNARY)
        for i in range(3):  # three different clients behind the proxy: one call each is fine
            await unary(b"x", metadata=(("x-forwarded-for", f"198.51.100.{i}"),))
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await unary(b"x", metadata=(("x-forwarded-for", "198.51.100.0"),))
    assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED


async def test_unary_authenticated_callers_are_keyed_by_principal(memory_limiter: Limiter, audit_log: AuditLog) -> None:
    async with echo_server(_chain(memory_limiter, audit_log, limit="2/minute")) as channel:
        alice = await _burst(channel, 4, [principal_header("user", "alice")])
        bob = await _burst(channel, 4, [principal_header("user", "bob")])
        anonymous = await _burst(channel, 4)
    assert alice == bob == anonymous == Counter({"OK": 2, "RESOURCE_EXHAUSTED": 2})


async def test_stream_kinds_are_limited_too(memory_limiter: Limiter, audit_log: AuditLog) -> None:
    policy = RateLimitPolicy(limits.parse("1/minute"))
    chain = [ContextInterceptor(), RateLimitInterceptor(memory_limiter, policy, audit_log)]
    async with echo_server(chain) as channel:
        stream = channel.unary_stream("/test.Echo/ServerStream")
        first = stream(b"2")
        assert [r async for r in first] == [b"0", b"1"]
        assert (await first.trailing_metadata())["x-ratelimit-remaining"] == "0"
        with pytest.raises(grpc.aio.AioRpcError) as err:
            _ = [r async for r in stream(b"2")]
    assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED


async def test_unary_refusal_is_audited_once_per_window(
    memory_limiter: Limiter, audit_log: AuditLog, audit_engine: Any
) -> None:
    async with echo_server(_chain(memory_limiter, audit_log, limit="1/minute")) as channel:
        outcome = await _burst(channel, 6)
    assert outcome["RESOURCE_EXHAUSTED"] == 5
    rows = await audit_events(audit_engine)
    assert [r.event for r in rows] == ["excess_rate_limit_exceeded"]
    assert rows[0].client_ip == "127.0.0.1"
    assert rows[0].details["method"] == UNARY


async def _redis_keys(redis_server: RedisServer) -> int:
    import redis.asyncio

    client = redis.asyncio.Redis.from_url(redis_server.url)
    try:
        return len(await client.keys(f"{KEY_PREFIX}*"))
    finally:
        await client.aclose()


@pytest.mark.redis
async def test_unary_redis_outage_fails_open_then_recovers(
    redis_server: RedisServer, audit_log: AuditLog, audit_engine: Any
) -> None:
    """Redis stops mid-run: calls keep being served by the in-process limiter, audited; when Redis
    is back, counting returns to it (its keys reappear)."""
    limiter = Limiter(redis_server.url, audit=audit_log, probe_interval=0.2, redis_timeout=0.5)
    try:
        async with echo_server(_chain(limiter, audit_log, limit="100/minute")) as channel:
            unary = channel.unary_unary(UNARY)
            await unary(b"before")
            assert await _redis_keys(redis_server) == 1
            redis_server.stop()
            await unary(b"during")  # served, not refused and not an error
            assert limiter.backend == "memory-fallback"
            await unary(b"still during")
            redis_server.start()  # empty again: no persistence
            for _ in range(50):
                await asyncio.sleep(0.1)
                await unary(b"probing")
                if limiter.backend == "redis":
                    break
            assert limiter.backend == "redis"
            await unary(b"after")
            assert await _redis_keys(redis_server) == 1
    finally:
        await limiter.aclose()
    events = [r.event for r in await audit_events(audit_engine)]
    assert events == ["sys_monitor_disabled", "sys_monitor_enabled"]


def test_policy_from_settings_maps_rpc_names() -> None:
    from interceptors.chain import SERVICES
    from server.config import load_settings

    policy = RateLimitPolicy.from_settings(
        load_settings({"RATE_LIMITS": "Login=7/minute"}).limits.rate_limits, SERVICES
    )
    assert policy.for_method("/wuffchat.auth.v1.AuthService/Login") == limits.parse("7/minute")
    assert policy.for_method("/wuffchat.auth.v1.AuthService/Register") == limits.parse("3/minute")
    assert policy.for_method("/wuffchat.conversation.v1.ConversationService/StreamMessage") == limits.parse("30/minute")
    assert policy.for_method("/wuffchat.auth.v1.AuthService/GetProfile") == limits.parse("60/minute")
