"""Access tokens at the gRPC boundary: every forged, stale or misused JWT is UNAUTHENTICATED.

Each attack starts from a real login and changes one thing; a control case signs the unchanged
claims with the real key and must pass, so a failure is caused by the change under test.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import grpc
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat
from wuffchat.auth.v1 import auth_service_pb2 as pb
from wuffchat.auth.v1 import auth_service_pb2_grpc

from server.auth.tokens import LEEWAY_SECONDS, key_id
from tests.auth.conftest import Serving
from tests.conftest import SettingsFactory
from tests.support.auth import bearer, signed_up
from tests.support.clock import Clock

SECRET = b"tests-only: a 32+ byte HS256 secret for forging"
HS_KID = key_id(SECRET, "hs")


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def claims_of(token: str) -> dict[str, Any]:
    return dict(jwt.decode(token, options={"verify_signature": False}))


def hs256(claims: dict[str, Any], *, key: bytes = SECRET, kid: str = HS_KID) -> str:
    return jwt.encode(claims, key, algorithm="HS256", headers={"kid": kid})


def handmade(header: dict[str, Any], claims: dict[str, Any], sign: Callable[[bytes], bytes]) -> str:
    """A JWT built by hand, for what PyJWT refuses to produce (e.g. an HMAC keyed with a public key)."""
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
    return f"{signing_input}.{b64(sign(signing_input.encode()))}"


@pytest.fixture
async def hs_session(
    serving: Serving, settings_factory: SettingsFactory
) -> AsyncIterator[tuple[grpc.aio.Channel, dict[str, Any]]]:
    async with serving(settings_factory(SECRET_KEY=SECRET)) as (_, channel):
        tokens = await signed_up(channel, "jwt.target@example.org")
        yield channel, claims_of(tokens.access_token)


async def profile_code(channel: grpc.aio.Channel, token: str) -> grpc.StatusCode:
    stub = auth_service_pb2_grpc.AuthServiceStub(channel)
    try:
        await stub.GetProfile(pb.GetProfileRequest(), metadata=bearer(token))
    except grpc.aio.AioRpcError as err:
        assert err.details() == "Bitte melde dich an." or err.code() != grpc.StatusCode.UNAUTHENTICATED
        return err.code()
    return grpc.StatusCode.OK


def now() -> int:
    return int(time.time())


ATTACKS: dict[str, Callable[[dict[str, Any]], str]] = {
    "alg_none": lambda c: jwt.encode(c, None, algorithm="none", headers={"kid": HS_KID}),
    "alg_none_handmade": lambda c: handmade({"alg": "none", "kid": HS_KID, "typ": "JWT"}, c, lambda _: b""),
    "wrong_key": lambda c: hs256(c, key=b"an attacker's guess of 32+ bytes!!"),
    "wrong_aud": lambda c: hs256({**c, "aud": "someone-else"}),
    "aud_list": lambda c: hs256({**c, "aud": [c["aud"], "other"]}),
    "wrong_iss": lambda c: hs256({**c, "iss": "https://evil.example"}),
    "expired": lambda c: hs256({**c, "iat": now() - 3600, "nbf": now() - 3600, "exp": now() - 60}),
    "not_yet_valid": lambda c: hs256({**c, "nbf": now() + 120}),
    "unknown_kid": lambda c: hs256(c, kid="hs-0000000000000000"),
    "no_kid": lambda c: jwt.encode(c, SECRET, algorithm="HS256"),
    "missing_jti": lambda c: hs256({k: v for k, v in c.items() if k != "jti"}),
    "missing_exp": lambda c: hs256({k: v for k, v in c.items() if k != "exp"}),
    "refresh_typ": lambda c: hs256({**c, "typ": "refresh"}),
    "other_session": lambda c: hs256({**c, "sid": "0" * 32}),
    "other_subject": lambda c: hs256({**c, "sub": "0" * 32}),
    "hs512": lambda c: jwt.encode(c, SECRET * 2, algorithm="HS512", headers={"kid": HS_KID}),
    "eddsa_with_hs_kid": lambda c: jwt.encode(
        c, Ed25519PrivateKey.generate(), algorithm="EdDSA", headers={"kid": HS_KID}
    ),
}


async def test_unary_control_forged_with_real_key_passes(hs_session: tuple[grpc.aio.Channel, dict[str, Any]]) -> None:
    channel, claims = hs_session
    assert await profile_code(channel, hs256(claims)) == grpc.StatusCode.OK


@pytest.mark.parametrize("attack", sorted(ATTACKS))
async def test_unary_attack_is_unauthenticated(
    hs_session: tuple[grpc.aio.Channel, dict[str, Any]], attack: str
) -> None:
    channel, claims = hs_session
    assert await profile_code(channel, ATTACKS[attack](claims)) == grpc.StatusCode.UNAUTHENTICATED


async def test_unary_tampered_payload(serving: Serving, settings_factory: SettingsFactory) -> None:
    async with serving(settings_factory(SECRET_KEY=SECRET)) as (_, channel):
        token = (await signed_up(channel, "tamper@example.org")).access_token
        header, _, signature = token.split(".")
        payload = {**claims_of(token), "roles": ["admin", "user"]}
        tampered = f"{header}.{b64(json.dumps(payload).encode())}.{signature}"
        assert await profile_code(channel, token) == grpc.StatusCode.OK
        assert await profile_code(channel, tampered) == grpc.StatusCode.UNAUTHENTICATED


async def test_unary_refresh_token_is_no_access_token(hs_session: tuple[grpc.aio.Channel, dict[str, Any]]) -> None:
    channel, _ = hs_session
    tokens = await signed_up(channel, "refresh.misuse@example.org")
    assert await profile_code(channel, tokens.refresh_token) == grpc.StatusCode.UNAUTHENTICATED


async def test_unary_revoked_jti(hs_session: tuple[grpc.aio.Channel, dict[str, Any]]) -> None:
    channel, _ = hs_session
    tokens = await signed_up(channel, "revoked@example.org")
    stub = auth_service_pb2_grpc.AuthServiceStub(channel)
    await stub.Logout(pb.LogoutRequest(), metadata=bearer(tokens.access_token))
    assert await profile_code(channel, tokens.access_token) == grpc.StatusCode.UNAUTHENTICATED


@pytest.mark.parametrize(
    "header", ["Basic dXNlcjpwYXNz", "Bearer", "Bearer ", "bearer not.a.jwt", "Token abc", "Bearer a.b"]
)
async def test_unary_malformed_authorization(hs_session: tuple[grpc.aio.Channel, dict[str, Any]], header: str) -> None:
    channel, _ = hs_session
    stub = auth_service_pb2_grpc.AuthServiceStub(channel)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.GetProfile(pb.GetProfileRequest(), metadata=(("authorization", header),))
    assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_unary_eddsa_and_hs_confusion(serving: Serving, settings_factory: SettingsFactory, tmp_path: Any) -> None:
    private = Ed25519PrivateKey.generate()
    private_pem = private.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    public_pem = private.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    (tmp_path / "jwt.pem").write_bytes(private_pem)
    settings = settings_factory(JWT_ALGORITHM="EdDSA", JWT_PRIVATE_KEY_FILE=tmp_path / "jwt.pem", SECRET_KEY=SECRET)
    async with serving(settings) as (_, channel):
        token = (await signed_up(channel, "eddsa@example.org")).access_token
        header = jwt.get_unverified_header(token)
        claims = claims_of(token)
        assert header["alg"] == "EdDSA"
        assert await profile_code(channel, token) == grpc.StatusCode.OK
        assert await profile_code(channel, jwt.encode(claims, private, algorithm="EdDSA", headers=header)) == (
            grpc.StatusCode.OK
        )
        # the classic confusion: HMAC keyed with the (public) verification key
        for key in (public_pem, private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)):
            confused = handmade(
                {"alg": "HS256", "kid": header["kid"], "typ": "JWT"},
                claims,
                lambda data, key=key: hmac.new(key, data, hashlib.sha256).digest(),
            )
            assert await profile_code(channel, confused) == grpc.StatusCode.UNAUTHENTICATED
        # HS256 with the server's own SECRET_KEY (used for CAPTCHAs) is no JWT key under EdDSA
        assert await profile_code(channel, hs256(claims)) == grpc.StatusCode.UNAUTHENTICATED
        # a foreign Ed25519 key under our kid
        foreign = jwt.encode(claims, Ed25519PrivateKey.generate(), algorithm="EdDSA", headers=header)
        assert await profile_code(channel, foreign) == grpc.StatusCode.UNAUTHENTICATED


async def test_unary_key_rotation_old_key_verifies_new_key_signs(
    serving: Serving, settings_factory: SettingsFactory
) -> None:
    new_secret = b"the next HS256 secret, also 32+ bytes long"
    async with serving(settings_factory(SECRET_KEY=SECRET)) as (_, channel):
        old_token = (await signed_up(channel, "rotation@example.org")).access_token
    async with serving(settings_factory(SECRET_KEY=new_secret, SECRET_KEY_PREVIOUS=(SECRET,))) as (_, channel):
        assert await profile_code(channel, old_token) == grpc.StatusCode.OK
        new_token = (await signed_up(channel, "rotation2@example.org")).access_token
        assert jwt.get_unverified_header(new_token)["kid"] == key_id(new_secret, "hs")
    async with serving(settings_factory(SECRET_KEY=new_secret)) as (_, channel):
        assert await profile_code(channel, old_token) == grpc.StatusCode.UNAUTHENTICATED
        assert await profile_code(channel, new_token) == grpc.StatusCode.OK


async def test_unary_expiry_follows_the_server_clock(serving: Serving, settings_factory: SettingsFactory) -> None:
    """exp, nbf and iat are checked on the server's clock: the test moves it instead of sleeping."""
    clock = Clock()
    async with serving(settings_factory(ACCESS_TOKEN_TTL_SECONDS=60), clock=clock) as (_, channel):
        token = (await signed_up(channel, "clock@example.org")).access_token
        clock.advance(60 + LEEWAY_SECONDS - 1)
        assert await profile_code(channel, token) == grpc.StatusCode.OK  # within the leeway
        clock.advance(1)
        assert await profile_code(channel, token) == grpc.StatusCode.UNAUTHENTICATED
        clock.advance(-3600)  # before the token was issued: not yet valid
        assert await profile_code(channel, token) == grpc.StatusCode.UNAUTHENTICATED
        fresh = (await signed_up(channel, "clock2@example.org")).access_token
        assert await profile_code(channel, fresh) == grpc.StatusCode.OK
