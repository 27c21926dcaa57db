"""An undecodable request body through the real Envoy (gRPC-web, as a browser sends it): grpc-status 3
with the usual message, nothing of the decoder, for a unary and a server-streaming method."""

from __future__ import annotations

from urllib.parse import unquote

import httpx
import pytest

from tests.support import grpcweb
from tests.support.auth import SERVICE_KEY

LOGIN = "/wuffchat.auth.v1.AuthService/Login"
STREAM_MESSAGE = "/wuffchat.conversation.v1.ConversationService/StreamMessage"
INVALID_UTF8 = b"\x0a\x02\xff\xfe"  # field 1, a string in both requests, holding 0xff 0xfe
LEAKS = ("DecodeError", "Error parsing", "wuffchat.", "Request", "protobuf", "Unexpected")


@pytest.mark.parametrize("method", [LOGIN, STREAM_MESSAGE], ids=["unary", "server_stream"])
@pytest.mark.parametrize("text", [False, True], ids=["binary", "text"])
async def test_undecodable_body_is_invalid_argument(web: httpx.AsyncClient, method: str, text: bool) -> None:
    headers = {"accept-language": "en", "x-api-key": SERVICE_KEY}
    reply = await grpcweb.unary(web, method, INVALID_UTF8, text=text, headers=headers)  # reads a stream whole too
    assert reply.http_status == 200
    assert reply.messages == []
    assert reply.grpc_status == 3  # INVALID_ARGUMENT
    message = unquote(reply.grpc_message)
    assert message == "The request is invalid."
    assert not any(leak in message for leak in LEAKS)
