"""The receive deadline (interceptors/receive_deadline.py) on a real port: a unary call whose request
never comes ends DEADLINE_EXCEEDED, at most `max_waiting` calls wait at once, all four kinds still work."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import grpc
import pytest

from interceptors.context import ContextInterceptor
from interceptors.receive_deadline import MALFORMED, NOT_RECEIVED, TOO_MANY_WAITING, ReceiveDeadline
from rpc import errors
from tests.support.echo import echo_server


async def _never() -> AsyncIterator[bytes]:
    """A request stream that sends nothing and never ends: a unary call's message that never comes."""
    await asyncio.Event().wait()
    yield b""  # pragma: no cover


async def _nothing() -> AsyncIterator[bytes]:
    return
    yield b""  # pragma: no cover


async def _items(*items: bytes) -> AsyncIterator[bytes]:
    for item in items:
        yield item


async def test_unary_request_never_sent_ends_deadline_exceeded() -> None:
    async with echo_server([ReceiveDeadline(0.3), ContextInterceptor()]) as channel:
        # a stream-unary client on a unary method: HEADERS go out, the message never does
        call = channel.stream_unary("/test.Echo/Unary")(_never())
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await asyncio.wait_for(call, 5)
    assert err.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    assert err.value.details() == errors.message(NOT_RECEIVED)


async def test_stream_response_request_never_sent_ends_deadline_exceeded() -> None:
    async with echo_server([ReceiveDeadline(0.3), ContextInterceptor()]) as channel:
        call = channel.stream_stream("/test.Echo/ServerStream")(_never())
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await asyncio.wait_for(call.read(), 5)
    assert err.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED


async def test_unary_request_missing_is_invalid_argument() -> None:
    async with echo_server([ReceiveDeadline(5)]) as channel:
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await channel.stream_unary("/test.Echo/Unary")(_nothing())
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert err.value.details() == errors.message(MALFORMED)


async def test_unary_calls_past_max_waiting_are_refused_until_one_ends() -> None:
    deadline = ReceiveDeadline(30, max_waiting=2)
    async with echo_server([deadline, ContextInterceptor()]) as channel:
        hanging = [channel.stream_unary("/test.Echo/Unary")(_never()) for _ in range(2)]
        while deadline.waiting < 2:
            await asyncio.sleep(0.01)
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await channel.stream_unary("/test.Echo/Unary")(_never())
        assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert err.value.details() == errors.message(TOO_MANY_WAITING)
        for call in hanging:
            call.cancel()
        while deadline.waiting:
            await asyncio.sleep(0.01)
        reply = await channel.unary_unary("/test.Echo/Unary")(b"hi", timeout=5)
        assert reply.startswith(b"hi|")


async def test_all_four_kinds_still_work() -> None:
    async with echo_server([ReceiveDeadline(5), ContextInterceptor()]) as channel:
        assert (await channel.unary_unary("/test.Echo/Unary")(b"hi")).startswith(b"hi|")
        assert [m async for m in channel.unary_stream("/test.Echo/ServerStream")(b"2")] == [b"0", b"1"]
        written = [m async for m in channel.unary_stream("/test.Echo/ServerStreamWrites")(b"")]
        assert written == [b"w0", b"w1", b"w2"]
        assert await channel.stream_unary("/test.Echo/ClientStream")(_items(b"a", b"b")) == b"a+b"
        assert [m async for m in channel.stream_stream("/test.Echo/Bidi")(_items(b"x", b"y"))] == [b"X", b"Y"]


async def test_unary_second_request_message_is_invalid_argument() -> None:
    async with echo_server([ReceiveDeadline(5), ContextInterceptor()]) as channel:
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await channel.stream_unary("/test.Echo/Unary")(_items(b"a", b"b"))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert err.value.details() == errors.message(MALFORMED)


async def test_unary_calls_on_one_busy_connection_are_never_refused() -> None:
    """Thousands of quick calls, 50 at a time, on one connection limited to 100 streams: each finished
    call's stream is released at once (a request iterator left suspended would hold it)."""
    chain = [ReceiveDeadline(5), ContextInterceptor()]
    async with echo_server(chain, server_options=[("grpc.max_concurrent_streams", 100)]) as channel:
        unary = channel.unary_unary("/test.Echo/Unary")

        async def calls(count: int) -> None:
            for _ in range(count):
                await unary(b"x", timeout=10)

        await asyncio.gather(*(calls(60) for _ in range(50)))
