"""Refresh tokens on a real port: single use, rotation, reuse kills the family, grace window, 30-day cap."""

from __future__ import annotations

import asyncio

import grpc
import pytest
from sqlalchemy import select
from wuffchat.auth.v1 import auth_service_pb2 as pb
from wuffchat.auth.v1 import auth_service_pb2_grpc

from server.app import RunningServer
from server.storage.db import session_factory
from server.storage.models import AuditEvent, RefreshToken
from tests.auth.conftest import Serving
from tests.conftest import SettingsFactory
from tests.support.auth import bearer, login, signed_up
from tests.support.clock import Clock


async def refresh(stub: auth_service_pb2_grpc.AuthServiceStub, token: str) -> pb.TokenPair:
    return (await stub.RefreshToken(pb.RefreshTokenRequest(refresh_token=token))).tokens


async def assert_refused(stub: auth_service_pb2_grpc.AuthServiceStub, token: str) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await refresh(stub, token)
    assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert err.value.details() == "Deine Sitzung ist abgelaufen. Bitte melde dich neu an."


async def assert_access(stub: auth_service_pb2_grpc.AuthServiceStub, token: str, code: grpc.StatusCode) -> None:
    try:
        await stub.GetProfile(pb.GetProfileRequest(), metadata=bearer(token))
    except grpc.aio.AioRpcError as err:
        assert err.code() == code
        return
    assert code == grpc.StatusCode.OK


@pytest.mark.both_databases
async def test_unary_reuse_kills_the_family(serving: Serving, settings_factory: SettingsFactory, clock: Clock) -> None:
    async with serving(settings_factory(REFRESH_GRACE_SECONDS=0)) as (running, channel):
        stub = auth_service_pb2_grpc.AuthServiceStub(channel)
        first = await signed_up(channel, "victim@example.org")
        other_login = await login(channel, "victim@example.org")
        second = await refresh(stub, first.refresh_token)
        clock.advance(1)  # past the grace window (none)

        await assert_refused(stub, first.refresh_token)  # the attacker replays the stolen, spent token
        await assert_refused(stub, second.refresh_token)  # ... and the legitimate sibling dies with it
        await assert_access(stub, second.access_token, grpc.StatusCode.UNAUTHENTICATED)
        # another login (another family) is untouched
        await assert_access(stub, other_login.access_token, grpc.StatusCode.OK)
        assert (await refresh(stub, other_login.refresh_token)).access_token

        async with session_factory(running.engine)() as session:
            [reuse] = list(await session.scalars(select(AuditEvent).where(AuditEvent.event == "authn_token_reuse")))
        assert reuse.severity == "critical"
        assert first.refresh_token not in repr(reuse.details)


@pytest.mark.both_databases
async def test_unary_grace_window_returns_the_same_successor(
    channel: grpc.aio.Channel, stub: auth_service_pb2_grpc.AuthServiceStub
) -> None:
    first = await signed_up(channel, "flaky.network@example.org")
    second = await refresh(stub, first.refresh_token)
    again = await refresh(stub, first.refresh_token)  # the first response was lost
    assert again.refresh_token == second.refresh_token
    third = await refresh(stub, again.refresh_token)
    await assert_access(stub, third.access_token, grpc.StatusCode.OK)
    # once the successor is spent, the old token is plain reuse
    await assert_refused(stub, first.refresh_token)
    await assert_refused(stub, third.refresh_token)


@pytest.mark.both_databases
async def test_unary_concurrent_refreshes_of_one_token(
    channel: grpc.aio.Channel, stub: auth_service_pb2_grpc.AuthServiceStub
) -> None:
    first = await signed_up(channel, "double.click@example.org")
    pairs = await asyncio.gather(*(refresh(stub, first.refresh_token) for _ in range(4)))
    assert len({p.refresh_token for p in pairs}) == 1  # one rotation, the rest got it again within grace


async def test_unary_refresh_tokens_are_stored_hashed(
    server: RunningServer, channel: grpc.aio.Channel, stub: auth_service_pb2_grpc.AuthServiceStub
) -> None:
    tokens = await signed_up(channel, "hashed@example.org")
    async with session_factory(server.engine)() as session:
        rows = list(await session.scalars(select(RefreshToken)))
    assert len(rows) == 1
    assert tokens.refresh_token not in repr([(r.token_hash, r.id) for r in rows])
    assert len(tokens.refresh_token) >= 43  # 32 random bytes, base64url


@pytest.mark.both_databases
async def test_unary_absolute_lifetime(serving: Serving, settings_factory: SettingsFactory) -> None:
    clock = Clock()
    async with serving(settings_factory(REFRESH_TOKEN_TTL_SECONDS=2), clock=clock) as (_, channel):
        stub = auth_service_pb2_grpc.AuthServiceStub(channel)
        first = await signed_up(channel, "short.life@example.org")
        second = await refresh(stub, first.refresh_token)  # rotation does not extend the family
        assert second.refresh_expires_in <= 2
        clock.advance(2.2)
        await assert_refused(stub, second.refresh_token)
        await assert_access(stub, second.access_token, grpc.StatusCode.UNAUTHENTICATED)


@pytest.mark.parametrize("token", ["x", "not-a-token" * 10, "ä" * 40, "A" * 43])
async def test_unary_unknown_refresh_token(stub: auth_service_pb2_grpc.AuthServiceStub, token: str) -> None:
    await assert_refused(stub, token)
