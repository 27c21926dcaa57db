"""The authentication interceptor in the real chain: all four RPC kinds, public allow-list, health Watch."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from wuffchat.auth.v1 import auth_service_pb2 as auth_pb
from wuffchat.auth.v1 import auth_service_pb2_grpc
from wuffchat.conversation.v1 import conversation_service_pb2 as conv_pb
from wuffchat.conversation.v1 import conversation_service_pb2_grpc

from tests.support import echo
from tests.support.auth import api_key, bearer, signed_up
from tests.support.servers import Servers


async def _requests(*items: bytes) -> AsyncIterator[bytes]:
    for item in items:
        yield item


async def _all_kinds(channel: grpc.aio.Channel, metadata: tuple[tuple[str, str], ...]) -> list[object]:
    return [
        await channel.unary_unary("/test.Echo/Unary")(b"hi", metadata=metadata),
        [r async for r in channel.unary_stream("/test.Echo/ServerStream")(b"2", metadata=metadata)],
        [r async for r in channel.unary_stream("/test.Echo/ServerStreamWrites")(b"", metadata=metadata)],
        await channel.stream_unary("/test.Echo/ClientStream")(_requests(b"a", b"b"), metadata=metadata),
        [r async for r in channel.stream_stream("/test.Echo/Bidi")(_requests(b"x"), metadata=metadata)],
    ]


async def test_all_kinds_pass_with_credentials(servers: Servers) -> None:
    async with servers.serving(extra_handlers=[echo.handler()]) as (_, channel):
        tokens = await signed_up(channel, "kinds@example.org")
        for metadata in (api_key(), bearer(tokens.access_token)):
            unary, stream, writes, client_stream, bidi = await _all_kinds(channel, metadata)
            assert isinstance(unary, bytes) and unary.startswith(b"hi|127.0.0.1|")
            assert (stream, writes, client_stream, bidi) == ([b"0", b"1"], [b"w0", b"w1", b"w2"], b"a+b", [b"X"])


@pytest.mark.parametrize("method", ["Unary", "ServerStream", "ServerStreamWrites", "ClientStream", "Bidi"])
async def test_each_kind_refused_without_credentials(servers: Servers, method: str) -> None:
    async with servers.serving(extra_handlers=[echo.handler()]) as (_, channel):
        path = f"/test.Echo/{method}"
        with pytest.raises(grpc.aio.AioRpcError) as err:
            if method == "Unary":
                await channel.unary_unary(path)(b"x")
            elif method.startswith("ServerStream"):
                [r async for r in channel.unary_stream(path)(b"2")]
            elif method == "ClientStream":
                await channel.stream_unary(path)(_requests(b"a"))
            else:
                [r async for r in channel.stream_stream(path)(_requests(b"a"))]
        assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
        assert err.value.details() == "Bitte melde dich an."


async def test_stream_health_watch_and_public_methods_need_nothing(channel: grpc.aio.Channel) -> None:
    watch = health_pb2_grpc.HealthStub(channel).Watch(health_pb2.HealthCheckRequest())
    assert (await watch.read()).status == health_pb2.HealthCheckResponse.SERVING
    watch.cancel()
    captcha = await auth_service_pb2_grpc.AuthServiceStub(channel).GetCaptcha(auth_pb.GetCaptchaRequest())
    assert captcha.algorithm == "SHA-256"


async def test_unary_other_services_need_credentials(channel: grpc.aio.Channel) -> None:
    stub = conversation_service_pb2_grpc.ConversationServiceStub(channel)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.StartConversation(conv_pb.StartConversationRequest())
    assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
    reply = await stub.StartConversation(conv_pb.StartConversationRequest(), metadata=api_key())
    assert reply.conversation_id
