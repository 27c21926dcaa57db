"""State that must hold across instances, because it lives in Redis or PostgreSQL and not in a process
(issue 15): each test calls the instances directly, one after another, on their own ports.

- a rate limit (ExportMyData, 6 per principal and minute here) counted over all instances;
- the login lockout (5 failures lock the account) counted over all instances;
- a refresh token rotated on one instance and replayed on another is reuse: the family is revoked;
- an access token revoked (Logout) on one instance is refused by every other at once.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import grpc
import pytest
from wuffchat.auth.v1 import auth_service_pb2 as auth_pb
from wuffchat.auth.v1 import auth_service_pb2_grpc

from scripts.fleet import Fleet
from tests.fleet.conftest import EXPORT_LIMIT
from tests.support.auth import PASSWORD, bearer, register, signed_up, solved_captcha

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


@pytest.fixture
async def instances(fleet: Fleet) -> AsyncIterator[list[grpc.aio.Channel]]:
    """One channel per instance, straight to its port."""
    channels = [
        grpc.aio.insecure_channel(f"127.0.0.1:{i.port}", options=[("grpc.enable_retries", 0)]) for i in fleet.instances
    ]
    yield channels
    for channel in channels:
        await channel.close()


def _email(name: str) -> str:
    return f"{name}-{time.monotonic_ns()}@example.org"


async def _code(call: object) -> grpc.StatusCode:
    try:
        await call  # type: ignore[misc]
    except grpc.aio.AioRpcError as error:
        return error.code()
    return grpc.StatusCode.OK


async def _export(channel: grpc.aio.Channel, access_token: str) -> grpc.StatusCode:
    stub = auth_service_pb2_grpc.AuthServiceStub(channel)
    return await _code(stub.ExportMyData(auth_pb.ExportMyDataRequest(), metadata=bearer(access_token)))


async def test_unary_a_rate_limit_counts_calls_on_every_instance(instances: list[grpc.aio.Channel]) -> None:
    # Another principal first: every instance has its Redis connection before the counted calls (a
    # first connection slower than the limiter's Redis timeout would count in memory, README Operations).
    other = await signed_up(instances[0], _email("warm"))
    assert [await _export(channel, other.access_token) for channel in instances] == [grpc.StatusCode.OK] * 3
    tokens = await signed_up(instances[0], _email("limit"))
    codes = []
    for n in range(EXPORT_LIMIT + 3):  # round robin over the instances by hand
        codes.append(await _export(instances[n % len(instances)], tokens.access_token))
    print(f"\nExportMyData x{len(codes)} over {len(instances)} instances: {[c.name for c in codes]}")
    # In-process counting would admit EXPORT_LIMIT calls per instance, all of these.
    assert codes == [grpc.StatusCode.OK] * EXPORT_LIMIT + [grpc.StatusCode.RESOURCE_EXHAUSTED] * 3


async def _login(channel: grpc.aio.Channel, email: str, password: str) -> grpc.StatusCode:
    stub = auth_service_pb2_grpc.AuthServiceStub(channel)
    request = auth_pb.LoginRequest(email=email, password=password, captcha=await solved_captcha(stub))
    return await _code(stub.Login(request))


async def test_unary_a_lockout_counts_failures_on_every_instance(instances: list[grpc.aio.Channel]) -> None:
    email = _email("lockout")
    await register(instances[0], email)
    assert await _login(instances[1], email, PASSWORD) == grpc.StatusCode.OK
    failures = [await _login(instances[n % 3], email, "not the password at all") for n in range(5)]  # 0 1 2 0 1
    locked = await _login(instances[2], email, PASSWORD)  # the right password, on an instance that saw 1 failure
    print(f"\n5 failed logins over 3 instances: {[c.name for c in failures]}; then the password: {locked.name}")
    assert failures == [grpc.StatusCode.UNAUTHENTICATED] * 5
    assert locked == grpc.StatusCode.UNAUTHENTICATED  # the account is locked (the same answer as a wrong password)


async def test_unary_a_refresh_token_replayed_on_another_instance_revokes_the_session(
    instances: list[grpc.aio.Channel],
) -> None:
    first = await signed_up(instances[0], _email("reuse"))
    stubs = [auth_service_pb2_grpc.AuthServiceStub(c) for c in instances]
    rotated = await stubs[1].RefreshToken(auth_pb.RefreshTokenRequest(refresh_token=first.refresh_token))
    replay = await _code(stubs[2].RefreshToken(auth_pb.RefreshTokenRequest(refresh_token=first.refresh_token)))
    # Reuse revokes the whole family: the successor is dead too, and so is its access token.
    successor = await _code(
        stubs[0].RefreshToken(auth_pb.RefreshTokenRequest(refresh_token=rotated.tokens.refresh_token))
    )
    access = await _code(stubs[1].GetProfile(auth_pb.GetProfileRequest(), metadata=bearer(rotated.tokens.access_token)))
    print(f"\nrotated on 1, replayed on 2: {replay.name}; successor on 0: {successor.name}; access on 1: {access.name}")
    assert replay == grpc.StatusCode.UNAUTHENTICATED
    assert successor == grpc.StatusCode.UNAUTHENTICATED
    assert access == grpc.StatusCode.UNAUTHENTICATED


async def test_unary_a_token_revoked_on_one_instance_is_refused_by_all_within_a_second(
    instances: list[grpc.aio.Channel],
) -> None:
    tokens = await signed_up(instances[0], _email("revoke"))
    stubs = [auth_service_pb2_grpc.AuthServiceStub(c) for c in instances]
    who = bearer(tokens.access_token)
    before = [await _code(stub.GetProfile(auth_pb.GetProfileRequest(), metadata=who)) for stub in stubs]
    await stubs[0].Logout(auth_pb.LogoutRequest(refresh_token=tokens.refresh_token), metadata=who)
    logged_out = time.monotonic()
    after = [await _code(stub.GetProfile(auth_pb.GetProfileRequest(), metadata=who)) for stub in stubs[1:]]
    elapsed = time.monotonic() - logged_out
    refresh = await _code(stubs[2].RefreshToken(auth_pb.RefreshTokenRequest(refresh_token=tokens.refresh_token)))
    print(
        f"\nbefore Logout: {[c.name for c in before]}; after, on 1 and 2: {[c.name for c in after]} in {elapsed:.3f} s"
    )
    assert before == [grpc.StatusCode.OK] * len(stubs)
    assert after == [grpc.StatusCode.UNAUTHENTICATED] * (len(stubs) - 1)
    assert elapsed < 1.0
    assert refresh == grpc.StatusCode.UNAUTHENTICATED
