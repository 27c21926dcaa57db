"""Password policy (NIST 800-63B) and email rules at the gRPC boundary, and the bundled password list."""

from __future__ import annotations

import grpc
import pytest
from wuffchat.auth.v1 import auth_service_pb2 as pb
from wuffchat.auth.v1 import auth_service_pb2_grpc

from scripts import make_common_passwords
from server.auth.passwords import COMMON_PASSWORDS
from tests.auth.conftest import field_violations
from tests.support.auth import login, solved_captcha


async def register(stub: auth_service_pb2_grpc.AuthServiceStub, email: str, password: str) -> pb.RegisterResponse:
    return await stub.Register(pb.RegisterRequest(email=email, password=password, captcha=await solved_captcha(stub)))


@pytest.mark.parametrize(
    ("password", "message_part"),
    [
        ("kurz123", None),  # 7 characters (the proto's rule says so too; its wording may come first)
        ("x" * 129, None),
        ("passwort123", "verbreitet"),
        ("Sommer2024", "verbreitet"),  # compared case-insensitively
        ("qwertzuiop", "verbreitet"),
        ("Fido.Owner@Example.org", "E-Mail-Adresse"),
        ("fido.owner", "E-Mail-Adresse"),  # the local part alone
    ],
)
async def test_unary_register_rejects_password(
    stub: auth_service_pb2_grpc.AuthServiceStub, password: str, message_part: str | None
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await register(stub, "fido.owner@example.org", password)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    violations = field_violations(err.value)
    assert list(violations) == ["password"]
    assert message_part is None or message_part in violations["password"]


@pytest.mark.parametrize("password", ["achtzehn", "y" * 128, "🐕🐕🐕🐕🐕🐕🐕🐕", "dein hund weiß es besser"])
async def test_unary_register_accepts_any_composition(
    channel: grpc.aio.Channel, stub: auth_service_pb2_grpc.AuthServiceStub, password: str
) -> None:
    assert (await register(stub, "free.choice@example.org", password)).user_id
    assert (await login(channel, "free.choice@example.org", password)).access_token


async def test_unary_password_is_nfkc_normalized(
    channel: grpc.aio.Channel, stub: auth_service_pb2_grpc.AuthServiceStub
) -> None:
    full_width = "".join(chr(ord(c) + 0xFEE0) for c in "Fullwidth")  # U+FF26 ...: the same letters, full-width
    await register(stub, "unicode@example.org", f"{full_width} Hund")
    assert (await login(channel, "unicode@example.org", "Fullwidth Hund")).access_token


async def test_unary_english_messages(stub: auth_service_pb2_grpc.AuthServiceStub) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.Register(
            pb.RegisterRequest(email="en@example.org", password="iloveyou2024", captcha=await solved_captcha(stub)),
            metadata=(("accept-language", "en"),),
        )
    assert err.value.details() == "The request is invalid."
    assert "too common" in field_violations(err.value)["password"]


@pytest.mark.parametrize("email", ["not-an-email", "a@b", "x" * 250 + "@example.org", "two@@example.org"])
async def test_unary_register_rejects_email(stub: auth_service_pb2_grpc.AuthServiceStub, email: str) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await register(stub, email, "Hundeleine im Regen")
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert list(field_violations(err.value)) == ["email"]


async def test_unary_register_same_email_twice(stub: auth_service_pb2_grpc.AuthServiceStub) -> None:
    await register(stub, "taken@example.org", "Hundeleine im Regen")
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await register(stub, "Taken@EXAMPLE.org", "Ganz anderes Passwort")  # same address, other case
    assert err.value.code() == grpc.StatusCode.ALREADY_EXISTS


def test_common_password_file_is_the_scripts_output() -> None:
    text = COMMON_PASSWORDS.read_text(encoding="utf-8")
    assert text == make_common_passwords.render()
    entries = text.splitlines()
    assert len(entries) >= 10_000
    assert all(8 <= len(e) <= 128 and e == e.lower() for e in entries)
    assert {"passwort", "password1", "12345678", "qwertzuiop", "hallo123", "iloveyou"} <= set(entries)
