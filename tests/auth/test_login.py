"""Login at the gRPC boundary: one answer for every failure, lockout and recovery, IP throttle, rehash."""

from __future__ import annotations

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from sqlalchemy import select
from wuffchat.auth.v1 import auth_service_pb2 as pb
from wuffchat.auth.v1 import auth_service_pb2_grpc

from server.app import RunningServer
from server.storage import sealing
from server.storage.db import session_factory
from server.storage.models import AuditEvent, User
from tests.auth.conftest import Serving
from tests.conftest import SettingsFactory
from tests.support.auth import PASSWORD, login, register, solved_captcha
from tests.support.clock import Clock


async def failed_login(
    stub: auth_service_pb2_grpc.AuthServiceStub, email: str, password: str, language: str = "de"
) -> grpc.aio.AioRpcError:
    request = pb.LoginRequest(email=email, password=password, captcha=await solved_captcha(stub))
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.Login(request, metadata=(("accept-language", language),))
    return err.value


def answer(err: grpc.aio.AioRpcError) -> tuple[object, ...]:
    """Everything a client sees of a failed call except what changes with every call anyway
    (the request id, and the rate-limit counters, which count calls whatever the account)."""
    per_call = {"x-request-id", "x-ratelimit-remaining", "x-ratelimit-reset"}
    trailing = tuple((k, v) for k, v in err.trailing_metadata() or () if k not in per_call)
    return err.code(), err.details().encode(), trailing


async def events(running: RunningServer, name: str) -> list[AuditEvent]:
    async with session_factory(running.engine)() as session:
        return list(await session.scalars(select(AuditEvent).where(AuditEvent.event == name)))


@pytest.mark.parametrize("language", ["de", "en"])
async def test_unary_wrong_password_and_unknown_email_answer_identically(
    channel: grpc.aio.Channel, stub: auth_service_pb2_grpc.AuthServiceStub, language: str
) -> None:
    await register(channel, "known@example.org")
    wrong_password = await failed_login(stub, "known@example.org", "not the password", language)
    unknown_email = await failed_login(stub, "unknown@example.org", "not the password", language)
    malformed_email = await failed_login(stub, "no email at all", "not the password", language)
    assert wrong_password.code() == grpc.StatusCode.UNAUTHENTICATED
    assert answer(wrong_password) == answer(unknown_email) == answer(malformed_email)


@pytest.mark.both_databases
async def test_unary_lockout_after_5_failures_then_recovery(
    serving: Serving, settings_factory: SettingsFactory
) -> None:
    clock = Clock()
    async with serving(settings_factory(LOGIN_LOCKOUT_SECONDS=1.0), clock=clock) as (running, channel):
        stub = auth_service_pb2_grpc.AuthServiceStub(channel)
        await register(channel, "target@example.org")
        reference = answer(await failed_login(stub, "target@example.org", "guess 1"))
        for attempt in range(2, 6):
            assert answer(await failed_login(stub, "target@example.org", f"guess {attempt}")) == reference
        # locked: even the right password gets the same answer as any failure
        assert answer(await failed_login(stub, "target@example.org", PASSWORD)) == reference
        [lock] = await events(running, "authn_login_lock")
        assert lock.details == {"scope": "account", "failures": 5}
        clock.advance(1.2)
        assert (await login(channel, "target@example.org")).access_token


@pytest.mark.both_databases
async def test_unary_ip_throttle(serving: Serving, settings_factory: SettingsFactory) -> None:
    async with serving(settings_factory(LOGIN_MAX_FAILURES_PER_IP=3, LOGIN_LOCKOUT_SECONDS=60)) as (running, channel):
        stub = auth_service_pb2_grpc.AuthServiceStub(channel)
        for i in range(3):  # different accounts, same address
            await failed_login(stub, f"spray{i}@example.org", "Sommerregen")
        err = await failed_login(stub, "spray9@example.org", "Sommerregen")
        assert err.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        status = rpc_status.from_call(err)  # type: ignore[arg-type]
        assert status is not None
        retry = error_details_pb2.RetryInfo()
        assert status.details[0].Unpack(retry)
        assert 0 < retry.retry_delay.seconds <= 60
        assert err.trailing_metadata()["retry-after"] == str(retry.retry_delay.seconds)
        assert [e.details["scope"] for e in await events(running, "authn_login_lock")] == ["ip"]


async def test_unary_login_rehashes_with_new_parameters(serving: Serving, settings_factory: SettingsFactory) -> None:
    async with serving(settings_factory(ARGON2_TIME_COST=1)) as (_, channel):
        await register(channel, "old.hash@example.org")
    async with serving(settings_factory(ARGON2_TIME_COST=2)) as (running, channel):
        await login(channel, "old.hash@example.org")
        async with session_factory(running.engine)() as session:
            index = sealing.cipher_of(running.engine).blind("old.hash@example.org")  # the email itself is sealed
            user = (await session.scalars(select(User).where(User.email_index == index))).one()
        assert user.password_hash.startswith("$argon2id$") and ",t=2," in user.password_hash
        [success] = await events(running, "authn_login_success")
        assert success.details == {"rehashed": True}


async def test_unary_audit_never_holds_email_or_password(
    server: RunningServer, channel: grpc.aio.Channel, stub: auth_service_pb2_grpc.AuthServiceStub
) -> None:
    await register(channel, "private.person@example.org")
    await failed_login(stub, "private.person@example.org", "secret guess")
    await login(channel, "private.person@example.org")
    async with session_factory(server.engine)() as session:
        rows = list(await session.scalars(select(AuditEvent)))
    assert {r.event for r in rows} >= {"user_created", "authn_login_fail", "authn_login_success", "session_created"}
    dump = repr([(r.principal, r.details) for r in rows])
    assert "private.person" not in dump and "secret guess" not in dump and PASSWORD not in dump
