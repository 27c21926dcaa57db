"""The proof-of-work CAPTCHA on a real port: solvable, and refused when missing, wrong, expired or replayed."""

from __future__ import annotations

import hashlib

import grpc
import pytest
from wuffchat.auth.v1 import auth_service_pb2 as pb
from wuffchat.auth.v1 import auth_service_pb2_grpc
from wuffchat_client.captcha import CaptchaUnsolvableError, solve_captcha

from tests.auth.conftest import Serving, field_violations
from tests.conftest import SettingsFactory
from tests.support.auth import PASSWORD, solved_captcha
from tests.support.clock import Clock


def register_request(email: str, captcha: pb.CaptchaSolution | None) -> pb.RegisterRequest:
    request = pb.RegisterRequest(email=email, password=PASSWORD)
    if captcha is not None:
        request.captcha.CopyFrom(captcha)
    return request


async def assert_captcha_refused(stub: auth_service_pb2_grpc.AuthServiceStub, request: pb.RegisterRequest) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.Register(request)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert list(field_violations(err.value)) == ["captcha"]


async def test_unary_get_captcha_is_a_webcrypto_style_challenge(stub: auth_service_pb2_grpc.AuthServiceStub) -> None:
    c = await stub.GetCaptcha(pb.GetCaptchaRequest())
    assert (c.algorithm, c.max_number) == ("SHA-256", 1000)
    number = solve_captcha(c.challenge, c.salt, c.max_number)
    # what a browser computes: crypto.subtle.digest("SHA-256", salt + String(number)), hex
    assert hashlib.sha256(f"{c.salt}{number}".encode()).hexdigest() == c.challenge
    assert c.salt.endswith(f"?expires={c.expires_at}&")  # the parameters end with a delimiter
    assert len(c.signature) == 64


def test_solver_refuses_foreign_algorithm_and_unsolvable() -> None:
    with pytest.raises(CaptchaUnsolvableError):
        solve_captcha("00" * 32, "salt", 10, algorithm="SHA-1")
    with pytest.raises(CaptchaUnsolvableError):
        solve_captcha("00" * 32, "salt", 10)


async def test_unary_missing_captcha(stub: auth_service_pb2_grpc.AuthServiceStub) -> None:
    await assert_captcha_refused(stub, register_request("nocaptcha@example.org", None))


async def test_unary_wrong_number(stub: auth_service_pb2_grpc.AuthServiceStub) -> None:
    solution = await solved_captcha(stub)
    solution.number = (solution.number + 1) % 1001
    await assert_captcha_refused(stub, register_request("wrong@example.org", solution))


async def test_unary_forged_signature(stub: auth_service_pb2_grpc.AuthServiceStub) -> None:
    # a self-made challenge with a made-up signature: solvable, but not ours
    salt = "deadbeef?expires=9999999999"
    forged = pb.CaptchaSolution(
        algorithm="SHA-256",
        challenge=hashlib.sha256(f"{salt}7".encode()).hexdigest(),
        salt=salt,
        number=7,
        signature="ab" * 32,
    )
    await assert_captcha_refused(stub, register_request("forged@example.org", forged))


async def test_unary_extended_expiry_breaks_signature(stub: auth_service_pb2_grpc.AuthServiceStub) -> None:
    solution = await solved_captcha(stub)
    base, _, _ = solution.salt.partition("?expires=")
    solution.salt = f"{base}?expires=9999999999&"
    solution.challenge = hashlib.sha256(f"{solution.salt}{solution.number}".encode()).hexdigest()
    await assert_captcha_refused(stub, register_request("extended@example.org", solution))


async def test_unary_spliced_expiry_is_refused(stub: auth_service_pb2_grpc.AuthServiceStub) -> None:
    # moving the number's leading digit onto the salt keeps salt + number, so the challenge and its
    # signature stay valid, and the expiry would become ten times later (a stockpiled CAPTCHA)
    solution = await solved_captcha(stub)
    while solution.number < 10 or str(solution.number)[1] == "0":  # the rest must read back unchanged
        solution = await solved_captcha(stub)
    digits = str(solution.number)
    spliced = pb.CaptchaSolution()
    spliced.CopyFrom(solution)
    spliced.salt, spliced.number = solution.salt + digits[0], int(digits[1:])
    assert f"{spliced.salt}{spliced.number}" == f"{solution.salt}{solution.number}"
    await assert_captcha_refused(stub, register_request("spliced@example.org", spliced))
    await stub.Register(register_request("honest@example.org", solution))  # the true split still counts


async def test_unary_expired(serving: Serving, settings_factory: SettingsFactory) -> None:
    clock = Clock()
    async with serving(settings_factory(CAPTCHA_TTL_SECONDS=1), clock=clock) as (_, channel):
        stub = auth_service_pb2_grpc.AuthServiceStub(channel)
        solution = await solved_captcha(stub)
        clock.advance(2.1)
        await assert_captcha_refused(stub, register_request("late@example.org", solution))


@pytest.mark.both_databases
async def test_unary_replayed(stub: auth_service_pb2_grpc.AuthServiceStub) -> None:
    solution = await solved_captcha(stub)
    await stub.Register(register_request("first@example.org", solution))
    await assert_captcha_refused(stub, register_request("second@example.org", solution))
    with pytest.raises(grpc.aio.AioRpcError) as err:  # and the replay created no account
        await stub.Login(pb.LoginRequest(email="second@example.org", password=PASSWORD, captcha=solution))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_unary_login_needs_captcha_too(stub: auth_service_pb2_grpc.AuthServiceStub) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.Login(pb.LoginRequest(email="someone@example.org", password=PASSWORD))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert list(field_violations(err.value)) == ["captcha"]
