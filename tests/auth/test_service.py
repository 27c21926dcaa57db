"""AuthService end to end on a real port: register, login, profile, refresh, logout."""

from __future__ import annotations

import grpc
import pytest
from wuffchat.auth.v1 import auth_service_pb2 as pb
from wuffchat.auth.v1 import auth_service_pb2_grpc

from tests.auth.conftest import field_violations
from tests.support.auth import PASSWORD, api_key, bearer, login, register, signed_up


@pytest.mark.both_databases
async def test_unary_register_login_refresh_logout(
    channel: grpc.aio.Channel, stub: auth_service_pb2_grpc.AuthServiceStub
) -> None:
    user_id = await register(channel, "Bello.Owner@Example.COM")
    tokens = await login(channel, "bello.owner@example.com")
    assert tokens.token_type == "Bearer"
    assert tokens.access_expires_in == 15 * 60
    assert 30 * 86400 - 5 <= tokens.refresh_expires_in <= 30 * 86400

    profile = await stub.GetProfile(pb.GetProfileRequest(), metadata=bearer(tokens.access_token))
    assert (profile.user_id, profile.email, list(profile.roles)) == (user_id, "bello.owner@example.com", ["user"])

    rotated = (await stub.RefreshToken(pb.RefreshTokenRequest(refresh_token=tokens.refresh_token))).tokens
    assert rotated.refresh_token != tokens.refresh_token
    assert rotated.access_token != tokens.access_token
    assert (await stub.GetProfile(pb.GetProfileRequest(), metadata=bearer(rotated.access_token))).user_id == user_id

    await stub.Logout(pb.LogoutRequest(refresh_token=rotated.refresh_token), metadata=bearer(rotated.access_token))
    for access in (tokens.access_token, rotated.access_token):
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await stub.GetProfile(pb.GetProfileRequest(), metadata=bearer(access))
        assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.RefreshToken(pb.RefreshTokenRequest(refresh_token=rotated.refresh_token))
    assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED


@pytest.mark.both_databases
async def test_unary_logout_ends_only_this_session_unless_all(
    channel: grpc.aio.Channel, stub: auth_service_pb2_grpc.AuthServiceStub
) -> None:
    first = await signed_up(channel, "two.sessions@example.org")
    second = await login(channel, "two.sessions@example.org")
    third = await login(channel, "two.sessions@example.org")

    await stub.Logout(pb.LogoutRequest(), metadata=bearer(first.access_token))
    with pytest.raises(grpc.aio.AioRpcError):
        await stub.GetProfile(pb.GetProfileRequest(), metadata=bearer(first.access_token))
    await stub.GetProfile(pb.GetProfileRequest(), metadata=bearer(second.access_token))

    await stub.Logout(pb.LogoutRequest(all_sessions=True), metadata=bearer(second.access_token))
    for pair in (second, third):
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await stub.GetProfile(pb.GetProfileRequest(), metadata=bearer(pair.access_token))
        assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await stub.RefreshToken(pb.RefreshTokenRequest(refresh_token=pair.refresh_token))
        assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED


@pytest.mark.both_databases
async def test_unary_change_password_ends_other_sessions(
    channel: grpc.aio.Channel, stub: auth_service_pb2_grpc.AuthServiceStub
) -> None:
    here = await signed_up(channel, "mover@example.org")
    elsewhere = await login(channel, "mover@example.org")
    new_password = "Waldspaziergang mit Struppi"

    await stub.ChangePassword(
        pb.ChangePasswordRequest(current_password=PASSWORD, new_password=new_password),
        metadata=bearer(here.access_token),
    )
    await stub.GetProfile(pb.GetProfileRequest(), metadata=bearer(here.access_token))
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.GetProfile(pb.GetProfileRequest(), metadata=bearer(elsewhere.access_token))
    assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await login(channel, "mover@example.org", PASSWORD)
    assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert (await login(channel, "mover@example.org", new_password)).access_token


async def test_unary_change_password_wrong_current_or_weak_new(
    channel: grpc.aio.Channel, stub: auth_service_pb2_grpc.AuthServiceStub
) -> None:
    tokens = await signed_up(channel, "careful@example.org")
    for request, field in [
        (
            pb.ChangePasswordRequest(current_password="not my password", new_password="Katzenklo am Morgen"),
            "current_password",
        ),
        (pb.ChangePasswordRequest(current_password=PASSWORD, new_password="passwort123"), "new_password"),
    ]:
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await stub.ChangePassword(request, metadata=bearer(tokens.access_token))
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert list(field_violations(err.value)) == [field]
    assert (await login(channel, "careful@example.org")).access_token  # old password still valid


async def test_unary_user_rpcs_refuse_api_keys(stub: auth_service_pb2_grpc.AuthServiceStub) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.GetProfile(pb.GetProfileRequest(), metadata=api_key())
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED


@pytest.mark.parametrize(
    "method",
    ["GetProfile", "Logout", "ChangePassword", "ExportMyData", "DeleteAccount"],
)
async def test_unary_private_rpcs_need_credentials(stub: auth_service_pb2_grpc.AuthServiceStub, method: str) -> None:
    request_type = getattr(pb, f"{method}Request")
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await getattr(stub, method)(request_type())
    assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
