"""The wrapping mechanism keeps all four RPC kinds, context.write streams and mid-stream errors intact."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest

from interceptors.base import Context, Interceptor, RpcInfo, StreamProceed, UnaryProceed
from interceptors.context import ContextInterceptor
from tests.support.echo import echo_server


class Recorder(Interceptor):
    """Counts what passes and tags responses, proving the hooks really run."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.seen: list[tuple[str, bool, bool]] = []

    async def unary(self, info: RpcInfo, request: Any, context: Context, proceed: UnaryProceed) -> Any:
        self.seen.append((info.method, info.client_streaming, info.server_streaming))
        return b"<" + await proceed(request, context) + b">"

    async def stream(self, info: RpcInfo, request: Any, context: Context, proceed: StreamProceed) -> AsyncIterator[Any]:
        self.seen.append((info.method, info.client_streaming, info.server_streaming))
        async for response in proceed(request, context):
            yield b"<" + response + b">"


async def _requests(*items: bytes) -> AsyncIterator[bytes]:
    for item in items:
        yield item


async def test_all_four_kinds_pass_through_the_hooks() -> None:
    recorder = Recorder()
    async with echo_server([ContextInterceptor(), recorder]) as channel:
        unary = await channel.unary_unary("/test.Echo/Unary")(b"hi")
        assert unary.startswith(b"<hi|127.0.0.1|de|")
        assert [r async for r in channel.unary_stream("/test.Echo/ServerStream")(b"3")] == [b"<0>", b"<1>", b"<2>"]
        assert await channel.stream_unary("/test.Echo/ClientStream")(_requests(b"a", b"b")) == b"<a+b>"
        assert [r async for r in channel.stream_stream("/test.Echo/Bidi")(_requests(b"x", b"y"))] == [b"<X>", b"<Y>"]
    assert [kinds for _, *kinds in recorder.seen] == [[False, False], [False, True], [True, False], [True, True]]


async def test_stream_handler_using_context_write() -> None:
    async with echo_server([ContextInterceptor(), Recorder()]) as channel:
        responses = [r async for r in channel.unary_stream("/test.Echo/ServerStreamWrites")(b"")]
    assert responses == [b"w0", b"w1", b"w2"]  # written directly, not through the hook


async def test_stream_error_after_three_messages_arrives_after_them() -> None:
    async with echo_server([ContextInterceptor(), Recorder()]) as channel:
        call = channel.unary_stream("/test.Echo/ServerStream")(b"3!")
        received = []
        with pytest.raises(grpc.aio.AioRpcError):
            async for response in call:
                received.append(response)
    assert received == [b"<0>", b"<1>", b"<2>"]


async def test_applies_predicate_skips_methods() -> None:
    recorder = Recorder(applies=lambda method: method.endswith("/Bidi"))
    async with echo_server([ContextInterceptor(), recorder]) as channel:
        assert (await channel.unary_unary("/test.Echo/Unary")(b"hi")).startswith(b"hi|")
    assert recorder.seen == []
