"""Steps served as separate grpc.aio interceptors keep their order, selectors and all four RPC kinds."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest

from interceptors.base import Context, Interceptor, RpcInfo
from interceptors.context import ContextInterceptor
from rpc import call, errors
from tests.interceptors.test_base import Recorder
from tests.support.echo import echo_server


class Marker(Interceptor):
    """A step that appends its name to a trailer, or refuses requests ending in "deny"."""

    def __init__(self, name: str, log: list[str], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.name = name
        self.log = log

    async def before(self, info: RpcInfo, request: Any, context: Context) -> None:
        self.log.append(self.name)
        if isinstance(request, bytes) and request.endswith(b"deny"):
            await errors.abort(context, grpc.StatusCode.PERMISSION_DENIED, "permission_denied")
        call.add_trailing_metadata(context, (("x-order", ",".join(self.log)),))


async def _requests(*items: bytes) -> AsyncIterator[bytes]:
    for item in items:
        yield item


async def test_all_four_kinds_in_order_through_the_steps() -> None:
    log: list[str] = []
    outer, inner = Recorder(), Recorder()
    chain = [ContextInterceptor(), Marker("a", log), outer, Marker("b", log), Marker("c", log), inner]
    async with echo_server(chain) as channel:
        unary = channel.unary_unary("/test.Echo/Unary")(b"hi")
        assert (await unary).startswith(b"<<hi|127.0.0.1|de|")  # both wrapping steps, outer around inner
        assert (await unary.trailing_metadata())["x-order"] == "a,b,c"
        assert [r async for r in channel.unary_stream("/test.Echo/ServerStream")(b"2")] == [b"<<0>>", b"<<1>>"]
        assert await channel.stream_unary("/test.Echo/ClientStream")(_requests(b"a", b"b")) == b"<<a+b>>"
        assert [r async for r in channel.stream_stream("/test.Echo/Bidi")(_requests(b"x"))] == [b"<<X>>"]
        writes = [r async for r in channel.unary_stream("/test.Echo/ServerStreamWrites")(b"")]
    assert writes == [b"w0", b"w1", b"w2"]
    assert log == ["a", "b", "c"] * 5


async def test_refusal_before_the_call_stops_later_steps_and_the_handler() -> None:
    log: list[str] = []
    inner = Recorder()
    async with echo_server([ContextInterceptor(), Marker("a", log), Marker("b", log), inner]) as channel:
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await channel.unary_unary("/test.Echo/Unary")(b"deny")
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert log == ["a"] and inner.seen == []


async def test_stream_error_after_three_messages_arrives_after_them() -> None:
    async with echo_server([ContextInterceptor(), Marker("a", []), Recorder()]) as channel:
        received = []
        with pytest.raises(grpc.aio.AioRpcError):
            async for response in channel.unary_stream("/test.Echo/ServerStream")(b"3!"):
                received.append(response)
    assert received == [b"<0>", b"<1>", b"<2>"]


async def test_applies_selects_steps_per_method() -> None:
    log: list[str] = []
    skipped = Recorder(applies=lambda method: method.endswith("/Bidi"))
    chain = [ContextInterceptor(), Marker("bidi-only", log, applies=lambda m: m.endswith("/Bidi")), skipped]
    async with echo_server(chain) as channel:
        assert (await channel.unary_unary("/test.Echo/Unary")(b"hi")).startswith(b"hi|")
    assert log == [] and skipped.seen == []


class MethodMarker(Interceptor):
    """Logs the method of every call it sees before it; refuses requests ending in "deny"."""

    def __init__(self, log: list[str]) -> None:
        super().__init__()
        self.log = log

    async def before(self, info: RpcInfo, request: Any, context: Context) -> None:
        self.log.append(info.method)
        if isinstance(request, bytes) and request.endswith(b"deny"):
            await errors.abort(context, grpc.StatusCode.PERMISSION_DENIED, "permission_denied")


async def test_before_hook_passes_and_refuses_unary_and_stream() -> None:
    log: list[str] = []
    inner = Recorder()
    steps = [ContextInterceptor(), MethodMarker(log), inner]
    async with echo_server(steps) as channel:
        assert (await channel.unary_unary("/test.Echo/Unary")(b"hi")).startswith(b"<hi|")
        assert [r async for r in channel.unary_stream("/test.Echo/ServerStream")(b"1")] == [b"<0>"]
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await channel.unary_unary("/test.Echo/Unary")(b"deny")
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert log == ["/test.Echo/Unary", "/test.Echo/ServerStream", "/test.Echo/Unary"]
    assert [method for method, _, _ in inner.seen] == ["/test.Echo/Unary", "/test.Echo/ServerStream"]  # not the refused
