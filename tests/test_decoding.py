"""Request bodies that are not valid protobuf, on a real port: INVALID_ARGUMENT with the usual message,
nothing of the decoder in the answer, one per-call line, and counted by rate limiting."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, MutableMapping, Sequence
from typing import Any

import grpc
import pytest
import structlog
from google.protobuf.message import DecodeError
from wuffchat.auth.v1 import auth_service_pb2 as auth_pb
from wuffchat.conversation.v1 import conversation_service_pb2 as conv_pb

from server.app import RunningServer
from tests.auth.conftest import field_violations
from tests.support.auth import SERVICE_KEY, api_key, rate_limits
from tests.support.servers import Servers

LOGIN = "/wuffchat.auth.v1.AuthService/Login"
GET_CAPTCHA = "/wuffchat.auth.v1.AuthService/GetCaptcha"
STREAM_MESSAGE = "/wuffchat.conversation.v1.ConversationService/StreamMessage"
REQUEST_TYPES: dict[str, Any] = {
    LOGIN: auth_pb.LoginRequest,
    GET_CAPTCHA: auth_pb.GetCaptchaRequest,
    STREAM_MESSAGE: conv_pb.StreamMessageRequest,
}

INVALID_UTF8 = b"\x0a\x02\xff\xfe"  # field 1 (a string in both messages) holding 0xff 0xfe
TRUNCATED = b"\x0a\x05ab"  # field 1 announces 5 bytes, 2 follow
WRONG_WIRE_TYPE = b"\x0b"  # field 1 as a group start that never ends
FIELD_ZERO = b"\x00\x01"  # field number 0 does not exist
MALFORMED = {"invalid_utf8": INVALID_UTF8, "truncated": TRUNCATED, "wire_type": WRONG_WIRE_TYPE, "field_0": FIELD_ZERO}
LEAKS = ("DecodeError", "Error parsing", "wuffchat.", "Request", "protobuf", "Unexpected")


@pytest.fixture
def running(server: RunningServer) -> RunningServer:
    return server


async def _call_raw(port: int, method: str, body: bytes) -> grpc.aio.AioRpcError:
    """Send `body` as is (no serializer) and return the error the call ended with."""
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        metadata = (*api_key(SERVICE_KEY), ("accept-language", "en"))
        with pytest.raises(grpc.aio.AioRpcError) as err:
            if method == STREAM_MESSAGE:
                _ = [r async for r in channel.unary_stream(method)(body, metadata=metadata)]
            else:
                await channel.unary_unary(method)(body, metadata=metadata)
    return err.value


async def _until(condition: Callable[[], bool]) -> None:
    for _ in range(200):  # two seconds at most
        if condition():
            return
        await asyncio.sleep(0.01)


def _rpc_lines(logs: Sequence[MutableMapping[str, Any]], method: str) -> list[MutableMapping[str, Any]]:
    return [line for line in logs if line.get("event") == "rpc" and line.get("method") == method]


CASES = [
    pytest.param(method, body, id=f"{method.rsplit('/', 1)[1]}-{name}")
    for method in (LOGIN, STREAM_MESSAGE)
    for name, body in MALFORMED.items()
] + [
    pytest.param(GET_CAPTCHA, body, id=f"GetCaptcha-{name}")
    for name, body in MALFORMED.items()
    if body != INVALID_UTF8  # GetCaptchaRequest has no string field
]


@pytest.mark.parametrize(("method", "body"), CASES)
async def test_undecodable_body_is_invalid_argument_with_one_rpc_line(
    running: RunningServer, method: str, body: bytes
) -> None:
    with pytest.raises(DecodeError):  # the body really is undecodable for this method
        REQUEST_TYPES[method].FromString(body)
    with structlog.testing.capture_logs() as logs:
        err = await _call_raw(running.port, method, body)
        await _until(lambda: bool(_rpc_lines(logs, method)))  # written just after the status is sent
    assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert err.details() == "The request is invalid."
    assert not any(leak in (err.details() or "") for leak in LEAKS)
    assert list(field_violations(err)) == [""]  # the whole message, reason request.undecodable
    (line,) = _rpc_lines(logs, method)
    assert line["status"] == "INVALID_ARGUMENT"
    assert line["client_ip"] == "127.0.0.1" and len(line["request_id"]) == 32
    # public methods skip authentication; the protected stream authenticated before validation
    assert line["principal"] == ("apikey:env:test-service" if method == STREAM_MESSAGE else None)


async def test_undecodable_bodies_count_against_the_rate_limit(servers: Servers) -> None:
    async with servers.running(RATE_LIMITS=rate_limits("100000/minute", Login="3/minute")) as server:
        for _ in range(3):
            assert (await _call_raw(server.port, LOGIN, TRUNCATED)).code() == grpc.StatusCode.INVALID_ARGUMENT
        assert (await _call_raw(server.port, LOGIN, TRUNCATED)).code() == grpc.StatusCode.RESOURCE_EXHAUSTED
