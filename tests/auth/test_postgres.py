"""The whole auth flow on a real PostgreSQL: locking (FOR UPDATE), cascades and constraints differ from SQLite."""

from __future__ import annotations

import asyncio

import grpc
import pytest
from sqlalchemy import func, select
from wuffchat.auth.v1 import auth_service_pb2 as pb
from wuffchat.auth.v1 import auth_service_pb2_grpc

from server.storage.db import session_factory
from server.storage.models import AuditEvent, User
from tests.auth.conftest import Serving
from tests.conftest import SettingsFactory
from tests.support.auth import PASSWORD, bearer, login, signed_up, solved_captcha
from tests.support.clock import Clock

pytestmark = pytest.mark.postgres


async def test_unary_flow_on_postgres(
    serving: Serving, settings_factory: SettingsFactory, postgres_url: str, clock: Clock
) -> None:
    settings = settings_factory(DATABASE_URL=postgres_url, REFRESH_GRACE_SECONDS=0, LOGIN_LOCKOUT_SECONDS=60)
    async with serving(settings) as (running, channel):
        stub = auth_service_pb2_grpc.AuthServiceStub(channel)
        first = await signed_up(channel, "pg.user@example.org")
        second = (await stub.RefreshToken(pb.RefreshTokenRequest(refresh_token=first.refresh_token))).tokens
        clock.advance(1)  # past the grace window (none)
        with pytest.raises(grpc.aio.AioRpcError):  # reuse
            await stub.RefreshToken(pb.RefreshTokenRequest(refresh_token=first.refresh_token))
        with pytest.raises(grpc.aio.AioRpcError) as err:  # the family is gone
            await stub.GetProfile(pb.GetProfileRequest(), metadata=bearer(second.access_token))
        assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED

        # concurrent wrong passwords are all counted (row lock), so the sixth attempt meets a locked account
        requests = [
            pb.LoginRequest(email="pg.user@example.org", password=f"wrong {i}", captcha=await solved_captcha(stub))
            for i in range(5)
        ]
        results = await asyncio.gather(*(stub.Login(r) for r in requests), return_exceptions=True)
        assert all(isinstance(r, grpc.aio.AioRpcError) for r in results)
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await login(channel, "pg.user@example.org")
        assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED

        other = await signed_up(channel, "pg.leaver@example.org")
        await stub.DeleteAccount(pb.DeleteAccountRequest(password=PASSWORD), metadata=bearer(other.access_token))
        async with session_factory(running.engine)() as session:
            users = await session.scalar(select(func.count()).select_from(User))
            events = {e.event for e in await session.scalars(select(AuditEvent))}
        assert users == 1
        assert {"authn_token_reuse", "authn_login_lock", "user_deleted"} <= events
