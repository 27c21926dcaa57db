"""The failed-authentication budget per client IP on a real port: bogus Bearer tokens and API keys,
no database lookup past the budget or for keys of the wrong shape, other IPs, successes, audit, Redis."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from server.auth.api_keys import generate_key
from tests.auth.conftest import Serving
from tests.conftest import SettingsFactory
from tests.interceptors.conftest import audit_events
from tests.support.auth import ADMIN_KEY, Metadata, api_key, bearer, signed_up
from tests.support.redis import RedisServer

WHOAMI = "/test.WhoAmI/Unary"
PROXY = (ipaddress.ip_network("127.0.0.1/32"),)
BOGUS_BEARERS = ("not-a-jwt", "a.b.c", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.", "x" * 300)


async def code(channel: grpc.aio.Channel, metadata: Metadata, ip: str | None = None) -> str:
    """The status name of one WhoAmI call (from client `ip` behind the trusted proxy, when given)."""
    forwarded: Metadata = (("x-forwarded-for", ip),) if ip else ()
    try:
        await channel.unary_unary(WHOAMI)(b"", metadata=metadata + forwarded)
    except grpc.aio.AioRpcError as err:
        return err.code().name
    return "OK"


async def refusal(channel: grpc.aio.Channel, metadata: Metadata) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await channel.unary_unary(WHOAMI)(b"", metadata=metadata)
    return err.value


@contextmanager
def api_key_lookups(engine: AsyncEngine) -> Iterator[list[str]]:
    """The SQL statements that read the `api_keys` table while the block runs."""
    seen: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if "api_keys" in statement:
            seen.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", count)


async def test_unary_bogus_bearer_tokens_end_in_resource_exhausted(
    serving: Serving, settings_factory: SettingsFactory
) -> None:
    async with serving(settings_factory(AUTH_FAILURE_LIMIT="4/minute")) as (_, channel):
        outcomes = [await code(channel, bearer(token)) for token in BOGUS_BEARERS]
        err = await refusal(channel, bearer("one-more"))
        with pytest.raises(grpc.aio.AioRpcError) as stream_err:
            [r async for r in channel.unary_stream("/test.WhoAmI/Stream")(b"", metadata=bearer("x"))]
    assert outcomes == ["UNAUTHENTICATED"] * 4
    assert err.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert stream_err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert err.details().startswith("Zu viele Anfragen")
    retry_after = int(err.trailing_metadata()["retry-after"])
    assert 1 <= retry_after <= 60
    status = rpc_status.from_call(err)  # type: ignore[arg-type]
    assert status is not None
    kinds = {detail.type_url.rsplit(".", 1)[-1]: detail for detail in status.details}
    assert set(kinds) == {"RetryInfo", "QuotaFailure", "ErrorInfo"}
    retry = error_details_pb2.RetryInfo()
    kinds["RetryInfo"].Unpack(retry)
    assert retry.retry_delay.seconds == retry_after
    quota = error_details_pb2.QuotaFailure()
    kinds["QuotaFailure"].Unpack(quota)
    assert quota.violations[0].subject == "ip:127.0.0.1"


async def test_unary_bogus_api_keys_are_not_looked_up_past_the_budget(
    serving: Serving, settings_factory: SettingsFactory
) -> None:
    async with serving(settings_factory(AUTH_FAILURE_LIMIT="5/minute")) as (running, channel):
        with api_key_lookups(running.engine) as lookups:
            within = [await code(channel, api_key(generate_key())) for _ in range(5)]
            looked_up = len(lookups)
            past = [await code(channel, api_key(generate_key())) for _ in range(15)]
    assert within == ["UNAUTHENTICATED"] * 5
    assert looked_up == 5  # keys of the table's shape are looked up while within the budget
    assert past == ["RESOURCE_EXHAUSTED"] * 15
    assert len(lookups) == 5


async def test_unary_keys_of_the_wrong_shape_never_reach_the_database(
    serving: Serving, settings_factory: SettingsFactory
) -> None:
    wrong_shape = [
        "wck_short",
        "sk-live-0123456789abcdef0123456789abcdef",
        ADMIN_KEY + "xy",
        generate_key() + "A",
        "wck_" + "!" * 43,
    ]
    async with serving(settings_factory()) as (running, channel):
        with api_key_lookups(running.engine) as lookups:
            outcomes = [await code(channel, api_key(key)) for key in wrong_shape]
            assert lookups == []
            assert await code(channel, api_key(generate_key())) == "UNAUTHENTICATED"
            assert len(lookups) == 1  # the counting works: a key of the table's shape is looked up
    assert outcomes == ["UNAUTHENTICATED"] * len(wrong_shape)


async def test_unary_other_client_ips_are_unaffected(serving: Serving, settings_factory: SettingsFactory) -> None:
    settings = settings_factory(AUTH_FAILURE_LIMIT="3/minute", TRUSTED_PROXIES=PROXY)
    async with serving(settings) as (_, channel):
        attacker = [await code(channel, api_key(generate_key()), "198.51.100.7") for _ in range(5)]
        attacker_valid = await code(channel, api_key(), "198.51.100.7")
        other_bogus = await code(channel, bearer("x"), "198.51.100.8")
        other_valid = await code(channel, api_key(), "198.51.100.8")
    assert attacker == ["UNAUTHENTICATED"] * 3 + ["RESOURCE_EXHAUSTED"] * 2
    assert attacker_valid == "RESOURCE_EXHAUSTED"  # a throttled IP is refused before any verification
    assert (other_bogus, other_valid) == ("UNAUTHENTICATED", "OK")


async def test_unary_successes_do_not_consume_the_budget(serving: Serving, settings_factory: SettingsFactory) -> None:
    async with serving(settings_factory(AUTH_FAILURE_LIMIT="3/minute")) as (_, channel):
        tokens = await signed_up(channel, "budget@example.org")
        first = [await code(channel, bearer("bogus")) for _ in range(2)]
        valid = [await code(channel, creds) for creds in (api_key(), bearer(tokens.access_token)) * 10]
        without_credentials = [await code(channel, ()) for _ in range(5)]
        last_failure = await code(channel, api_key("wrong"))
        then_valid = await code(channel, bearer(tokens.access_token))
    assert first == ["UNAUTHENTICATED"] * 2
    assert valid == ["OK"] * 20
    assert without_credentials == ["UNAUTHENTICATED"] * 5  # nothing to verify: not counted
    assert last_failure == "UNAUTHENTICATED"  # the third failure is still within the budget
    assert then_valid == "RESOURCE_EXHAUSTED"


async def test_unary_throttling_is_audited_once_per_ip_and_window(
    serving: Serving, settings_factory: SettingsFactory
) -> None:
    settings = settings_factory(AUTH_FAILURE_LIMIT="2/minute", TRUSTED_PROXIES=PROXY)
    async with serving(settings) as (running, channel):
        for ip in ("198.51.100.1", "198.51.100.2"):
            outcomes = [await code(channel, bearer("bogus"), ip) for _ in range(8)]
            assert outcomes == ["UNAUTHENTICATED"] * 2 + ["RESOURCE_EXHAUSTED"] * 6
        rows = [r for r in await audit_events(running.engine) if r.event == "authn_login_fail_max"]
    assert [(r.client_ip, r.severity, r.details["limit"]) for r in rows] == [
        ("198.51.100.1", "warning", "2 per 1 minute"),
        ("198.51.100.2", "warning", "2 per 1 minute"),
    ]


@pytest.mark.redis
async def test_unary_redis_budget_is_shared_between_servers(
    serving: Serving, settings_factory: SettingsFactory, redis_server: RedisServer
) -> None:
    settings = settings_factory(AUTH_FAILURE_LIMIT="3/minute", REDIS_URL=redis_server.url)
    async with serving(settings) as (first, one), serving(settings) as (second, two):
        failures = [await code(one, api_key(generate_key())) for _ in range(3)]
        with api_key_lookups(second.engine) as lookups:
            elsewhere = [await code(two, api_key(generate_key())), await code(two, api_key())]
        assert (first.limiter.backend, second.limiter.backend) == ("redis", "redis")
    assert failures == ["UNAUTHENTICATED"] * 3
    assert elsewhere == ["RESOURCE_EXHAUSTED", "RESOURCE_EXHAUSTED"]
    assert lookups == []
